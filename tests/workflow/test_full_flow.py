"""POST → SQS → dispatch → Express execution → process → DynamoDB → DLQ → monitor, for a batch."""

from __future__ import annotations

from functions.common.models import TaskStatus
from infra.names import Function
from infra.workflow_definition import retry_policy
from tests.fixtures.stack import Stack
from tests.workflow.conftest import dead_letters

POLICY = retry_policy()
TASKS = 80
FAILURE_RATE = 0.3


def test_every_task_ends_terminal_and_failures_match_the_rate(stack: Stack) -> None:
    stack.set_failure_rate(FAILURE_RATE, seed="full-flow")
    task_ids = [stack.submit({"order": index}, key=f"full-flow-{index}") for index in range(TASKS)]

    dispatched = stack.event_source(Function.DISPATCH).drain()
    executions = stack.wait_for_all_executions(timeout=120)
    monitored = stack.event_source(Function.MONITOR).drain()

    assert sum(poll.deleted for poll in dispatched) == TASKS
    assert len(executions) == TASKS
    tasks = [stack.task(task_id) for task_id in task_ids]
    assert all(task.status.is_terminal for task in tasks)
    succeeded = [task for task in tasks if task.status is TaskStatus.SUCCEEDED]
    failed = [task for task in tasks if task.status is TaskStatus.FAILED]
    assert len(succeeded) + len(failed) == TASKS

    attempts = sum(task.attempts for task in tasks)
    failed_attempts = attempts - len(succeeded)
    assert attempts == stack.process_invocations()
    assert 0.22 <= failed_attempts / attempts <= 0.38, (failed_attempts, attempts)
    assert all(1 <= task.attempts <= POLICY.total_attempts for task in succeeded)
    assert all(task.attempts == POLICY.total_attempts for task in failed)
    assert 1 <= len(failed) <= 0.1 * TASKS, "the failure seed exercises the dead-letter path"

    assert sorted(stack.completed_work) == sorted(task.task_id for task in succeeded)
    assert sum(poll.deleted for poll in monitored) == len(failed)
    assert all(task.dead_lettered_at and task.error == "TaskFailedError" for task in failed)
    assert dead_letters(stack) == []

    for task in tasks:
        response = stack.api("GET", f"/tasks/{task.task_id}")
        assert response.status == 200
        assert response.body["status"] == task.status.value
