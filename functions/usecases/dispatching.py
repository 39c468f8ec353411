"""Turning tasks-queue messages into Express executions (and due scheduled tasks into queued ones)."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime

from functions.common.dead_letter_queue import DeadLetterQueue
from functions.common.errors import TransitionRefusedError
from functions.common.flow_control import holder_of, implied_subjects, recheck_delay
from functions.common.limits_table import LimitsTable
from functions.common.models import LimitWaitExceeded, TaskMessage, TaskStatus
from functions.common.scheduling import message_delay
from functions.common.tasks_queue import TasksQueue
from functions.common.tasks_table import TaskReadiness, TasksTable
from functions.common.workflow import Workflow, execution_name
from functions.usecases.limiting import ADMITTED_FREELY, LimitsCache, acquire

LIMIT_WAIT_ERROR = "LimitWaitExceeded"

DISPATCHABLE = frozenset({TaskStatus.QUEUED, TaskStatus.RUNNING})
"""RUNNING too: a redelivery after a crashed execution must be able to start another one
(the process function's claim keeps a live one exclusive)."""


@dataclass(frozen=True)
class DispatchOutcome:
    task_id: str
    execution_name: str
    execution_arn: str | None
    """None when nothing was started (the task was skipped or is not due yet)."""
    skipped_status: str | None = None
    """The task's status when it was not dispatched (CANCELLED, finished, or unknown)."""
    deferred_seconds: int | None = None
    """A SCHEDULED task's message that came before its ``runAt`` (a schedule fires up to two
    minutes early: functions/common/scheduling.py) was sent again, delayed this long."""
    promoted: bool = False
    """The task was SCHEDULED and due: this message made it QUEUED."""
    waiting_for: str | None = None
    """A limit held it back (its subject): its message was sent again, ``deferred_seconds`` later."""
    failed_waiting: bool = False
    """It had waited for a limit longer than the stage allows: failed and dead-lettered."""
    slots: tuple[str, ...] = ()
    """The limit slots its execution holds."""


@dataclass(frozen=True)
class Limiter:
    """Flow control as the dispatcher applies it (functions/usecases/limiting.py)."""

    table: LimitsTable
    cache: LimitsCache
    lease_seconds: float
    """A slot's lease: no execution this start begins outlives it."""
    max_wait_seconds: int
    """How long a task may wait for limits before it fails (``LimitWaitExceeded``)."""
    dead_letters: DeadLetterQueue
    default_type: str
    """A record without ``limitSubjects`` is subject to its type alone: this one, unless registered."""


def parse_message(body: str) -> TaskMessage:
    """Raises on a malformed body: the record fails, and after ``maxReceiveCount`` deliveries
    SQS moves it to the DLQ where the monitor records it."""
    return TaskMessage.model_validate_json(body)


@dataclass(frozen=True)
class Dispatcher:
    workflow: Workflow
    table: TasksTable
    queue: TasksQueue
    limiter: Limiter | None = None

    def dispatch(
        self,
        message: TaskMessage,
        receive_count: int,
        state: TaskReadiness | None,
        now: datetime,
        trace_header: str | None = None,
    ) -> DispatchOutcome:
        """Start the task's execution if it is QUEUED or RUNNING, in the message's X-Ray trace
        (``trace_header``). A SCHEDULED task not due yet is sent again with the seconds it still
        has to wait; a due one is promoted to QUEUED first (conditionally: a cancel that won the
        race leaves it CANCELLED, and it is skipped)."""
        name = execution_name(message.task_id, message.run, receive_count)
        status = state.status if state else None
        promoted = False
        if state is not None and status is TaskStatus.SCHEDULED:
            if state.run_at is not None and state.run_at > now:
                delay = max(1, message_delay(state.run_at, now))
                self.queue.enqueue(message.task_id, message.run, delay_seconds=delay)
                return DispatchOutcome(message.task_id, name, None, deferred_seconds=delay)
            try:
                self.table.promote(message.task_id, now)
                status, promoted = TaskStatus.QUEUED, True
            except TransitionRefusedError as refused:
                found = refused.current_status
                status = TaskStatus(found) if found is not None and found in TaskStatus.__members__ else None
        if status not in DISPATCHABLE:
            return DispatchOutcome(
                message.task_id, name, None, skipped_status=status.value if status else "UNKNOWN"
            )
        admission = ADMITTED_FREELY
        limiter = self.limiter
        if limiter is not None and state is not None:
            admission = acquire(
                limiter.table,
                limiter.cache.get(),
                state.limit_subjects or implied_subjects(state.registered_type, limiter.default_type),
                holder=holder_of(message.task_id, message.run),
                now=now.timestamp(),
                lease_seconds=limiter.lease_seconds,
            )
            if admission.waiting_for is not None:
                outcome = DispatchOutcome(message.task_id, name, None, waiting_for=admission.waiting_for)
                return self._wait(
                    limiter, message, outcome, state, expected_seconds=admission.wait_seconds, now=now
                )
        arn = self.workflow.start(
            name,
            message.task_id,
            trace_header,
            state.registered_type if state else None,
            slots=admission.held,
            run=message.run,
        )
        return DispatchOutcome(message.task_id, name, arn, promoted=promoted, slots=admission.held)

    def _wait(
        self,
        limiter: Limiter,
        message: TaskMessage,
        outcome: DispatchOutcome,
        state: TaskReadiness,
        *,
        expected_seconds: float,
        now: datetime,
    ) -> DispatchOutcome:
        """Held back by the limit on ``outcome.waiting_for``: the message goes back delayed (the
        task stays QUEUED, its ``waitingFor`` written the first time), or, past the stage's
        longest wait, the task fails and is dead-lettered."""
        subject = str(outcome.waiting_for)
        waited = (now - state.waiting_since).total_seconds() if state.waiting_since else 0.0
        if waited > limiter.max_wait_seconds:
            cause = (
                f"waited {int(waited)} s for the limit on {subject}; "
                f"the stage allows {limiter.max_wait_seconds} s (limitWaitMaxSeconds)"
            )
            try:
                self.table.mark_undeliverable(message.task_id, LIMIT_WAIT_ERROR, cause, now)
            except TransitionRefusedError:
                return outcome  # no longer waiting (cancelled, finished): nothing to fail
            exceeded = LimitWaitExceeded(
                kind="limit-wait-exceeded",
                task_id=message.task_id,
                run=message.run,
                limit=subject,
                waited_seconds=int(waited),
            )
            limiter.dead_letters.send_stranded(exceeded)
            return replace(outcome, failed_waiting=True)
        if state.waiting_since is None and state.status is TaskStatus.QUEUED:
            with suppress(TransitionRefusedError):  # another delivery marked it, or it moved on
                self.table.mark_waiting(message.task_id, subject, now)
        delay = recheck_delay(waited, expected_seconds)
        self.queue.enqueue(message.task_id, message.run, delay_seconds=delay)
        return replace(outcome, deferred_seconds=delay)
