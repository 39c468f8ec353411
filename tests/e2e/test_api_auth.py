"""The local stack emulating API Gateway's authorization (``--api-auth iam|jwt``): refusals are
API Gateway's own (401/403 with ``{"message"}``), come before the api function, and store
nothing; signed or token-bearing requests go through. ptm signs or sends the token itself."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from ptm_client import TasksApiError, TasksClient
from ptm_client.transport import SigV4Signer, TasksApi, tasks_api

from infra.names import LOCAL_CREDENTIALS
from tests.e2e.conftest import NAMES, RunningStack, running_local_stack
from tests.e2e.documented import LONG_RUNNING, RUN_HERE, bash, shell_environment

WRONG_SECRET = "not-the-secret"  # pragma: allowlist secret (wrong on purpose)


@pytest.fixture(scope="module")
def iam_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    yield from running_local_stack(
        tmp_path_factory, "auth-iam", "--time-scale", "0.01", "--api-auth", "iam", refused_is_serving=True
    )


@pytest.fixture(scope="module")
def jwt_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    yield from running_local_stack(
        tmp_path_factory, "auth-jwt", "--time-scale", "0.01", "--api-auth", "jwt", refused_is_serving=True
    )


def _stored(stack: RunningStack) -> int:
    return int(stack.clients().dynamodb.scan(TableName=NAMES.table, Select="COUNT")["Count"])


@pytest.fixture
def signing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/tasks"), ("GET", "/tasks?status=QUEUED"), ("GET", "/task-types")]
)
def test_iam_refuses_an_unsigned_request_before_the_function_runs(
    iam_stack: RunningStack, method: str, path: str
) -> None:
    before = _stored(iam_stack)
    status, _, body = iam_stack.request(method, path, {"n": 1} if method == "POST" else None)
    assert (status, body) == (403, {"message": "Forbidden"})
    assert _stored(iam_stack) == before


@pytest.mark.usefixtures("signing_credentials")
def test_iam_refuses_a_wrong_secret_and_a_body_changed_after_signing(
    iam_stack: RunningStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _stored(iam_stack)
    url = f"{iam_stack.api}/tasks"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", WRONG_SECRET)
    wrong = SigV4Signer(iam_stack.api, region="us-east-1")
    headers = wrong.headers("POST", url, b'{"n":1}', {"Content-Type": "application/json"})
    status, _, body = iam_stack.request("POST", "/tasks", {"n": 1}, headers)
    assert status == 403
    assert "signature we calculated does not match" in body["message"]

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    right = SigV4Signer(iam_stack.api, region="us-east-1")
    headers = right.headers("POST", url, b'{"n":1}', {"Content-Type": "application/json"})
    status, _, body = iam_stack.request("POST", "/tasks", {"n": 2}, headers)
    assert status == 403, "the body is part of the signature"
    assert _stored(iam_stack) == before


@pytest.mark.usefixtures("signing_credentials")
def test_iam_lets_a_signed_request_through(iam_stack: RunningStack) -> None:
    api = tasks_api(iam_stack.api, "iam", "us-east-1")
    status, body = api.submit({"signed": True})
    assert status == 202, body
    assert api.get(body["taskId"])[0] == 200
    assert api.task_types()[0] == 200


def _token(stack: RunningStack, scope: str) -> str:
    status, _, body = stack.request("POST", "/local-idp/token", {"scope": scope})
    assert status == 200, body
    assert body["token_type"] == "Bearer"
    return str(body["access_token"])


def test_jwt_refuses_a_missing_or_forged_token_with_401(jwt_stack: RunningStack) -> None:
    before = _stored(jwt_stack)
    status, headers, body = jwt_stack.request("POST", "/tasks", {"n": 1})
    assert (status, body) == (401, {"message": "Unauthorized"})
    assert 'error="invalid_token"' in headers["www-authenticate"]

    other_key = RSAKey.generate_key(2048)
    forged = jwt.encode(
        {"alg": "RS256"},
        {"iss": f"{jwt_stack.api}/local-idp", "aud": "ptm-local", "scope": "tasks/write", "exp": 4102444800},
        other_key,
    )
    for token in (forged, "not-a-jwt"):
        status, _, body = jwt_stack.request("POST", "/tasks", {"n": 1}, {"Authorization": f"Bearer {token}"})
        assert (status, body) == (401, {"message": "Unauthorized"})
    assert _stored(jwt_stack) == before


def test_jwt_requires_the_routes_scope(jwt_stack: RunningStack) -> None:
    before = _stored(jwt_stack)
    reader = {"Authorization": f"Bearer {_token(jwt_stack, 'tasks/read')}"}

    status, headers, body = jwt_stack.request("POST", "/tasks", {"n": 1}, reader)
    assert (status, body) == (403, {"message": "Forbidden"})
    assert 'error="insufficient_scope"' in headers["www-authenticate"]
    assert jwt_stack.request("DELETE", "/tasks/some-id", None, reader)[0] == 403
    assert _stored(jwt_stack) == before
    status, _, body = jwt_stack.request("GET", "/tasks/no-such-task", None, reader)
    assert (status, body["error"]["code"]) == (404, "TASK_NOT_FOUND")


def test_jwt_lets_a_writer_submit_and_ptm_sends_the_token(jwt_stack: RunningStack) -> None:
    token = _token(jwt_stack, "tasks/read tasks/write")
    api: TasksApi = tasks_api(jwt_stack.api, None, token=token)
    status, body = api.submit({"with": "token"})
    assert status == 202, body
    assert api.get(body["taskId"])[0] == 200


def test_ptm_without_a_token_says_what_to_give(jwt_stack: RunningStack) -> None:
    from typer.testing import CliRunner

    from ptm.main import app

    result = CliRunner().invoke(
        app, ["--endpoint", jwt_stack.api, "submit", '{"n": 1}'], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 1
    assert "401 Unauthorized" in result.output
    assert "TASKS_API_TOKEN" in result.output


def test_the_readmes_token_example_runs_against_the_local_identity_provider(jwt_stack: RunningStack) -> None:
    """The README's Amazon Cognito block, its token request sent to the local stack's identity
    provider instead of a user pool's domain: the same client-credentials form with both scopes,
    the same jq, then ptm listing with the token it exported."""
    [export] = [command for command in LONG_RUNNING if command.startswith("export TASKS_API_TOKEN=")]
    [listing] = [command for command in RUN_HERE if command.startswith('ptm --endpoint "$TASKS_ENDPOINT"')]
    token_url = re.findall(r"https://\S+/oauth2/token", export)[0]
    typed = export.replace(token_url, f"{jwt_stack.api}/local-idp/token")

    result = bash(
        f'{typed} && test -n "$TASKS_API_TOKEN" && {listing}',
        shell_environment(TASKS_ENDPOINT=jwt_stack.api, CLIENT_ID="app-client", CLIENT_SECRET="app-secret"),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED tasks" in result.stdout


@pytest.mark.usefixtures("signing_credentials")
def test_the_client_library_submits_reads_lists_cancels_and_redrives_with_iam(
    iam_stack: RunningStack,
) -> None:
    """ptm_client as a service uses it, signing with SigV4 against the stack's IAM emulation."""
    tasks = TasksClient(iam_stack.api, auth="iam", region="us-east-1")
    first = tasks.submit({"orderId": 1}, key="client-order-1")
    assert tasks.submit({"orderId": 1}, key="client-order-1").task_id == first.task_id, "same key, same task"
    failed = tasks.submit({"simulate": {"permanent": True}})
    later = tasks.submit({"orderId": 2}, delay=600)
    assert (first.status, later.status) == ("QUEUED", "SCHEDULED")
    assert tasks.cancel(later.task_id).status == "CANCELLED"
    assert tasks.cancel(later.task_id).status == "CANCELLED", "a 409 for a cancelled task counts as done"
    deadline = time.monotonic() + 60
    while tasks.get(failed.task_id).status != "FAILED":
        assert time.monotonic() < deadline, tasks.get(failed.task_id)
        time.sleep(0.2)
    assert tasks.redrive(failed.task_id).status == "QUEUED"
    listed = {task.task_id for task in tasks.list("CANCELLED", limit=1)}
    assert later.task_id in listed
    with pytest.raises(TasksApiError) as refused:
        TasksClient(iam_stack.api, auth="none").get(first.task_id)
    assert (refused.value.status, refused.value.code) == (403, "FORBIDDEN")
