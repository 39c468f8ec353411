"""Whatever ends an execution, no task stays RUNNING: reconcile re-drives a task whose execution
died, dead-letters one whose runs keep dying, and finishes the dead-lettering the workflow could
not do (docs/RELIABILITY.md states the bound)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from moto.sqs.exceptions import SQSException
from moto.sqs.models import SQSBackend

from functions.common.clock import utc_now
from functions.common.models import TaskStatus
from functions.usecases.reconciliation import STRANDED_ERROR, Sweep
from infra.spec import TIMINGS, Function
from tests.fixtures.stack import Stack
from tests.workflow.conftest import dead_letters, run_task, states_entered

pytestmark = pytest.mark.workflow
LEASE = timedelta(seconds=TIMINGS.lease_seconds)


def _sweep_at(stack: Stack, moment: datetime) -> Sweep:
    """Reconcile's sweep, run by the real handler's dependencies at a given moment."""
    from functions.usecases.reconciliation import sweep

    deps = stack.dependencies(Function.RECONCILE)
    return sweep(
        table=deps.table,
        queue=deps.queue,
        dead_letters=deps.dead_letters,
        clock=lambda: moment,
        older_than=deps.older_than,
        lease=deps.lease,
        max_rescues=deps.max_rescues,
    )


def _die_after_claim(stack: Stack, task_id: str, execution: str, at: datetime) -> None:
    """An execution claims the task at ``at`` and dies before anything else (killed, Express
    limit); its lease runs out at ``at + LEASE``."""
    stack.table.claim_for_processing(task_id, execution, at, at + LEASE)


def _discard_messages(stack: Stack) -> None:
    """Empty the tasks queue (SQS allows one PurgeQueue a minute)."""
    url = stack.resources.tasks_queue_url
    while messages := stack.clients.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            stack.clients.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _deliver(stack: Stack) -> None:
    stack.event_source(Function.DISPATCH).drain()
    stack.wait_for_all_executions()
    stack.event_source(Function.MONITOR).drain()


def test_a_task_whose_execution_died_is_re_driven_once_its_lease_expires(stack: Stack) -> None:
    task_id = stack.submit({"n": 1})
    _discard_messages(stack)
    claimed = utc_now() - LEASE - timedelta(seconds=2)
    _die_after_claim(stack, task_id, "arn:dead-execution", claimed)

    assert _sweep_at(stack, claimed + LEASE / 2).rescued == [], "the lease still holds"
    assert _sweep_at(stack, claimed + LEASE + timedelta(seconds=1)).rescued == [task_id]
    _deliver(stack)

    task = stack.task(task_id)
    assert task.status is TaskStatus.SUCCEEDED
    assert stack.completed_work == [task_id]


def test_a_task_whose_runs_keep_dying_ends_failed_and_dead_lettered(stack: Stack) -> None:
    task_id = stack.submit({"n": 2})
    _discard_messages(stack)
    sweeps = []
    moment = utc_now()
    _die_after_claim(stack, task_id, "arn:dead-0", moment)
    for death in range(1, TIMINGS.max_rescues + 2):
        moment += LEASE + timedelta(seconds=1)
        sweeps.append(_sweep_at(stack, moment))
        _discard_messages(stack)
        _die_after_claim(stack, task_id, f"arn:dead-{death}", moment)

    assert [sweep.rescued for sweep in sweeps] == [[task_id]] * TIMINGS.max_rescues + [[]]
    assert sweeps[-1].dead_lettered == [task_id]
    [message] = dead_letters(stack)
    assert (message["kind"], message["run"], message["rescues"]) == ("stranded", 1, TIMINGS.max_rescues + 1)
    stack.event_source(Function.MONITOR).drain()
    task = stack.task(task_id)
    assert (task.status, task.error) == (TaskStatus.FAILED, STRANDED_ERROR)
    assert task.dead_lettered_at is not None
    assert stack.completed_work == []


def test_when_the_dlq_refuses_the_workflows_message_reconcile_dead_letters_the_task(stack: Stack) -> None:
    stack.clients.sqs.delete_queue(QueueUrl=stack.resources.dead_letter_queue_url)

    task_id, execution = run_task(stack, {"simulate": {"permanent": True}})

    assert execution["status"] == "FAILED"
    assert execution["error"] == "DeadLetterNotSent"
    assert states_entered(stack, execution["executionArn"])[-2:] == ["ReopenForDeadLetter", "NotDeadLettered"]
    assert stack.task(task_id).status is TaskStatus.RUNNING
    stack.clients.sqs.create_queue(
        QueueName=stack.resources.names.dead_letter_queue, Attributes={"VisibilityTimeout": "180"}
    )

    result = _sweep_at(stack, utc_now() + LEASE + timedelta(seconds=1))

    assert (result.rescued, result.dead_lettered) == ([], [task_id])
    stack.event_source(Function.MONITOR).drain()
    task = stack.task(task_id)
    assert (task.status, task.error) == (TaskStatus.FAILED, "PermanentTaskError")
    assert task.dead_lettered_at is not None
    assert stack.completed_work == []


class _Throttled(SQSException):
    code = "RequestThrottled"
    message = "the response was lost"


def test_a_dead_letter_sent_despite_an_error_is_not_reopened(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SendToDlq's call failed after SQS had taken the message, and the monitor had already marked
    the task dead-lettered (an ambiguous failure: the response was lost). ReopenForDeadLetter
    must leave the task FAILED and dead-lettered, not reopen it for a second letter."""
    original = SQSBackend.send_message

    def delivered_then_failed(
        backend: SQSBackend, queue_name: str, message_body: str, *args: Any, **kwargs: Any
    ) -> Any:
        message = original(backend, queue_name, message_body, *args, **kwargs)
        if queue_name == stack.resources.names.dead_letter_queue:
            stack.table.mark_dead_lettered(json.loads(message_body)["taskId"], utc_now())
            raise _Throttled()
        return message

    monkeypatch.setattr(SQSBackend, "send_message", delivered_then_failed)
    task_id, execution = run_task(stack, {"simulate": {"permanent": True}})

    assert states_entered(stack, execution["executionArn"])[-2:] == ["ReopenForDeadLetter", "NotDeadLettered"]
    task = stack.task(task_id)
    assert (task.status, task.error) == (TaskStatus.FAILED, "PermanentTaskError")
    assert task.dead_lettered_at is not None
