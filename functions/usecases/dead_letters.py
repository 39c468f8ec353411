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
from functions.common.flow_control import implied_subjects
from functions.common.limits_table import LimitsTable
from functions.common.models import (
    ExecutionInput,
    LimitWaitExceeded,
    StrandedTask,
    TaskMessage,
    TaskStatus,
    WorkflowFailure,
)
from functions.common.observability import logger
from functions.common.tasks_table import TasksTable
from functions.task_types.registry import DEFAULT_TYPE
from functions.usecases.processing import give_back_slots

UNDELIVERABLE_ERROR = "UndeliverableMessage"
MAX_LOGGED_BODY = 4096


class DeadLetterKind(StrEnum):
    WORKFLOW_FAILURE = "WorkflowFailure"
    STRANDED = "Stranded"
    LIMIT_WAIT = "LimitWaitExceeded"
    UNDELIVERABLE = "Undeliverable"
    UNRECOGNISED = "Unrecognised"


DeadLetter = WorkflowFailure | StrandedTask | LimitWaitExceeded | TaskMessage
_KINDS: dict[object, tuple[DeadLetterKind, type[DeadLetter]]] = {
    "workflow-failure": (DeadLetterKind.WORKFLOW_FAILURE, WorkflowFailure),
    "stranded": (DeadLetterKind.STRANDED, StrandedTask),
    "limit-wait-exceeded": (DeadLetterKind.LIMIT_WAIT, LimitWaitExceeded),
}
"""A message's ``kind`` → what it is; without one, a tasks-queue message that SQS moved here."""


def classify(body: str) -> tuple[DeadLetterKind, DeadLetter | None]:
    try:
        document: Any = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return DeadLetterKind.UNRECOGNISED, None
    if not isinstance(document, dict):
        return DeadLetterKind.UNRECOGNISED, None
    kind, model = _KINDS.get(document.get("kind"), (DeadLetterKind.UNDELIVERABLE, TaskMessage))
    try:
        return kind, model.model_validate(document)
    except ValidationError:
        return DeadLetterKind.UNRECOGNISED, None


def record_dead_letter(
    body: str, receive_count: int, *, table: TasksTable, clock: Clock, limits: LimitsTable | None = None
) -> DeadLetterKind:
    """Record one DLQ message on its task (a failed execution's limit slots given back). Raises
    only for store errors worth a redelivery."""
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
                give_back_slots(limits, message.task_id, message.execution)
            elif isinstance(message, LimitWaitExceeded):
                table.mark_dead_lettered(message.task_id, clock())
                logger.error(
                    "task waited for a limit too long; dead-lettered",
                    extra={"limit": message.limit, "waitedSeconds": message.waited_seconds},
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
        if isinstance(message, StrandedTask | TaskMessage):  # also when a redelivery finds it done
            _give_back_run(limits, table, message.task_id, message.run)
    return kind


def _give_back_run(limits: LimitsTable | None, table: TasksTable, task_id: str, run: int) -> None:
    """A run that ended without its execution's last state (reconcile found its executions dying,
    or its message was never worked): whatever slot it took, given back now rather than when its
    lease ends, once the task has failed (a task still RUNNING under a live execution keeps it).
    Which slots is not in the message: every subject of the task, each only if held."""
    state = table.index.due_states([task_id]).get(task_id) if limits is not None else None
    if state is not None and state.status.is_terminal:  # the dispatcher's read: subjects, no payload
        held = state.limit_subjects or implied_subjects(state.registered_type, DEFAULT_TYPE)
        give_back_slots(limits, task_id, ExecutionInput(slots=held, run=run))


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
