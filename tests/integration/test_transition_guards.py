"""The conditions that keep a late or stale writer off a task that moved on.

Each test is a race the system meets under at-least-once delivery: an execution that lost its
claim, a dead letter delivered again after an operator's redrive, reconcile acting on what it
listed a moment ago. Each was found by weakening one condition in ``functions/common/tasks_table`` and
watching the suite stay green (docs/RELIABILITY.md lists the transitions).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from functions.common.errors import TaskFailedError, TransitionRefusedError
from functions.common.models import Task, TaskStatus
from infra.names import Function
from tests.fixtures.stack import Stack

A, B = (
    "arn:aws:states:us-east-1:123456789012:express:sm:a:1",
    "arn:aws:states:us-east-1:123456789012:express:sm:b:1",
)


def _failed_and_redriven(stack: Stack) -> str:
    """A task whose run 1 failed in the workflow (its dead letter sent), then redriven: run 2, QUEUED."""
    task_id = stack.submit({"simulate": {"permanent": True}})
    stack.wait_for_execution(stack.start_execution(task_id, "fails"))
    assert stack.task(task_id).status is TaskStatus.FAILED
    stack.table.redrive(task_id, datetime.now(UTC))
    return task_id


def test_an_execution_that_lost_its_claim_cannot_record_its_attempt_error(stack: Stack) -> None:
    """A's lease ran out and B claimed the task while A's attempt was still failing: A's error
    must not appear on B's run (B's attempt has not failed)."""
    task_id = stack.submit({"n": 1})
    stack.dependencies(Function.PROCESS).lease = timedelta(0)

    def b_takes_over_then_a_fails(task: Task) -> dict[str, object]:
        now = datetime.now(UTC)
        stack.table.claim_for_processing(task.task_id, B, now, now + timedelta(seconds=60))
        raise TaskFailedError("A's attempt failed after its lease ran out")

    stack.set_work(b_takes_over_then_a_fails)
    with pytest.raises(TaskFailedError):
        stack.invoke(Function.PROCESS, {"taskId": task_id, "executionArn": A})

    task = stack.task(task_id)
    assert (task.status, task.execution_arn) == (TaskStatus.RUNNING, B)
    assert task.last_error is None


def test_an_execution_that_lost_its_claim_cannot_record_its_success(stack: Stack) -> None:
    """A's lease ran out and B claimed the task while A's work was finishing: the holder decides
    (docs/RELIABILITY.md). A's late result is discarded and the task stays B's run, so the
    record's result, attempts and execution always belong to one execution."""
    task_id = stack.submit({"n": 1})
    stack.dependencies(Function.PROCESS).lease = timedelta(0)

    def b_takes_over_then_a_succeeds(task: Task) -> dict[str, object]:
        now = datetime.now(UTC)
        stack.table.claim_for_processing(task.task_id, B, now, now + timedelta(seconds=60))
        return {"from": "A"}

    stack.set_work(b_takes_over_then_a_succeeds)
    outcome = stack.invoke(Function.PROCESS, {"taskId": task_id, "executionArn": A})

    assert outcome["outcome"] != "SUCCEEDED"
    task = stack.task(task_id)
    assert (task.status, task.execution_arn, task.result) == (TaskStatus.RUNNING, B, None)


def test_a_workflow_failure_letter_delivered_after_a_redrive_leaves_the_new_run_alone(stack: Stack) -> None:
    task_id = _failed_and_redriven(stack)
    late = json.dumps(
        {"kind": "workflow-failure", "taskId": task_id, "error": "TaskFailedError", "cause": "run 1"}
    )

    response = stack.invoke(Function.MONITOR, stack.sqs_event(Function.MONITOR, [late]))

    assert response == {"batchItemFailures": []}
    task = stack.task(task_id)
    assert (task.status, task.runs, task.dead_lettered_at) == (TaskStatus.QUEUED, 2, None)


def test_a_stranded_letter_for_an_earlier_run_leaves_the_current_run_alone(stack: Stack) -> None:
    """Reconcile dead-lettered run 1; by the time the monitor reads it, run 2 is RUNNING."""
    task_id = _failed_and_redriven(stack)
    now = datetime.now(UTC)
    stack.table.claim_for_processing(task_id, B, now, now + timedelta(seconds=60))
    stale = json.dumps(
        {"kind": "stranded", "taskId": task_id, "run": 1, "error": "TaskStranded", "cause": "x", "rescues": 4}
    )

    stack.invoke(Function.MONITOR, stack.sqs_event(Function.MONITOR, [stale]))

    task = stack.task(task_id)
    assert (task.status, task.runs, task.execution_arn) == (TaskStatus.RUNNING, 2, B)


def test_rescue_refuses_a_task_claimed_again_since_the_sweep_listed_it(stack: Stack) -> None:
    """The sweep lists RUNNING tasks whose lease expired, then rescues each: one that a duplicate
    execution claimed in between holds a live lease and must be left to it."""
    task_id = stack.submit({"n": 1})
    start = datetime.now(UTC)
    stack.table.claim_for_processing(task_id, A, start, start + timedelta(seconds=1))
    listed_at = start + timedelta(seconds=5)
    assert task_id in stack.table.index.running_before(listed_at, 10)
    stack.table.claim_for_processing(task_id, B, listed_at, listed_at + timedelta(seconds=60))

    with pytest.raises(TransitionRefusedError):
        stack.table.rescue(
            task_id, listed_at + timedelta(seconds=1), not_since=listed_at - timedelta(seconds=60)
        )


def test_a_run_is_rescued_once_per_lease_even_by_overlapping_sweeps(stack: Stack) -> None:
    """Two sweeps that overlap (a slow one and the next) must count one rescue, so a run's
    rescue count measures dead executions, not sweeps."""
    task_id = stack.submit({"n": 1})
    start = datetime.now(UTC)
    lease = timedelta(seconds=60)
    stack.table.claim_for_processing(task_id, A, start, start + timedelta(seconds=1))
    now = start + timedelta(seconds=5)

    first = stack.table.rescue(task_id, now, not_since=now - lease)
    with pytest.raises(TransitionRefusedError):
        stack.table.rescue(task_id, now + timedelta(seconds=1), not_since=now + timedelta(seconds=1) - lease)
    later = now + lease + timedelta(seconds=1)
    assert stack.table.rescue(task_id, later, not_since=later - lease).rescues == first.rescues + 1


def test_an_undeliverable_letter_leaves_a_task_a_live_execution_holds(stack: Stack) -> None:
    """The message ran out of receives, yet an execution started from one of them holds the task
    under a live lease: that execution decides. With the lease expired, the letter fails it."""
    held, abandoned = stack.submit({"n": 1}), stack.submit({"n": 2})
    now = datetime.now(UTC)
    stack.table.claim_for_processing(held, B, now, now + timedelta(seconds=60))
    stack.table.claim_for_processing(abandoned, A, now - timedelta(seconds=60), now - timedelta(seconds=1))
    letters = [json.dumps({"taskId": held}), json.dumps({"taskId": abandoned})]

    stack.invoke(Function.MONITOR, stack.sqs_event(Function.MONITOR, letters, receive_count=6))

    assert (stack.task(held).status, stack.task(held).execution_arn) == (TaskStatus.RUNNING, B)
    assert stack.task(abandoned).status is TaskStatus.FAILED
    assert stack.task(abandoned).dead_lettered_at is not None


@pytest.mark.parametrize("kind", ["undeliverable", "stranded"])
def test_a_late_letter_for_a_task_already_failed_marks_it_dead_lettered(stack: Stack, kind: str) -> None:
    """The workflow failed the task, but its own letter never reached the monitor (purged here);
    a letter of another kind for the same run still marks it dead-lettered, keeping the workflow's
    error, so the task is listed and redriven as a dead letter."""
    task_id = stack.submit({"simulate": {"permanent": True}})
    stack.wait_for_execution(stack.start_execution(task_id, "fails"))
    stack.clients.sqs.purge_queue(QueueUrl=stack.resources.dead_letter_queue_url)
    letter: dict[str, object] = {"taskId": task_id}
    if kind == "stranded":
        letter |= {"kind": "stranded", "run": 1, "error": "TaskStranded", "cause": "x", "rescues": 3}

    stack.invoke(Function.MONITOR, stack.sqs_event(Function.MONITOR, [json.dumps(letter)], receive_count=6))

    task = stack.task(task_id)
    assert (task.status, task.error) == (TaskStatus.FAILED, "PermanentTaskError")
    assert task.dead_lettered_at is not None
