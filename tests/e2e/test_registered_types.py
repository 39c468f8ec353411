"""The example registered type (``word-count``, examples/local_types.json) through the shared local
stack, over HTTP and ``ptm``, as a user meets it: the local stage runs its Python handler in the
same Lambda runtime as the built-in functions."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.e2e.conftest import RunningStack
from tests.fixtures.ptm_cli import ptm, ptm_json


def _finished(stack: RunningStack, task_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        task: dict[str, Any] = ptm_json(stack, "status", task_id)
        if task["status"] in {"SUCCEEDED", "FAILED", "CANCELLED"}:
            return task
        assert time.monotonic() < deadline, task
        time.sleep(0.1)


def test_ptm_submits_the_example_type_and_its_function_s_result_is_recorded(
    local_stack: RunningStack,
) -> None:
    submitted = ptm_json(local_stack, "submit", json.dumps({"type": "word-count", "text": "to be or not"}))

    task = _finished(local_stack, submitted["taskId"])

    assert task["status"] == "SUCCEEDED", task
    assert task["result"] == {"words": 4, "attempt": 1}
    assert task["payload"] == {"type": "word-count", "text": "to be or not"}


def test_over_http_a_retried_attempt_and_a_permanent_error(local_stack: RunningStack) -> None:
    status, _, retried = local_stack.request(
        "POST", "/tasks", {"type": "word-count", "text": "a", "failUntilAttempt": 2}
    )
    assert status == 202, retried
    status, _, rejected = local_stack.request(
        "POST", "/tasks", {"type": "word-count", "text": "a", "reject": True}
    )
    assert status == 202, rejected

    assert _finished(local_stack, retried["taskId"])["result"] == {"words": 1, "attempt": 2}
    failed = _finished(local_stack, rejected["taskId"])
    assert (failed["status"], failed["error"]) == ("FAILED", "PermanentTaskError")
    assert failed["attempts"] == 1


def test_a_body_the_schema_refuses_is_a_400_and_ptm_types_shows_the_fields(local_stack: RunningStack) -> None:
    status, _, body = local_stack.request("POST", "/tasks", {"type": "word-count", "text": ["not", "text"]})
    assert status == 400, body
    assert body["error"]["fields"] == {"text": "text must be string"}

    code, listed = ptm(local_stack, "types")
    assert code == 0, listed
    assert "word-count" in listed
    schema = json.loads(ptm(local_stack, "types", "--schema", "word-count")[1])
    assert schema["required"] == ["type", "text"]


def test_the_workflow_s_log_keeps_no_payload_or_result_of_a_registered_type(
    local_stack: RunningStack,
) -> None:
    """The local stage registers a type, so its workflow logs no execution data, as AWS would
    with ``workflowExecutionData`` off: the events and the graph, never a state's input or output."""
    from tests.e2e.test_node_users import _logs, _submit, _workflow_events

    canary = "canary-in-a-registered-payload"
    task_id = _submit(local_stack, {"type": "word-count", "text": f"{canary} words"})

    lines = _logs(
        local_stack,
        "--task",
        task_id,
        "--since",
        "5m",
        until=lambda lines: _workflow_events(lines)[-1:] == ["ExecutionSucceeded"],
    )

    workflow = [json.loads(line["message"]) for line in lines if line["source"] == "workflow"]
    assert "TaskStateEntered" in {event["type"] for event in workflow}, workflow
    assert all(canary not in line["message"] for line in lines)
    assert all(not {"input", "output", "parameters"} & set(event["details"]) for event in workflow)
