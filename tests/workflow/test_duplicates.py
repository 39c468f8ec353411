"""At-least-once everywhere: duplicates must never process a task twice."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.common.errors import PermanentTaskError
from functions.common.models import Task, TaskStatus
from functions.task_types.registry import TaskEnvironment
from infra.names import Function
from tests.fixtures.stack import Stack
from tests.fixtures.task_types import runner
from tests.workflow.conftest import dead_letters, states_entered


def _dispatch_same_message_twice(stack: Stack, *, redelivered: bool) -> list[str]:
    """Receive the task's message once, and hand the identical SQS event to dispatch twice."""
    message = stack.clients.sqs.receive_message(
        QueueUrl=stack.resources.tasks_queue_url, MessageSystemAttributeNames=["All"]
    )["Messages"][0]
    source = stack.event_source(Function.DISPATCH)
    from local.event_source import sqs_event

    first = sqs_event([message], source.queue_arn, source.region)
    second = sqs_event([message], source.queue_arn, source.region)
    if redelivered:
        second["Records"][0]["attributes"]["ApproximateReceiveCount"] = "2"
    handler = stack.handlers[Function.DISPATCH].lambda_handler
    for event in (first, second):
        assert handler(event, stack.context(Function.DISPATCH)) == {"batchItemFailures": []}
        stack.wait_for_all_executions()
    return [execution["executionArn"] for execution in stack.wait_for_all_executions()]


def test_same_delivery_dispatched_twice_starts_one_execution(stack: Stack) -> None:
    """The second dispatch reads the task's status (SUCCEEDED) and starts nothing; the name is no
    guard: Express starts with a repeated name run concurrently (as on AWS)."""
    task_id = stack.submit({"n": 1})

    executions = _dispatch_same_message_twice(stack, redelivered=False)

    assert len(executions) == 1
    assert stack.task(task_id).attempts == 1
    assert stack.completed_work == [task_id]


def test_redelivered_message_for_a_finished_task_starts_nothing(stack: Stack) -> None:
    task_id = stack.submit({"n": 2})

    executions = _dispatch_same_message_twice(stack, redelivered=True)

    assert len(executions) == 1
    task = stack.task(task_id)
    assert task.status is TaskStatus.SUCCEEDED
    assert task.attempts == 1
    assert stack.completed_work == [task_id]


def test_concurrent_duplicate_execution_is_kept_out_by_the_claim(stack: Stack) -> None:
    """While execution A holds the claim and works, duplicate B runs start to finish and skips."""
    task_id = stack.submit({"n": 3})
    inner = runner(TaskEnvironment())
    duplicate: dict[str, Any] = {}

    def work_that_starts_a_duplicate(task: Task) -> dict[str, Any]:
        if not duplicate:
            duplicate["started"] = True
            duplicate["arn"] = stack.start_execution(task.task_id, "duplicate-b")
            duplicate["execution"] = stack.wait_for_execution(duplicate["arn"])
        return inner(task)

    stack.set_work(work_that_starts_a_duplicate)
    first = stack.wait_for_execution(stack.start_execution(task_id, "original-a"))

    assert first["status"] == "SUCCEEDED"
    assert duplicate["execution"]["status"] == "SUCCEEDED"
    assert '"outcome": "SKIPPED"' in duplicate["execution"]["output"]
    task = stack.task(task_id)
    assert task.status is TaskStatus.SUCCEEDED
    assert task.execution_arn == first["executionArn"]
    assert task.attempts == 1
    assert stack.completed_work == [task_id]


def test_holder_whose_lease_expired_cannot_overwrite_the_new_holders_success(stack: Stack) -> None:
    """A slow execution A loses its claim when its lease runs out; B claims, works and succeeds.
    A's late result is refused: the record keeps B's success (the work ran twice, recorded once)."""
    task_id = stack.submit({"n": 6})
    stack.dependencies(Function.PROCESS).lease = timedelta(0)
    inner = runner(TaskEnvironment())
    late: dict[str, Any] = {}

    def slow_first_run(task: Task) -> dict[str, Any]:
        if not late:
            late["started"] = True
            late["b"] = stack.wait_for_execution(stack.start_execution(task.task_id, "takes-over-b"))
        return inner(task)

    stack.set_work(slow_first_run)
    first = stack.wait_for_execution(stack.start_execution(task_id, "slow-a"))

    assert '"outcome": "SKIPPED"' in first["output"]
    assert '"outcome": "SUCCEEDED"' in late["b"]["output"]
    task = stack.task(task_id)
    assert task.status is TaskStatus.SUCCEEDED
    assert task.execution_arn == late["b"]["executionArn"]
    assert task.attempts == 2


@pytest.mark.parametrize("holder_alive", [True, False], ids=["holder-alive", "holder-lease-expired"])
def test_an_execution_that_lost_its_claim_cannot_fail_a_live_holders_run(
    stack: Stack, holder_alive: bool
) -> None:
    """A's lease ran out and B claimed the task; then A's attempt fails for good. A reaches
    MarkFailed, whose condition leaves the task to a live holder: A ends in AlreadyFinished,
    nothing is dead-lettered, and B's run goes on. If B's lease has run out too (B died), A's
    verdict stands: FAILED and dead-lettered."""
    task_id = stack.submit({"n": 8})
    stack.dependencies(Function.PROCESS).lease = timedelta(0)
    holder = "arn:aws:states:us-east-1:123456789012:express:holder-b:1"
    lease = timedelta(seconds=60 if holder_alive else -1)

    def b_claims_then_a_fails(task: Task) -> dict[str, Any]:
        now = datetime.now(UTC)
        stack.table.claim_for_processing(task.task_id, holder, now, now + lease)
        raise PermanentTaskError("A's verdict, reached after it lost the claim")

    stack.set_work(b_claims_then_a_fails)
    a = stack.wait_for_execution(stack.start_execution(task_id, "loses-claim-a"))

    task = stack.task(task_id)
    if holder_alive:
        assert a["status"] == "SUCCEEDED"
        assert states_entered(stack, a["executionArn"]) == [
            "ProcessTask",
            "ReadCause",
            "MessageOnly",
            "MarkFailed",
            "AlreadyFinished",
        ]
        assert (task.status, task.execution_arn, task.error) == (TaskStatus.RUNNING, holder, None)
        assert dead_letters(stack) == []
    else:
        assert states_entered(stack, a["executionArn"])[-2:] == ["SendToDlq", "Failed"]
        assert (task.status, task.execution_arn, task.error) == (
            TaskStatus.FAILED,
            a["executionArn"],
            "PermanentTaskError",
        )
        assert [letter["taskId"] for letter in dead_letters(stack)] == [task_id]


def test_late_execution_after_success_changes_nothing(stack: Stack) -> None:
    task_id = stack.submit({"n": 4})
    stack.wait_for_execution(stack.start_execution(task_id, "first"))
    before = stack.task(task_id)

    late = stack.wait_for_execution(stack.start_execution(task_id, "late"))

    assert late["status"] == "SUCCEEDED"
    assert '"outcome": "SKIPPED"' in late["output"]
    assert stack.task(task_id) == before
    assert stack.completed_work == [task_id]


def test_failing_late_execution_never_overwrites_success(stack: Stack) -> None:
    """A duplicate whose Lambda invocation fails outright reaches MarkFailed, whose condition
    refuses to touch a SUCCEEDED task: the execution ends in AlreadyFinished, nothing is dead-lettered."""
    task_id = stack.submit({"n": 5})
    stack.wait_for_execution(stack.start_execution(task_id, "first"))
    before = stack.task(task_id)

    class CrashError(Exception):
        pass

    def crash(function_name: str, event: Any) -> None:
        if function_name.endswith("-process"):
            raise CrashError("the runtime died")

    stack.runtime.hooks.append(crash)
    late = stack.wait_for_execution(stack.start_execution(task_id, "late-crash"))

    assert late["status"] == "SUCCEEDED"
    assert states_entered(stack, late["executionArn"]) == [
        "ProcessTask",
        "ReadCause",
        "MessageOnly",
        "MarkFailed",
        "AlreadyFinished",
    ]
    assert stack.task(task_id) == before
    assert dead_letters(stack) == []


def test_concurrent_dispatch_of_many_duplicates_processes_each_task_once(stack: Stack) -> None:
    task_ids = [stack.submit({"n": index}) for index in range(10)]
    threads = [
        threading.Thread(target=stack.start_execution, args=(task_id, f"copy-{copy}-{task_id}"))
        for task_id in task_ids
        for copy in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stack.wait_for_all_executions()

    assert sorted(stack.completed_work) == sorted(task_ids)
    assert all(stack.task(task_id).status is TaskStatus.SUCCEEDED for task_id in task_ids)
