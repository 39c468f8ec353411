"""List, cancel and redrive: every success and error code, against moto's DynamoDB and SQS."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from functions.common.models import TaskStatus
from functions.common.status_shards import shard_of
from functions.usecases.operations import MAX_TOKEN_CHARS, encode_token
from infra.names import Function
from tests.fixtures.stack import ApiResponse, Stack


def _assert_error(response: ApiResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, response.body
    assert response.body["error"]["code"] == code
    assert response.body["error"]["message"]
    error: dict[str, Any] = response.body["error"]
    return error


def _messages(stack: Stack) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in stack.queue_messages(stack.resources.tasks_queue_url)]


def _fail(stack: Stack, payload: dict[str, Any]) -> str:
    """Given a task that ran and ended FAILED (permanent error), dead-lettered by the monitor."""
    task_id = stack.submit(payload)
    stack.wait_for_execution(stack.start_execution(task_id, f"fail-{task_id}"))
    stack.event_source(Function.MONITOR).drain()
    stack.clients.sqs.purge_queue(QueueUrl=stack.resources.tasks_queue_url)
    assert stack.task(task_id).status is TaskStatus.FAILED
    return task_id


def test_list_returns_newest_first_in_pages_with_an_opaque_token(stack: Stack) -> None:
    ids = [stack.submit({"n": index}) for index in range(5)]

    first = stack.api("GET", "/tasks?status=QUEUED&limit=2")
    second = stack.api("GET", f"/tasks?status=QUEUED&limit=2&nextToken={first.body['nextToken']}")
    third = stack.api("GET", f"/tasks?status=QUEUED&limit=2&nextToken={second.body['nextToken']}")

    listed = [item["taskId"] for page in (first, second, third) for item in page.body["items"]]
    assert listed == list(reversed(ids))
    assert (
        "nextToken" not in third.body
        or stack.api("GET", f"/tasks?status=QUEUED&limit=2&nextToken={third.body['nextToken']}").body["items"]
        == []
    )
    item = first.body["items"][0]
    assert {"taskId", "status", "createdAt", "updatedAt", "attempts"} <= item.keys()
    assert "payload" not in item


def test_pages_merge_every_index_shard_without_gaps_or_repeats(stack: Stack) -> None:
    ids = [stack.submit({"n": index}) for index in range(40)]
    tasks = [stack.task(task_id) for task_id in ids]
    assert len({shard_of(task_id) for task_id in ids}) >= 8, "the tasks spread over the index shards"

    listed: list[str] = []
    token: str | None = None
    for _ in range(10):
        page = stack.api("GET", "/tasks?status=QUEUED&limit=7" + (f"&nextToken={token}" if token else ""))
        assert page.status == 200, page.body
        assert len(page.body["items"]) <= 7
        listed += [item["taskId"] for item in page.body["items"]]
        token = page.body.get("nextToken")
        if token is None:
            break

    newest_first = sorted(tasks, key=lambda task: (task.created_at, task.task_id), reverse=True)
    assert listed == [task.task_id for task in newest_first]


def test_list_is_per_status(stack: Stack) -> None:
    queued = stack.submit({"n": 1})
    failed = _fail(stack, {"simulate": {"permanent": True}})

    assert [i["taskId"] for i in stack.api("GET", "/tasks?status=FAILED").body["items"]] == [failed]
    assert [i["taskId"] for i in stack.api("GET", "/tasks?status=QUEUED").body["items"]] == [queued]
    assert stack.api("GET", "/tasks?status=CANCELLED").body == {"items": []}


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?status=DONE",
        "?status=queued",
        "?status=QUEUED&limit=0",
        "?status=QUEUED&limit=101",
        "?status=QUEUED&limit=ten",
        "?status=QUEUED&limit=-1",
        "?status=QUEUED&colour=red",
        "?status=QUEUED&limit=%C2%B2",  # a superscript two: a digit to str.isdigit, not to int
        "?status=QUEUED&limit=%D9%A1%D9%A0",  # ten in Arabic-Indic digits
        "?status=QUEUED&limit=" + "1" * 5001,
        "?status=" + "Q" * 5000,
    ],
    ids=lambda query: query[:48],
)
def test_list_with_a_bad_query_is_400(stack: Stack, query: str) -> None:
    _assert_error(stack.api("GET", f"/tasks{query}"), 400, "INVALID_QUERY")


A_TASK_ID = "7b587941-a85a-4703-a6a5-edd8855ce091"


def _forged(body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "not-base64!!",
        "e30",  # {}
        encode_token(TaskStatus.FAILED, {0: ("2026-01-01T00:00:00.000Z", "x")}),  # another listing's
        _forged({"s": "QUEUED"}),
        _forged({"s": "QUEUED", "c": {"16": None}}),  # no such shard
        _forged({"s": "QUEUED", "c": {"0": ["only one part"]}}),
        _forged({"s": "QUEUED", "c": {"0": [1, 2]}}),
        _forged({"s": "QUEUED", "c": []}),
        _forged({"s": "QUEUED", "c": {"\u00b2": None}}),  # a superscript two as the shard
        _forged({"s": "QUEUED", "c": {"1" * 5000: None}}),
        base64.urlsafe_b64encode(b"[" * 2000).decode(),  # deeper than the parser follows
        "A" * (MAX_TOKEN_CHARS + 1),
        # Well formed, but longer than any token the API issues (white space in its JSON).
        base64.urlsafe_b64encode(b'{"s": "QUEUED", "c": {}}' + b" " * MAX_TOKEN_CHARS).decode(),
        _forged({"s": "QUEUED", "c": {"0": ["x" * 5000, A_TASK_ID]}}),
        _forged({"s": "QUEUED", "c": {"0": ["2026-01-01T00:00:00.000Z", "not-a-task-id"]}}),
        _forged({"s": "QUEUED", "c": {"0": ["\u0662026-01-01T00:00:00.000Z", A_TASK_ID]}}),
    ],
    ids=lambda token: token[:48],
)
def test_list_with_a_forged_token_is_400(stack: Stack, token: str) -> None:
    _assert_error(stack.api("GET", f"/tasks?status=QUEUED&nextToken={token}"), 400, "INVALID_NEXT_TOKEN")


def test_cancel_a_queued_task(stack: Stack) -> None:
    task_id = stack.submit({"n": 1})

    response = stack.api("DELETE", f"/tasks/{task_id}")

    assert response.status == 200
    assert response.body["status"] == "CANCELLED"
    assert stack.task(task_id).status is TaskStatus.CANCELLED


def test_a_cancelled_task_is_neither_dispatched_nor_processed(stack: Stack) -> None:
    task_id = stack.submit({"n": 1})
    stack.api("DELETE", f"/tasks/{task_id}")

    [poll] = stack.event_source(Function.DISPATCH).drain()
    late = stack.wait_for_execution(stack.start_execution(task_id, "started-anyway"))

    assert poll.deleted == 1
    assert [e["name"] for e in stack.executions()] == ["started-anyway"]
    assert '"outcome": "SKIPPED"' in late["output"]
    assert stack.task(task_id).status is TaskStatus.CANCELLED
    assert stack.task(task_id).attempts == 0
    assert stack.completed_work == []


@pytest.mark.parametrize("finished", ["SUCCEEDED", "FAILED", "CANCELLED"])
def test_cancel_anything_but_queued_is_409_with_the_current_status(stack: Stack, finished: str) -> None:
    task_id = stack.submit({"simulate": {"permanent": True}} if finished == "FAILED" else {"n": 1})
    if finished == "CANCELLED":
        stack.api("DELETE", f"/tasks/{task_id}")
    else:
        stack.wait_for_execution(stack.start_execution(task_id, "run"))
    before = stack.task(task_id)

    error = _assert_error(stack.api("DELETE", f"/tasks/{task_id}"), 409, "TASK_NOT_CANCELLABLE")

    assert error["currentStatus"] == finished
    assert stack.task(task_id) == before


def test_cancel_a_running_task_is_409(stack: Stack) -> None:
    task_id = stack.submit({"n": 1})
    seen: dict[str, Any] = {}

    def cancel_while_running(task: Any) -> dict[str, Any]:
        seen["response"] = stack.api("DELETE", f"/tasks/{task.task_id}")
        return {}

    stack.set_work(cancel_while_running)
    stack.wait_for_execution(stack.start_execution(task_id, "run"))

    error = _assert_error(seen["response"], 409, "TASK_NOT_CANCELLABLE")
    assert error["currentStatus"] == "RUNNING"
    assert stack.task(task_id).status is TaskStatus.SUCCEEDED


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/tasks/{}"), ("POST", "/tasks/{}/redrive")])
def test_cancel_or_redrive_an_unknown_task_is_404(stack: Stack, method: str, path: str) -> None:
    _assert_error(stack.api(method, path.format("no-such-task")), 404, "TASK_NOT_FOUND")


def test_redrive_a_failed_task_requeues_it_for_a_new_run(stack: Stack) -> None:
    task_id = _fail(stack, {"simulate": {"failures": 3}})
    failed = stack.task(task_id)
    assert failed.dead_lettered_at is not None

    response = stack.api("POST", f"/tasks/{task_id}/redrive")

    assert response.status == 202
    assert response.body == {"taskId": task_id, "status": "QUEUED", "runs": 2}
    assert response.headers["location"] == f"/tasks/{task_id}"
    task = stack.task(task_id)
    assert (task.status, task.runs, task.attempts) == (TaskStatus.QUEUED, 2, failed.attempts)
    assert (task.error, task.cause, task.dead_lettered_at, task.last_error) == (None, None, None, None)
    assert _messages(stack) == [{"taskId": task_id, "run": 2}]


@pytest.mark.parametrize("state", ["QUEUED", "SUCCEEDED", "CANCELLED"])
def test_redrive_anything_but_failed_is_409(stack: Stack, state: str) -> None:
    task_id = stack.submit({"n": 1})
    if state == "SUCCEEDED":
        stack.wait_for_execution(stack.start_execution(task_id, "run"))
    elif state == "CANCELLED":
        stack.api("DELETE", f"/tasks/{task_id}")
    stack.clients.sqs.purge_queue(QueueUrl=stack.resources.tasks_queue_url)

    error = _assert_error(stack.api("POST", f"/tasks/{task_id}/redrive"), 409, "TASK_NOT_REDRIVABLE")

    assert error["currentStatus"] == state
    assert _messages(stack) == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/tasks", {"a": 1}),
        ("GET", "/tasks/some-task", None),
        ("GET", "/tasks?status=QUEUED", None),
        ("DELETE", "/tasks/some-task", None),
        ("POST", "/tasks/some-task/redrive", None),
    ],
)
def test_an_unreachable_task_store_is_a_retryable_503(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, method: str, path: str, body: dict[str, Any] | None
) -> None:
    """Given DynamoDB cannot be reached (a real connection refused, after the SDK's retries)."""
    import boto3
    from botocore.config import Config

    from functions.common.tasks_table import TasksTable

    unreachable = boto3.session.Session().client(
        "dynamodb",
        endpoint_url="http://127.0.0.1:9",
        config=Config(connect_timeout=0.2, retries={"mode": "standard", "max_attempts": 1}),
    )
    monkeypatch.setattr(
        stack.dependencies(Function.API), "table", TasksTable(unreachable, stack.resources.table)
    )

    response = stack.api(method, path, body)

    _assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert response.headers["retry-after"] == "1"
    assert _messages(stack) == []


@pytest.mark.parametrize(
    ("code", "printed"),
    [
        ("ThrottlingException", "its schedule could not be deleted"),
        ("AccessDeniedException", "DependencyMisconfigured"),
    ],
)
def test_a_cancel_stands_when_its_schedule_cannot_be_deleted(
    stack: Stack,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    code: str,
    printed: str,
) -> None:
    """A busy or forbidden DeleteSchedule does not undo the cancel (the schedule, if it fires,
    finds the task CANCELLED): a busy one is a warning, a forbidden one the loud alarm."""
    from datetime import timedelta

    from botocore.exceptions import ClientError

    from functions.common.clock import iso, utc_now

    def _refused(**_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": "injected"}}, "DeleteSchedule")

    stack.dependencies(Function.API).schedules._client.meta.events.register(
        "before-call.scheduler.DeleteSchedule", _refused
    )
    submitted = stack.api("POST", "/tasks", {"n": 1, "runAt": iso(utc_now() + timedelta(days=2))})
    task_id = submitted.body["taskId"]

    cancelled = stack.api("DELETE", f"/tasks/{task_id}")

    assert cancelled.status == 200, cancelled.body
    assert stack.task(task_id).status is TaskStatus.CANCELLED
    assert printed in capsys.readouterr().out + caplog.text
