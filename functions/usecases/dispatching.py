"""Turning tasks-queue messages into Express executions (and due scheduled tasks into queued ones)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from functions.common.errors import TransitionRefusedError
from functions.common.models import TaskMessage, TaskStatus
from functions.common.scheduling import message_delay
from functions.common.tasks_queue import TasksQueue
from functions.common.tasks_table import TaskReadiness, TasksTable
from functions.common.workflow import Workflow, execution_name

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


def parse_message(body: str) -> TaskMessage:
    """Raises on a malformed body: the record fails, and after ``maxReceiveCount`` deliveries
    SQS moves it to the DLQ where the monitor records it."""
    return TaskMessage.model_validate_json(body)


@dataclass(frozen=True)
class Dispatcher:
    workflow: Workflow
    table: TasksTable
    queue: TasksQueue

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
        arn = self.workflow.start(
            name, message.task_id, trace_header, state.registered_type if state else None
        )
        return DispatchOutcome(message.task_id, name, arn, promoted=promoted)
