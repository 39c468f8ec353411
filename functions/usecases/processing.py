"""Running one attempt of a task under the claim that keeps duplicates out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from functions.common.clock import Clock
from functions.common.errors import PermanentTaskError, TaskFailedError, TransitionRefusedError
from functions.common.models import ProcessOutcome, ProcessRequest, Task, TaskStatus
from functions.common.observability import logger
from functions.common.tasks_table import TasksTable

Work = Callable[[Task], dict[str, Any]]


def process_task(
    request: ProcessRequest, *, table: TasksTable, work: Work, clock: Clock, lease: timedelta
) -> ProcessOutcome:
    """Claim, work, record. Raises the work's error so the state machine can retry or catch it.

    A task that is finished, cancelled, or claimed by another live execution is skipped:
    Express and SQS are at-least-once, and the duplicate must end quietly.
    """
    now = clock()
    try:
        task = table.claim_for_processing(request.task_id, request.execution_arn, now, now + lease)
    except TransitionRefusedError as refused:
        logger.info("skipping task", extra={"reason": str(refused), "currentStatus": refused.current_status})
        return _skipped(request.task_id, refused.current_status)

    logger.info("processing task", extra={"attempt": task.attempts, "retryCount": request.retry_count})
    try:
        result = work(task)
    except (TaskFailedError, PermanentTaskError) as exc:
        _record_failure(table, request, f"{type(exc).__name__}: {exc}", clock)
        logger.warning("attempt failed", extra={"attempt": task.attempts, "error": type(exc).__name__})
        raise

    try:
        done = table.mark_succeeded(request.task_id, request.execution_arn, result, clock())
    except TransitionRefusedError as refused:
        logger.warning("result discarded", extra={"reason": str(refused)})
        return _skipped(request.task_id, refused.current_status)
    return ProcessOutcome(
        task_id=done.task_id, outcome="SUCCEEDED", status=done.status, attempts=done.attempts
    )


def _record_failure(table: TasksTable, request: ProcessRequest, error: str, clock: Clock) -> None:
    try:
        table.record_attempt_failure(request.task_id, request.execution_arn, error, clock())
    except TransitionRefusedError as refused:
        logger.info("attempt error not recorded", extra={"reason": str(refused)})


def _skipped(task_id: str, status: str | None) -> ProcessOutcome:
    return ProcessOutcome(task_id=task_id, outcome="SKIPPED", status=TaskStatus(status) if status else None)
