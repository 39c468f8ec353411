"""Recording what reaches the dead-letter queue.

Three shapes arrive: the state machine's Catch output (``kind: workflow-failure``: the task is
already FAILED, we stamp ``deadLetteredAt``), reconcile's ``kind: stranded`` (a run whose
executions kept dying: that run becomes FAILED + dead-lettered here) and raw tasks-queue
messages that exhausted ``maxReceiveCount`` (the task never finished: FAILED + dead-lettered
here). Anything else is logged and counted, never raised: a malformed message must not block the
queue.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from functions.common.clock import Clock
from functions.common.errors import TransitionRefusedError
from functions.common.models import StrandedTask, TaskMessage, TaskStatus, WorkflowFailure
from functions.common.observability import logger
from functions.common.tasks_table import TasksTable

UNDELIVERABLE_ERROR = "UndeliverableMessage"
MAX_LOGGED_BODY = 4096


class DeadLetterKind(StrEnum):
    WORKFLOW_FAILURE = "WorkflowFailure"
    STRANDED = "Stranded"
    UNDELIVERABLE = "Undeliverable"
    UNRECOGNISED = "Unrecognised"


def classify(body: str) -> tuple[DeadLetterKind, WorkflowFailure | StrandedTask | TaskMessage | None]:
    try:
        document: Any = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return DeadLetterKind.UNRECOGNISED, None
    if not isinstance(document, dict):
        return DeadLetterKind.UNRECOGNISED, None
    try:
        if document.get("kind") == "workflow-failure":
            return DeadLetterKind.WORKFLOW_FAILURE, WorkflowFailure.model_validate(document)
        if document.get("kind") == "stranded":
            return DeadLetterKind.STRANDED, StrandedTask.model_validate(document)
        return DeadLetterKind.UNDELIVERABLE, TaskMessage.model_validate(document)
    except ValidationError:
        return DeadLetterKind.UNRECOGNISED, None


def record_dead_letter(body: str, receive_count: int, *, table: TasksTable, clock: Clock) -> DeadLetterKind:
    """Record one DLQ message on its task. Raises only for store errors worth a redelivery."""
    kind, message = classify(body)
    if message is None:
        logger.error("unrecognised dead letter", extra={"body": body[:MAX_LOGGED_BODY]})
        return kind
    with logger.append_context_keys(taskId=message.task_id):
        try:
            if isinstance(message, WorkflowFailure):
                table.mark_dead_lettered(message.task_id, clock())
                logger.error(
                    "task dead-lettered",
                    extra={"error": message.error, "cause": message.cause, "attempts": message.attempts},
                )
            elif isinstance(message, StrandedTask):
                table.mark_stranded(message.task_id, message.run, message.error, message.cause, clock())
                logger.error(
                    "stranded task dead-lettered",
                    extra={"run": message.run, "rescues": message.rescues, "cause": message.cause},
                )
            else:
                cause = (
                    f"the tasks-queue message was received {receive_count} times without finishing the task"
                )
                table.mark_undeliverable(message.task_id, UNDELIVERABLE_ERROR, cause, clock())
                logger.error("undeliverable task dead-lettered", extra={"receiveCount": receive_count})
        except TransitionRefusedError as refused:
            _refused(kind, refused, table, clock)
    return kind


def _refused(kind: DeadLetterKind, refused: TransitionRefusedError, table: TasksTable, clock: Clock) -> None:
    if (
        kind in (DeadLetterKind.UNDELIVERABLE, DeadLetterKind.STRANDED)
        and refused.current_status == TaskStatus.FAILED
    ):
        table.mark_dead_lettered(refused.task_id, clock())
        return
    logger.warning(
        "dead letter for a task that is not failed; left as it is",
        extra={"currentStatus": refused.current_status, "kind": kind.value},
    )
