"""Scheduled sweep: re-enqueue tasks left QUEUED without a message (see ``reconciliation``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.aws import dynamodb_client, sqs_client
from functions.common.clock import utc_now
from functions.common.cold_start import init_complete
from functions.common.observability import logger, metrics, misconfiguration_reported
from functions.common.reconciliation import reenqueue_stale
from functions.common.tasks_queue import TasksQueue
from functions.common.tasks_table import TasksTable
from functions.reconcile.settings import ReconcileSettings


@dataclass
class Dependencies:
    table: TasksTable
    queue: TasksQueue
    older_than: timedelta


@cache
def dependencies() -> Dependencies:
    """Built once per execution environment, on first use (importing builds nothing)."""
    settings = ReconcileSettings.from_env()
    deps = Dependencies(
        table=TasksTable(dynamodb_client(), settings.tasks_table),
        queue=TasksQueue(sqs_client(), settings.tasks_queue_url),
        older_than=timedelta(seconds=settings.reconcile_after_seconds),
    )
    init_complete()
    return deps


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    with misconfiguration_reported():
        reenqueued, refused = reenqueue_stale(
            table=deps.table, queue=deps.queue, clock=utc_now, older_than=deps.older_than
        )
    metrics.add_metric(name="TasksReenqueued", unit=MetricUnit.Count, value=len(reenqueued))
    if reenqueued or refused:
        logger.warning("re-enqueued stale tasks", extra={"reenqueued": reenqueued, "refused": refused})
    return {"reenqueued": len(reenqueued), "refused": len(refused)}
