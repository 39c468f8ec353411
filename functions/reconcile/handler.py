"""Scheduled sweep: no task left QUEUED or RUNNING without an owner (see ``reconciliation``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.aws import dynamodb_client, lambda_client, sqs_client
from functions.common.clock import utc_now
from functions.common.cold_start import build_during_init, dependencies_factory
from functions.common.dead_letter_queue import DeadLetterQueue
from functions.common.errors import DependencyMisconfiguredError, DependencyUnavailableError
from functions.common.mapping_switch import MappingSwitch
from functions.common.observability import (
    Metric,
    logger,
    metrics,
    report_misconfiguration,
)
from functions.common.tasks_queue import TasksQueue
from functions.common.tasks_table import TasksTable
from functions.reconcile.settings import ReconcileSettings
from functions.usecases.reconciliation import sweep


@dataclass
class Dependencies:
    table: TasksTable
    queue: TasksQueue
    dead_letters: DeadLetterQueue
    older_than: timedelta
    lease: timedelta
    max_rescues: int
    switch: MappingSwitch


@dependencies_factory
def dependencies() -> Dependencies:
    settings = ReconcileSettings.from_env()
    sqs = sqs_client(settings.sdk_budget)
    return Dependencies(
        table=TasksTable(dynamodb_client(settings.sdk_budget), settings.tasks_table),
        queue=TasksQueue(sqs, settings.tasks_queue_url),
        dead_letters=DeadLetterQueue(sqs, settings.dead_letter_queue_url),
        older_than=timedelta(seconds=settings.reconcile_after_seconds),
        lease=timedelta(seconds=settings.lease_seconds),
        max_rescues=settings.max_rescues,
        switch=MappingSwitch(lambda_client(settings.sdk_budget), settings.dispatch_mapping_id),
    )


def dispatch_paused(switch: MappingSwitch) -> bool:
    """Whether the tasks queue is not being consumed now (paused by an operator, stopped by Lambda,
    or its mapping changing): the sweep then sends no stale QUEUED task again, which would only
    pile duplicates into the queue. Unknown counts as running: the sweep sends them again, whose
    duplicates dispatch absorbs, rather than leave one stranded. Lambda stopping dispatch on its
    own is an incident: it alarms."""
    try:
        state = switch.state()
    except DependencyMisconfiguredError as exc:
        report_misconfiguration(exc)
        return False
    except DependencyUnavailableError as exc:
        logger.warning("dispatch state unknown; sweeping as if dispatch runs", extra={"error": str(exc)})
        return False
    if state.stopped_by_lambda:
        report_misconfiguration(
            DependencyMisconfiguredError(
                f"Lambda disabled the dispatch mapping itself ({state.reason}): no task starts until the "
                "cause is fixed and dispatch resumed (ptm resume)"
            )
        )
    return state.holds_messages


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    paused = dispatch_paused(deps.switch)
    result = sweep(
        table=deps.table,
        queue=deps.queue,
        dead_letters=deps.dead_letters,
        clock=utc_now,
        older_than=deps.older_than,
        lease=deps.lease,
        max_rescues=deps.max_rescues,
        dispatch_paused=paused,
    )
    for part, failure in result.failed.items():
        if isinstance(failure, DependencyMisconfiguredError):
            report_misconfiguration(failure)
        else:
            logger.warning(
                "a sweep's part will run again next time", extra={"part": part, "error": str(failure)}
            )
    sent = len(result.reenqueued) + len(result.overdue)
    metrics.add_metric(name=Metric.TASKS_REENQUEUED, unit=MetricUnit.Count, value=sent)
    metrics.add_metric(name=Metric.TASKS_RESCUED, unit=MetricUnit.Count, value=len(result.rescued))
    metrics.add_metric(name=Metric.TASKS_STRANDED, unit=MetricUnit.Count, value=len(result.dead_lettered))
    if sent or result.refused or result.rescued or result.dead_lettered:
        logger.warning(
            "reconciled tasks",
            extra={
                "reenqueued": result.reenqueued,
                "overdue": result.overdue,
                "rescued": result.rescued,
                "deadLettered": result.dead_lettered,
                "refused": result.refused,
            },
        )
    return {
        "dispatchPaused": paused,
        "reenqueued": len(result.reenqueued),
        "overdue": len(result.overdue),
        "rescued": len(result.rescued),
        "deadLettered": len(result.dead_lettered),
        "refused": len(result.refused),
        "failed": {part: str(failure) for part, failure in result.failed.items()},
    }


build_during_init(dependencies)
