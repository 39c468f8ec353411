"""One attempt of a task, invoked by the state machine's ``ProcessTask`` state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.aws import dynamodb_client
from functions.common.clock import utc_now
from functions.common.cold_start import build_during_init, dependencies_factory
from functions.common.errors import PermanentTaskError, TaskFailedError
from functions.common.models import ProcessRequest
from functions.common.observability import Metric, logger, metrics, misconfiguration_reported
from functions.common.tasks_table import TasksTable
from functions.process.settings import ProcessSettings
from functions.task_types import TASK_TYPES
from functions.task_types.registry import TaskEnvironment, TaskWork
from functions.usecases.processing import Work, process_task


@dataclass
class Dependencies:
    table: TasksTable
    environment: TaskEnvironment
    lease: timedelta
    work: TaskWork = TASK_TYPES.run
    """One attempt of a task by its type (the registry; a test may substitute its own)."""


@dependencies_factory
def dependencies() -> Dependencies:
    settings = ProcessSettings.from_env()
    return Dependencies(
        table=TasksTable(dynamodb_client(settings.sdk_budget), settings.tasks_table),
        environment=settings.task_environment(
            failure_rate=settings.failure_rate, failure_seed=settings.failure_seed
        ),
        lease=timedelta(seconds=settings.lease_seconds),
    )


@logger.inject_lambda_context(correlation_id_path="taskId", clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = ProcessRequest.model_validate(event)
    logger.append_keys(taskId=request.task_id)
    deps = dependencies()
    remaining = lambda: context.get_remaining_time_in_millis() / 1000  # noqa: E731
    work: Work = lambda task: deps.work(task, deps.environment, remaining)  # noqa: E731
    try:
        with misconfiguration_reported():
            outcome = process_task(request, table=deps.table, work=work, clock=utc_now, lease=deps.lease)
    except (TaskFailedError, PermanentTaskError) as exc:
        metrics.add_metric(name=Metric.ATTEMPTS_FAILED, unit=MetricUnit.Count, value=1)
        metrics.add_metadata(key="error", value=type(exc).__name__)
        raise
    metric = Metric.TASKS_SUCCEEDED if outcome.outcome == "SUCCEEDED" else Metric.DUPLICATES_SKIPPED
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    return outcome.model_dump(mode="json", by_alias=True)


build_during_init(dependencies)
