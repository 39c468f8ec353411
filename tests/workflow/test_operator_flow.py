"""An operator's day: cancel a queued task, redrive a failed one to success, list by status."""

from __future__ import annotations

from functions.common.models import TaskStatus
from infra.names import Function
from infra.workflow_definition import retry_policy
from tests.fixtures.stack import Stack

POLICY = retry_policy()


def _run_pipeline(stack: Stack) -> None:
    stack.event_source(Function.DISPATCH).drain()
    stack.wait_for_all_executions()
    stack.event_source(Function.MONITOR).drain()


def _listed(stack: Stack, status: str, limit: int = 2) -> list[str]:
    ids, token = [], None
    while True:
        query = f"/tasks?status={status}&limit={limit}" + (f"&nextToken={token}" if token else "")
        page = stack.api("GET", query).body
        ids += [item["taskId"] for item in page["items"]]
        token = page.get("nextToken")
        if not token:
            return ids


def test_cancel_redrive_and_list(stack: Stack) -> None:
    fine = [stack.submit({"n": index}) for index in range(3)]
    flaky = stack.submit({"simulate": {"failures": POLICY.total_attempts}})
    unwanted = stack.submit({"n": "unwanted"})
    assert stack.api("DELETE", f"/tasks/{unwanted}").status == 200

    _run_pipeline(stack)

    assert stack.task(unwanted).status is TaskStatus.CANCELLED
    assert stack.task(flaky).status is TaskStatus.FAILED
    assert sorted(_listed(stack, "SUCCEEDED")) == sorted(fine)
    assert _listed(stack, "FAILED") == [flaky]
    assert _listed(stack, "CANCELLED") == [unwanted]

    assert stack.api("POST", f"/tasks/{flaky}/redrive").status == 202
    _run_pipeline(stack)

    task = stack.task(flaky)
    assert task.status is TaskStatus.SUCCEEDED
    assert task.runs == 2
    assert task.attempts == POLICY.total_attempts + 1, "the attempts of the first run are kept"
    assert task.execution_arn is not None
    assert f":{flaky}-r2-d1:" in task.execution_arn, "an Express ARN: ...:express:<machine>:<name>:<id>"
    assert _listed(stack, "FAILED") == []
    assert sorted(_listed(stack, "SUCCEEDED")) == sorted([*fine, flaky])
    assert stack.task(unwanted).attempts == 0
