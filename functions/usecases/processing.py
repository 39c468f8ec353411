"""Running one attempt of a task under the claim that keeps duplicates out."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from functions.common.clock import Clock
from functions.common.errors import (
    PermanentTaskError,
    TaskFailedError,
    TransitionRefusedError,
)
from functions.common.flow_control import holder_of
from functions.common.limits_table import LimitsTable
from functions.common.models import (
    ClaimRequest,
    CompleteRequest,
    ExecutionInput,
    ProcessOutcome,
    ProcessRequest,
    Task,
    TaskStatus,
)
from functions.common.observability import logger
from functions.common.tasks_table import TasksTable

Work = Callable[[Task], dict[str, Any]]


def process_task(
    request: ProcessRequest,
    *,
    table: TasksTable,
    work: Work,
    clock: Clock,
    lease: timedelta,
    limits: LimitsTable | None = None,
) -> ProcessOutcome:
    """Claim, work, record. Raises the work's error so the state machine can retry or catch it.

    A task that is finished, cancelled, or claimed by another live execution is skipped:
    Express and SQS are at-least-once, and the duplicate must end quietly.
    """
    now = clock()
    try:
        task = table.claim_for_processing(request.task_id, request.execution_arn, now, now + lease)
    except TransitionRefusedError as refused:
        give_back_if_over(limits, request.execution, refused)
        return _skipped(request.task_id, _log_skip(refused))

    logger.info("processing task", extra={"attempt": task.attempts, "retryCount": request.retry_count})
    try:
        result = work(task)
    except (TaskFailedError, PermanentTaskError) as exc:
        _record_failure(table, request, f"{type(exc).__name__}: {exc}", clock)
        logger.warning("attempt failed", extra={"attempt": task.attempts, "error": type(exc).__name__})
        raise

    return _record_success(
        table,
        request.task_id,
        request.execution_arn,
        result,
        clock(),
        limits=limits,
        execution=request.execution,
    )


def claim_for_function(
    request: ClaimRequest, *, table: TasksTable, clock: Clock, limits: LimitsTable | None = None
) -> dict[str, Any]:
    """A registered type's claim, by the very transition a built-in attempt claims with: the task
    for this execution (QUEUED, or RUNNING under this execution or an expired lease), for the
    type's lease. Refused (finished, cancelled, another execution's live claim): ``claimed`` is
    false, and the execution ends without invoking the function."""
    from functions.task_types.registered import payload_of  # noqa: PLC0415 - registered types only

    now = clock()
    try:
        task = table.claim_for_processing(
            request.task_id, request.execution_arn, now, now + timedelta(seconds=request.lease_seconds)
        )
    except TransitionRefusedError as refused:
        give_back_if_over(limits, request.execution, refused)
        # Every key, so the state's ResultSelector finds each one.
        return {"claimed": False, "status": _log_skip(refused), "run": 0, "attempt": 0, "payload": {}}
    logger.info("claimed for its function", extra={"attempt": task.attempts})
    return {"claimed": True, "run": task.runs, "attempt": task.attempts, "payload": payload_of(task.payload)}


def complete_for_function(
    request: CompleteRequest, *, table: TasksTable, clock: Clock, limits: LimitsTable | None = None
) -> ProcessOutcome:
    """The user's function returned ``request.result``: recorded if this execution still holds
    the claim. A result that is not a JSON object, or is larger than the record keeps, fails the
    task at once (``PermanentTaskError``): no retry would change it."""
    from functions.task_types.registered import RESULT_MAX_BYTES  # noqa: PLC0415 - registered types only

    result = {} if request.result is None else request.result
    if not isinstance(result, dict):
        raise PermanentTaskError(
            f"the function returned a JSON {type(result).__name__}; a task's result is a JSON object"
        )
    size = len(json.dumps(result, separators=(",", ":"), ensure_ascii=False).encode())
    if size > RESULT_MAX_BYTES:
        raise PermanentTaskError(
            f"the function's result is {size} bytes of JSON; the limit is {RESULT_MAX_BYTES}"
        )
    return _record_success(
        table,
        request.task_id,
        request.execution_arn,
        result,
        clock(),
        retries=request.retries,
        limits=limits,
        execution=request.execution,
    )


def give_back_slots(limits: LimitsTable | None, task_id: str, execution: ExecutionInput) -> None:
    """The execution's last state gives back the limit slots the dispatcher took for it (a
    success here, a failure at the monitor). A release that fails raises: the invocation is
    retried (the state machine's transient retrier, SQS's redelivery to the monitor), and the
    retry, refused as the run is over, gives the slots back then (``give_back_if_over``)."""
    if limits is not None and execution.slots:
        limits.release(execution.slots, holder_of(task_id, execution.run))


def give_back_if_over(
    limits: LimitsTable | None, execution: ExecutionInput, refused: TransitionRefusedError
) -> None:
    """A claim refused because the execution's run is over (the task finished or was cancelled,
    or a redrive began a later run): the slots its start took are given back. The dispatcher
    read the task before another execution finished it and gave its slot back, then took the
    slot again for this late start. A claim refused because a live execution of the same run
    holds the task gives nothing back: that slot is the live one's."""
    found = refused.found
    status = found.get("status")
    over = status is None or TaskStatus(str(status)).is_terminal or int(found.get("runs", 1)) > execution.run
    if over:
        give_back_slots(limits, refused.task_id, execution)


def _log_skip(refused: TransitionRefusedError) -> str | None:
    """A claim refused: the duplicate ends quietly, saying why. Returns the task's status."""
    logger.info("skipping task", extra={"reason": str(refused), "currentStatus": refused.current_status})
    return refused.current_status


def _record_success(
    table: TasksTable,
    task_id: str,
    execution_arn: str,
    result: dict[str, Any],
    now: datetime,
    *,
    retries: int = 0,
    limits: LimitsTable | None = None,
    execution: ExecutionInput = ExecutionInput(),  # noqa: B008 - frozen, never mutated
) -> ProcessOutcome:
    """RUNNING → SUCCEEDED if ``execution_arn`` still holds the claim, and its slots given back;
    otherwise the result is discarded (a duplicate or a late holder: the task is someone else's,
    or finished; a retry after a release that failed finds it finished, and gives them back)."""
    try:
        done = table.mark_succeeded(task_id, execution_arn, result, now, retries)
    except TransitionRefusedError as refused:
        logger.warning("result discarded", extra={"reason": str(refused)})
        give_back_if_over(limits, execution, refused)
        return _skipped(task_id, refused.current_status)
    give_back_slots(limits, task_id, execution)
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
