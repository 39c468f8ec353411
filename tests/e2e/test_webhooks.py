"""Webhooks through the whole local stack, to a real receiver on 127.0.0.1: submit → queue →
dispatch → the state machine's Retry and Catch → the record. The stack is started as
``WEBHOOK_ALLOWED_HOSTS=127.0.0.1 make local`` starts it (the variable from its environment).
Every test sends traffic to 127.0.0.1 only; refused targets are never contacted."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
import standardwebhooks

from local.options import generate_secret
from tests.e2e.conftest import NAMES, RunningStack, running_local_stack
from tests.e2e.documented import python_block
from tests.fixtures.receiver import Receiver, running_receiver

SECRET = generate_secret()
"""WEBHOOK_SIGNING_SECRET, as ``make local`` reads it from its environment."""


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def webhook_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    yield from running_local_stack(
        tmp_path_factory,
        "webhook-stack",
        "--time-scale",
        "0.01",
        "--failure-seed",
        "webhooks",
        environment={"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "WEBHOOK_SIGNING_SECRET": SECRET},
    )


def _call(stack: RunningStack, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    status, _, answer = stack.request(method, path, body)
    return status, answer


def _submit(stack: RunningStack, url: str, **fields: Any) -> str:
    status, body = _call(stack, "POST", "/tasks", {"type": "webhook", "url": url, **fields})
    assert status == 202, body
    return str(body["taskId"])


def _finished(stack: RunningStack, task_id: str, within: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        _, record = _call(stack, "GET", f"/tasks/{task_id}")
        if record["status"] in {"SUCCEEDED", "FAILED"}:
            return dict(record)
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} did not finish: {record}")


def test_delivered_the_first_time_with_the_body_and_the_idempotency_key(
    webhook_stack: RunningStack, receiver: Receiver
) -> None:
    url = receiver.answer("/first", (200, b'{"accepted": 1}', {}, 0.0))

    task_id = _submit(
        webhook_stack,
        url,
        body={"event": "order.paid", "id": 7},
        headers={"X-Source": "ptm", "Authorization": "Bearer s3cret-token"},
    )
    record = _finished(webhook_stack, task_id)

    assert record["status"] == "SUCCEEDED", record
    assert record["attempts"] == 1
    assert record["result"]["statusCode"] == 200
    assert "responseBody" not in record["result"], "127.0.0.1 is reached through the allow-list"
    assert "content-type" in record["result"]["responseHeaderNames"]
    assert record["result"]["latencyMs"] >= 0
    (request,) = receiver.to("/first")
    assert request.json() == {"event": "order.paid", "id": 7}
    assert request.headers["Idempotency-Key"] == task_id
    assert request.headers["X-Source"] == "ptm"
    assert request.headers["Authorization"] == "Bearer s3cret-token", "the receiver gets it as given"
    assert record["payload"]["headers"] == {"X-Source": "[redacted]", "Authorization": "[redacted]"}
    verified = standardwebhooks.Webhook(SECRET).verify(request.body, request.headers)
    assert verified == {"event": "order.paid", "id": 7}
    assert request.headers["webhook-id"] == task_id
    readme_block = python_block("README.md", "from standardwebhooks import Webhook")
    namespace: dict[str, Any] = {"secret": SECRET, "request": request}
    exec(readme_block, namespace)
    assert namespace["event"] == {"event": "order.paid", "id": 7}


NUMBERS = [
    b"1E2",
    b"0.1234567890123456789012",
    b'{"tiny": 1e-400, "huge": 1e400}',
    b"[-0.0, 10.50, 5E-7, 123456789012345678901234567890]",
]


def test_the_receiver_gets_every_number_with_every_digit_and_one_user_agent(
    webhook_stack: RunningStack, receiver: Receiver
) -> None:
    """Submitted concurrently as JSON text; what arrives equals what was sent, as decimals. The
    caller's lower-case user-agent goes on the wire alone, not beside ours."""
    url = receiver.answer("/numbers", 200)

    def submit(body: bytes) -> str:
        text = b'{"type": "webhook", "url": "%s", "headers": {"user-agent": "theirs/1"}, "body": %s}' % (
            url.encode(),
            body,
        )
        request = urllib.request.Request(f"{webhook_stack.api}/tasks", data=text, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(json.loads(response.read())["taskId"])

    with ThreadPoolExecutor(len(NUMBERS)) as pool:
        task_ids = list(pool.map(submit, NUMBERS))
    for task_id in task_ids:
        assert _finished(webhook_stack, task_id)["status"] == "SUCCEEDED"

    received = {request.headers["Idempotency-Key"]: request for request in receiver.to("/numbers")}
    for task_id, body in zip(task_ids, NUMBERS, strict=True):
        assert received[task_id].json(exact=True) == json.loads(body, parse_float=Decimal)
        assert received[task_id].lines_named("User-Agent") == ["theirs/1"]


def test_every_attempt_is_signed_with_the_stage_secret(
    webhook_stack: RunningStack, receiver: Receiver
) -> None:
    url = receiver.answer("/signed-retries", 503, 200)
    record = _finished(webhook_stack, _submit(webhook_stack, url, body=[1, "two", None]))
    assert record["status"] == "SUCCEEDED", record
    verifier = standardwebhooks.Webhook(SECRET)
    deliveries = receiver.to("/signed-retries")
    assert len(deliveries) == 2
    for request in deliveries:
        assert verifier.verify(request.body, request.headers) == [1, "two", None]
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        verifier.verify(deliveries[0].body + b" ", deliveries[0].headers)


def test_503_twice_then_200_succeeds_after_three_attempts(
    webhook_stack: RunningStack, receiver: Receiver
) -> None:
    url = receiver.answer("/flaky", 503, 503, 200)

    record = _finished(webhook_stack, _submit(webhook_stack, url, body={"n": 1}))

    assert record["status"] == "SUCCEEDED", record
    assert record["attempts"] == 3
    assert [request.headers["Idempotency-Key"] for request in receiver.to("/flaky")] == [record["taskId"]] * 3


def test_400_fails_without_a_retry(webhook_stack: RunningStack, receiver: Receiver) -> None:
    url = receiver.answer("/refuses", 400)

    record = _finished(webhook_stack, _submit(webhook_stack, url))

    assert record["status"] == "FAILED", record
    assert record["attempts"] == 1
    assert "PermanentTaskError" in record["error"]
    assert "answered 400" in record["cause"]
    assert len(receiver.to("/refuses")) == 1


def test_a_timeout_is_retried(webhook_stack: RunningStack, receiver: Receiver) -> None:
    url = receiver.answer("/slow", (200, b"{}", {}, 2.0), 200)

    record = _finished(webhook_stack, _submit(webhook_stack, url, timeoutSeconds=0.5))

    assert record["status"] == "SUCCEEDED", record
    assert record["attempts"] == 2
    assert len(receiver.to("/slow")) == 2


def test_a_redirect_is_not_followed(webhook_stack: RunningStack, receiver: Receiver) -> None:
    landing = receiver.answer("/landing", 200)
    url = receiver.answer("/moved", (302, b"", {"Location": landing}, 0.0))

    record = _finished(webhook_stack, _submit(webhook_stack, url))

    assert record["status"] == "FAILED", record
    assert "redirect, not followed" in record["cause"]
    assert receiver.to("/landing") == []


@pytest.mark.parametrize(
    "target",
    [
        "https://localhost:{port}/ssrf",
        "http://localhost:{port}/ssrf",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/latest/meta-data/",
        "https://[::ffff:127.0.0.1]:{port}/ssrf",
        "https://2130706433:{port}/ssrf",
        "file:///etc/passwd",
    ],
)
def test_refused_targets_are_400_stored_nowhere_and_never_contacted(
    webhook_stack: RunningStack, receiver: Receiver, target: str
) -> None:
    status, body = _call(
        webhook_stack,
        "POST",
        "/tasks",
        {"type": "webhook", "url": target.format(port=receiver.port), "body": {}},
    )

    assert status == 400, body
    assert set(body["error"]["fields"]) == {"url"}
    assert receiver.to("/ssrf") == []
    webhook_tasks = [
        item
        for item in webhook_stack.clients().dynamodb.scan(TableName=NAMES.table)["Items"]
        if "ssrf" in json.dumps(item) or "169.254" in json.dumps(item)
    ]
    assert webhook_tasks == []


def test_the_task_types_are_listed(webhook_stack: RunningStack) -> None:
    status, body = _call(webhook_stack, "GET", "/task-types")
    assert status == 200
    # The built-in types, then the local stage's registered one (examples/local_types.json).
    assert [entry["name"] for entry in body["items"]] == ["simulated", "webhook", "word-count"]


def test_ptm_types_lists_the_types_and_prints_a_schema(webhook_stack: RunningStack) -> None:
    from typer.testing import CliRunner

    from ptm.main import app

    runner = CliRunner()
    listed = runner.invoke(app, ["--endpoint", webhook_stack.api, "types"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "simulated (default)" in listed.output
    assert "webhook" in listed.output
    assert "word-count" in listed.output
    assert "url" in listed.output
    schema = runner.invoke(app, ["--endpoint", webhook_stack.api, "types", "--schema", "webhook"])
    assert schema.exit_code == 0, schema.output
    assert json.loads(schema.output)["required"] == ["type", "url"]
    unknown = runner.invoke(app, ["--endpoint", webhook_stack.api, "types", "--schema", "email"])
    assert unknown.exit_code == 2
    assert "simulated, webhook" in unknown.output
