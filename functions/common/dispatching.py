"""Turning one tasks-queue message into one Express execution."""

from __future__ import annotations

from dataclasses import dataclass

from functions.common.models import TaskMessage
from functions.common.workflow import Workflow, execution_name


@dataclass(frozen=True)
class Dispatch:
    task_id: str
    execution_name: str
    execution_arn: str | None
    """None when this delivery's execution had already been started (a duplicate delivery)."""


def dispatch_message(body: str, receive_count: int, *, workflow: Workflow) -> Dispatch:
    """Raises on a malformed body: the record fails, and after ``maxReceiveCount`` deliveries
    SQS moves it to the DLQ where the monitor records it."""
    message = TaskMessage.model_validate_json(body)
    name = execution_name(message.task_id, receive_count)
    arn = workflow.start(name, message.task_id)
    return Dispatch(task_id=message.task_id, execution_name=name, execution_arn=arn)
