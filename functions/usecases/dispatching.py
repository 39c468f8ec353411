"""Turning tasks-queue messages into Express executions."""

from __future__ import annotations

from dataclasses import dataclass

from functions.common.models import TaskMessage, TaskStatus
from functions.common.workflow import Workflow, execution_name

DISPATCHABLE = frozenset({TaskStatus.QUEUED, TaskStatus.RUNNING})
"""RUNNING too: a redelivery after a crashed execution must be able to start another one
(the process function's claim keeps a live one exclusive)."""


@dataclass(frozen=True)
class Dispatch:
    task_id: str
    execution_name: str
    execution_arn: str | None
    """None when nothing was started (the task was skipped)."""
    skipped_status: str | None = None
    """The task's status when it was not dispatched (CANCELLED, finished, or unknown)."""


def parse_message(body: str) -> TaskMessage:
    """Raises on a malformed body: the record fails, and after ``maxReceiveCount`` deliveries
    SQS moves it to the DLQ where the monitor records it."""
    return TaskMessage.model_validate_json(body)


def dispatch_message(
    message: TaskMessage, receive_count: int, status: TaskStatus | None, *, workflow: Workflow
) -> Dispatch:
    name = execution_name(message.task_id, message.run, receive_count)
    if status not in DISPATCHABLE:
        return Dispatch(message.task_id, name, None, skipped_status=status.value if status else "UNKNOWN")
    return Dispatch(message.task_id, name, workflow.start(name, message.task_id))
