"""ptm_client's rules, over a transport that answers as scripted: retries send the same request
(the same Idempotency-Key), a 409 that says the asked-for state counts as done, pages are
followed, errors are typed; ``from_stage`` reads what ``make deploy`` saved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ptm_client import ENDPOINT_OUTPUT, EndpointUnreachableError, TasksApiError, TasksClient

from infra.names import Output, StageNames


class Scripted:
    """The transport's calls recorded; each answered with the next scripted answer."""

    def __init__(self, *answers: Any) -> None:
        self.answers: list[Any] = list(answers)
        self.calls: list[tuple[Any, ...]] = []

    def _answer(self, *call: Any) -> tuple[int, Any]:
        self.calls.append(call)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return (int(answer[0]), answer[1])

    def submit(self, payload: dict[str, Any], key: str | None = None) -> tuple[int, Any]:
        return self._answer("submit", payload, key)

    def get(self, task_id: str) -> tuple[int, Any]:
        return self._answer("get", task_id)

    def list(self, status: str, limit: int | None = None, token: str | None = None) -> tuple[int, Any]:
        return self._answer("list", status, limit, token)

    def cancel(self, task_id: str) -> tuple[int, Any]:
        return self._answer("cancel", task_id)

    def redrive(self, task_id: str) -> tuple[int, Any]:
        return self._answer("redrive", task_id)


def _client(*answers: Any, retries: int = 4) -> tuple[TasksClient, Scripted, list[float]]:
    waits: list[float] = []
    client = TasksClient("http://127.0.0.1:9", auth="none", retries=retries, backoff=0.5, sleep=waits.append)
    script = Scripted(*answers)
    client.api = script  # type: ignore[assignment]
    return client, script, waits


RECORD = {"taskId": "t-1", "status": "QUEUED", "attempts": 0}
BUSY = (503, {"error": {"code": "SERVICE_UNAVAILABLE", "message": "busy"}})
THROTTLED = (429, {"message": "Too Many Requests"})


def test_a_submit_without_a_key_gets_one_and_its_retries_send_the_same() -> None:
    client, script, waits = _client(BUSY, THROTTLED, EndpointUnreachableError("reset"), (202, RECORD))
    task = client.submit({"orderId": 1}, delay=30)
    assert (task.task_id, task.status) == ("t-1", "QUEUED")
    keys = {key for _, _, key in script.calls}
    assert len(script.calls) == 4
    assert len(keys) == 1
    assert next(iter(keys))
    assert script.calls[0][1] == {"orderId": 1, "delaySeconds": 30}
    assert [0 <= wait <= 0.5 * 2**n for n, wait in enumerate(waits)] == [True] * 3, "full jitter, doubling"


def test_the_caller_s_key_is_sent_and_retries_stop_at_the_limit() -> None:
    client, script, waits = _client(BUSY, BUSY, BUSY, retries=2)
    with pytest.raises(TasksApiError) as refused:
        client.submit({"orderId": 1}, key="order-1", at="2030-01-01T00:00:00Z")
    assert (refused.value.status, refused.value.code, refused.value.message) == (
        503,
        "SERVICE_UNAVAILABLE",
        "busy",
    )
    assert [key for _, _, key in script.calls] == ["order-1"] * 3
    assert script.calls[0][1]["runAt"] == "2030-01-01T00:00:00Z"
    assert len(waits) == 2


def test_a_refusal_is_not_retried_and_keeps_its_details() -> None:
    body = {"error": {"code": "INVALID_REQUEST", "message": "bad", "fields": {"text": "required"}}}
    client, script, _ = _client((400, body))
    with pytest.raises(TasksApiError) as refused:
        client.submit({"type": "x"})
    assert (refused.value.code, refused.value.details) == (
        "INVALID_REQUEST",
        {"fields": {"text": "required"}},
    )
    assert len(script.calls) == 1


@pytest.mark.parametrize(
    ("method", "current", "done"),
    [
        ("cancel", "CANCELLED", True),
        ("cancel", "RUNNING", False),
        ("redrive", "QUEUED", True),
        ("redrive", "SUCCEEDED", False),
    ],
)
def test_a_409_counts_as_done_when_the_task_is_where_the_call_asked(
    method: str, current: str, done: bool
) -> None:
    conflict = (409, {"error": {"code": "TASK_NOT_CANCELLABLE", "message": "no", "currentStatus": current}})
    client, script, _ = _client(conflict, (200, {**RECORD, "status": current}))
    if done:
        assert getattr(client, method)("t-1").status == current
        assert script.calls[-1] == ("get", "t-1")
    else:
        with pytest.raises(TasksApiError, match="409"):
            getattr(client, method)("t-1")


def test_a_listing_follows_every_page() -> None:
    client, script, _ = _client(
        (200, {"items": [RECORD], "nextToken": "n1"}), (200, {"items": [{**RECORD, "taskId": "t-2"}]})
    )
    assert [task.task_id for task in client.list("QUEUED", limit=1)] == ["t-1", "t-2"]
    assert [call[3] for call in script.calls] == [None, "n1"]


def test_from_stage_reads_the_outputs_make_deploy_saved(tmp_path: Path) -> None:
    assert Output.TASKS_ENDPOINT.value == ENDPOINT_OUTPUT
    outputs = {StageNames("prod").stack: {ENDPOINT_OUTPUT: "http://127.0.0.1:9/"}}
    (tmp_path / "outputs-prod.json").write_text(json.dumps(outputs))
    client = TasksClient.from_stage("prod", outputs_dir=tmp_path, auth="none")
    assert client.api.endpoint == "http://127.0.0.1:9"
    (tmp_path / "outputs-qa.json").write_text(json.dumps({StageNames("qa").stack: {}}))
    with pytest.raises(ValueError, match="no TasksEndpoint output"):
        TasksClient.from_stage("qa", outputs_dir=tmp_path, auth="none")
