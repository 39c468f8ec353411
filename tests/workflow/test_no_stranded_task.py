"""Whatever ends an execution, no task stays RUNNING: reconcile re-drives a task whose execution
died, dead-letters one whose runs keep dying, and finishes the dead-lettering the workflow could
not do (docs/RELIABILITY.md states the bound)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.sqs.exceptions import SQSException
from moto.sqs.models import SQSBackend

from functions.common.aws import BACKFILLING_INDEX, translate
from functions.common.clock import utc_now
from functions.common.config import DUE_INDEX
from functions.common.errors import DependencyUnavailableError
from functions.common.mapping_switch import MappingState, MappingSwitch
from functions.common.models import TaskStatus
from functions.usecases.reconciliation import OVERDUE_SCHEDULED, STRANDED_ERROR, Sweep
from infra.limits import TIMINGS
from infra.names import Function
from tests.fixtures.stack import Stack
from tests.workflow.conftest import dead_letters, run_task, states_entered

LEASE = timedelta(seconds=TIMINGS.lease_seconds)


def _sweep_at(stack: Stack, moment: datetime, *, dispatch_paused: bool = False) -> Sweep:
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
        dispatch_paused=dispatch_paused,
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


def test_while_dispatch_is_paused_reconcile_leaves_a_queued_task_to_its_waiting_message(stack: Stack) -> None:
    """Paused (``ptm pause``), the queue is not consumed: a QUEUED task's message is waiting, and
    sending it again would only pile duplicates into the queue. A RUNNING task whose lease ran out
    is still rescued. After ``ptm resume`` the sweep sends stale QUEUED tasks again."""
    from functions.reconcile.handler import dispatch_paused

    deps = stack.dependencies(Function.RECONCILE)
    deps.switch.pause()
    queued = stack.submit({"n": 3})
    running = stack.submit({"n": 4})
    claimed = utc_now() - LEASE - timedelta(seconds=2)
    _die_after_claim(stack, running, "arn:dead-execution", claimed)
    later = utc_now() + deps.older_than + timedelta(seconds=1)

    assert dispatch_paused(deps.switch) is True
    paused = _sweep_at(stack, later, dispatch_paused=True)
    assert (paused.reenqueued, paused.rescued) == ([], [running])
    waiting = [json.loads(m["Body"])["taskId"] for m in stack.queue_messages(stack.resources.tasks_queue_url)]
    assert sorted(waiting) == sorted([queued, running, running]), "one message each, plus the rescue"

    deps.switch.resume()
    assert dispatch_paused(deps.switch) is False
    assert _sweep_at(stack, later).reenqueued == [queued]


def test_reconcile_sweeps_as_if_dispatch_runs_when_its_state_is_unknown(stack: Stack) -> None:
    """Failing open: a stale QUEUED task is sent again (dispatch absorbs the duplicate) rather than
    left stranded because the mapping could not be read."""
    from functions.common.mapping_switch import MappingSwitch
    from functions.reconcile.handler import dispatch_paused

    deps = stack.dependencies(Function.RECONCILE)
    deps.switch.pause()
    missing = MappingSwitch(stack.clients.lambda_, "00000000-0000-0000-0000-000000000000")

    assert dispatch_paused(missing) is False
    assert dispatch_paused(deps.switch) is True


def test_the_reconcile_function_reads_the_switch_before_its_sweep(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handler, end to end: it asks the dispatch mapping, sweeps accordingly and says so."""
    deps = stack.dependencies(Function.RECONCILE)
    deps.switch.pause()
    queued = stack.submit({"n": 5})
    later = utc_now() + deps.older_than + timedelta(seconds=1)
    module = stack.handlers[Function.RECONCILE]
    monkeypatch.setattr(module, "utc_now", lambda: later)

    paused = module.lambda_handler({}, stack.context(Function.RECONCILE))
    deps.switch.resume()
    running = module.lambda_handler({}, stack.context(Function.RECONCILE))

    assert (paused["dispatchPaused"], paused["reenqueued"]) == (True, 0)
    assert (running["dispatchPaused"], running["reenqueued"]) == (False, 1)
    assert stack.task(queued).status is TaskStatus.QUEUED


class _Answering(MappingSwitch):
    """The dispatch mapping as Lambda would describe it, for states the emulator never reaches
    (it always says "User initiated")."""

    def __init__(self, state: MappingState) -> None:
        self._answer = state

    def state(self) -> MappingState:
        return self._answer


@pytest.mark.parametrize(
    ("state", "reason", "held", "alarmed"),
    [
        ("Disabled", "LAMBDA_INITIATED", True, True),
        ("Updating", "USER_INITIATED", True, False),
        ("Disabled", "USER_INITIATED", True, False),
        ("Enabled", "USER_INITIATED", False, False),
    ],
)
def test_reconcile_holds_its_resends_while_the_queue_is_not_consumed_and_alarms_when_lambda_stopped_it(
    capsys: pytest.CaptureFixture[str], state: str, reason: str, held: bool, alarmed: bool
) -> None:
    """A mapping Lambda disabled itself (its role lost access, the function is gone) is no pause: it
    is held like one, and alarms (DependencyMisconfigured). A mapping changing (Updating) may be a
    paused one whose settings an operator changed: this sweep sends nothing again; the next decides."""
    from functions.common.observability import metrics
    from functions.reconcile.handler import dispatch_paused

    metrics.flush_metrics(raise_on_empty_metrics=False)  # what earlier tests left unpublished
    capsys.readouterr()
    assert dispatch_paused(_Answering(MappingState(state, utc_now(), reason))) is held
    metrics.flush_metrics(raise_on_empty_metrics=False)

    assert ('"DependencyMisconfigured":[1.0]' in capsys.readouterr().out) is alarmed


class _Busy(MappingSwitch):
    """Lambda throttling the read (a busy dependency, not a wrong setting)."""

    def __init__(self) -> None:
        pass

    def state(self) -> MappingState:
        raise DependencyUnavailableError("Rate exceeded")


def test_reconcile_sweeps_as_if_dispatch_runs_when_lambda_is_too_busy_to_say() -> None:
    from functions.reconcile.handler import dispatch_paused

    assert dispatch_paused(_Busy()) is False


def _reconcile_at(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], moment: datetime
) -> tuple[dict[str, Any], str]:
    """The reconcile function, end to end, at ``moment``: its outcome, and the metrics it published
    (none left over from earlier tests)."""
    from functions.common.observability import metrics

    metrics.flush_metrics(raise_on_empty_metrics=False)
    module = stack.handlers[Function.RECONCILE]
    monkeypatch.setattr(module, "utc_now", lambda: moment)
    capsys.readouterr()
    outcome: dict[str, Any] = module.lambda_handler({}, stack.context(Function.RECONCILE))
    return outcome, capsys.readouterr().out


def _one_stale_and_one_dead(stack: Stack) -> tuple[str, str, datetime]:
    queued = stack.submit({"n": 6})
    running = stack.submit({"n": 7})
    _die_after_claim(stack, running, "arn:dead-execution", utc_now() - LEASE - timedelta(seconds=2))
    _discard_messages(stack)
    deps = stack.dependencies(Function.RECONCILE)
    return queued, running, utc_now() + deps.older_than + timedelta(seconds=1)


def test_an_index_missing_fails_its_part_of_the_sweep_alone_and_alarms(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The byRunAt index gone (a misconfiguration no retry fixes): the overdue part fails and says
    so through the misconfiguration alarm; stale QUEUED tasks are still sent and dead runs still
    rescued."""
    queued, running, later = _one_stale_and_one_dead(stack)
    stack.clients.dynamodb.update_table(
        TableName=stack.resources.table, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": DUE_INDEX}}]
    )

    outcome, published = _reconcile_at(stack, monkeypatch, capsys, later)

    assert (outcome["reenqueued"], outcome["rescued"]) == (1, 1)
    assert list(outcome["failed"]) == [OVERDUE_SCHEDULED]
    assert '"DependencyMisconfigured":[1.0]' in published
    waiting = {json.loads(m["Body"])["taskId"] for m in stack.queue_messages(stack.resources.tasks_queue_url)}
    assert waiting == {queued, running}


def test_an_index_still_being_built_is_transient_and_stops_no_other_part(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An index added by an upgrade is queried before its backfill ends (CloudFormation does not
    wait for it): DynamoDB's "Cannot read from backfilling global secondary index" is a
    ValidationException, which the emulator never raises; it is transient, not an alarm."""
    _, _, later = _one_stale_and_one_dead(stack)
    deps = stack.dependencies(Function.RECONCILE)
    backfilling = ClientError(
        {"Error": {"Code": "ValidationException", "Message": f"{BACKFILLING_INDEX}: {DUE_INDEX}"}}, "Query"
    )

    def still_building(*_: Any) -> Any:
        raise translate(backfilling, "query the byRunAt index")

    monkeypatch.setattr(deps.table.index, "scheduled_due_before", still_building)

    outcome, published = _reconcile_at(stack, monkeypatch, capsys, later)

    assert (outcome["reenqueued"], outcome["rescued"]) == (1, 1)
    assert list(outcome["failed"]) == [OVERDUE_SCHEDULED]
    assert "DependencyMisconfigured" not in published
