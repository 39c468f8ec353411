"""SigV4 signing for a stack deployed with apiAuth=iam, as ptm and the smoke script do it."""

from __future__ import annotations

import pytest
from ptm_client.transport import SigningError, SigV4Signer, TasksApi, tasks_api

from smoke.config import SmokeConfigError, load

ENDPOINT = "https://abc123defg.execute-api.eu-west-1.amazonaws.com"


# AWS's published example secret (the SigV4 test suite), not a real key.
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"  # pragma: allowlist secret


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", EXAMPLE_SECRET)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", f"{tmp_path}/none")
    monkeypatch.setenv("AWS_CONFIG_FILE", f"{tmp_path}/none")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)


@pytest.mark.usefixtures("credentials")
def test_requests_are_signed_for_execute_api_in_the_endpoints_region() -> None:
    signer = SigV4Signer(ENDPOINT)

    headers = signer.headers("POST", f"{ENDPOINT}/tasks", b'{"n":1}', {"Content-Type": "application/json"})

    assert signer.region == "eu-west-1"
    authorization = headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in authorization
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-date", "content-type"} <= set(signed)
    assert headers["X-Amz-Date"]
    other = signer.headers("POST", f"{ENDPOINT}/tasks", b'{"n":2}', {"Content-Type": "application/json"})
    assert other["Authorization"] != authorization, "the body is part of the signature"


@pytest.mark.usefixtures("credentials")
def test_an_explicit_region_wins_for_custom_domains() -> None:
    assert SigV4Signer("https://tasks.example.com", region="ap-south-1").region == "ap-south-1"


@pytest.mark.usefixtures("no_credentials")
def test_iam_without_credentials_is_a_clear_error() -> None:
    with pytest.raises(SigningError, match="no AWS credentials"):
        tasks_api(ENDPOINT, "iam")


@pytest.mark.usefixtures("credentials")
def test_by_default_an_api_gateway_endpoint_is_signed_when_credentials_are_found() -> None:
    """A default deployment is apiAuth=iam: the Node.js version's block works verbatim."""
    assert tasks_api(ENDPOINT, None).signer is not None
    assert tasks_api(f"{ENDPOINT}/tasks", "auto").signer is not None


@pytest.mark.usefixtures("credentials")
def test_by_default_the_local_stack_and_other_hosts_are_not_signed() -> None:
    assert tasks_api("http://127.0.0.1:8000", None).signer is None
    assert tasks_api("https://tasks.example.com", None).signer is None


@pytest.mark.usefixtures("no_credentials")
def test_without_credentials_the_default_sends_unsigned_and_the_api_refuses() -> None:
    api = tasks_api(ENDPOINT, None)
    assert isinstance(api, TasksApi)
    assert api.signer is None


@pytest.mark.usefixtures("credentials")
def test_a_token_is_sent_as_a_bearer_token_for_jwt() -> None:
    api = tasks_api(ENDPOINT, None, token="eyJ.token")
    assert api.signer is None
    assert api.token == "eyJ.token"
    assert tasks_api(ENDPOINT, "jwt", token="t").token == "t"
    with pytest.raises(SigningError, match="TASKS_API_TOKEN"):
        tasks_api(ENDPOINT, "jwt")
    assert tasks_api(ENDPOINT, "none").signer is None


def test_an_unknown_auth_mode_is_refused() -> None:
    with pytest.raises(SigningError, match="expected one of auto, iam, jwt, none"):
        tasks_api(ENDPOINT, "cognito")


def test_smoke_reads_the_auth_mode_and_token_from_the_environment() -> None:
    assert load({"TASKS_ENDPOINT": ENDPOINT, "TASKS_API_AUTH": "IAM"}).api_auth == "iam"
    assert load({"TASKS_ENDPOINT": ENDPOINT}).api_auth == "auto"
    assert load({"TASKS_ENDPOINT": ENDPOINT, "TASKS_API_TOKEN": "tok"}).token == "tok"
    with pytest.raises(SmokeConfigError, match="TASKS_API_AUTH"):
        load({"TASKS_ENDPOINT": ENDPOINT, "TASKS_API_AUTH": "basic"})


@pytest.mark.parametrize(
    "given",
    [
        "https://abc123.execute-api.eu-west-1.amazonaws.com",
        "https://abc123.execute-api.eu-west-1.amazonaws.com/",
        "https://abc123.execute-api.eu-west-1.amazonaws.com/tasks",
        "https://abc123.execute-api.eu-west-1.amazonaws.com/tasks/",
    ],
)
def test_the_endpoint_works_with_or_without_the_node_versions_trailing_tasks(given: str) -> None:
    """The Node.js version's README sets TASKS_ENDPOINT=https://<api>/tasks; the stack output
    is the base URL. Both reach the same routes."""
    assert TasksApi(given).endpoint == "https://abc123.execute-api.eu-west-1.amazonaws.com"
    assert load({"TASKS_ENDPOINT": given}).endpoint == "https://abc123.execute-api.eu-west-1.amazonaws.com"
