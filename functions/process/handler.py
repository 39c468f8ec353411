"""One attempt of a task, invoked by the state machine's ``ProcessTask`` state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.aws import answer_by, dynamodb_client, secretsmanager_client
from functions.common.clock import utc_now
from functions.common.cold_start import build_during_init, dependencies_factory
from functions.common.config import INIT_READ_SECONDS, SdkBudget
from functions.common.errors import DependencyUnavailableError, PermanentTaskError, TaskFailedError
from functions.common.limits_table import LimitsTable
from functions.common.models import ClaimRequest, CompleteRequest, ProcessRequest
from functions.common.observability import Metric, logger, metrics, misconfiguration_reported
from functions.common.signing import SigningKeys
from functions.common.tasks_table import TasksTable
from functions.process.settings import ProcessSettings
from functions.task_types import TASK_TYPES
from functions.task_types.registry import TaskEnvironment, TaskWork
from functions.usecases.processing import Work, claim_for_function, complete_for_function, process_task


@dataclass
class Dependencies:
    table: TasksTable
    environment: TaskEnvironment
    lease: timedelta
    limits: LimitsTable
    work: TaskWork = TASK_TYPES.run
    """One attempt of a task by its type (the registry; a test may substitute its own)."""


def _signing_keys(settings: ProcessSettings) -> Callable[[], SigningKeys] | None:
    """Where webhooks deliver: the signing secret's keys, read now (INIT) and cached. A secret
    that is missing, unreadable or malformed fails here, loudly; a busy Secrets Manager only
    postpones the read to the first delivery."""
    if settings.webhook_signing_secret_id is None:
        return None
    # Imported only where webhooks deliver: Powertools' parameters stay off the other cold starts.
    from functions.common.signing_secret import SigningSecret  # noqa: PLC0415

    # A small read, also later, before a delivery: the fast budget, not the background one (up
    # to 55 s, beyond INIT's 10 s limit).
    secret = SigningSecret(secretsmanager_client(SdkBudget.INTERACTIVE), settings.webhook_signing_secret_id)
    try:
        with answer_by(INIT_READ_SECONDS):
            secret.keys()
    except DependencyUnavailableError as exc:
        logger.warning("the webhook signing secret is read at the first delivery", extra={"error": str(exc)})
    return secret.keys


@dependencies_factory
def dependencies() -> Dependencies:
    settings = ProcessSettings.from_env()
    return Dependencies(
        table=TasksTable(
            dynamodb_client(settings.sdk_budget), settings.tasks_table, settings.task_retention_seconds
        ),
        environment=settings.task_environment(
            failure_rate=settings.failure_rate,
            failure_seed=settings.failure_seed,
            signing_keys=_signing_keys(settings),
        ),
        lease=timedelta(seconds=settings.lease_seconds),
        limits=LimitsTable(dynamodb_client(settings.sdk_budget), settings.limits_table),
    )


@logger.inject_lambda_context(correlation_id_path="taskId", clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    action = event.get("action") if isinstance(event, dict) else None
    if action is not None:
        return _for_registered_type(event)
    request = ProcessRequest.model_validate(event)
    logger.append_keys(taskId=request.task_id)
    deps = dependencies()
    remaining = lambda: context.get_remaining_time_in_millis() / 1000  # noqa: E731
    work: Work = lambda task: deps.work(task, deps.environment, remaining)  # noqa: E731
    try:
        with misconfiguration_reported():
            outcome = process_task(
                request, table=deps.table, work=work, clock=utc_now, lease=deps.lease, limits=deps.limits
            )
    except (TaskFailedError, PermanentTaskError) as exc:
        # The task's own failure, as declared: its type and message say what failed. Lambda adds
        # the traceback to the error the workflow logs in every TaskFailed event and MarkFailed
        # stores as the cause (~1 KB through the task type's frames); raised from here, it
        # holds this function's frames only. A crash (any other exception) keeps its traceback.
        raise exc.with_traceback(None) from None
    if outcome.outcome != "SUCCEEDED":
        metrics.add_metric(name=Metric.DUPLICATES_SKIPPED, unit=MetricUnit.Count, value=1)
    return outcome.model_dump(mode="json", by_alias=True)


def _for_registered_type(event: dict[str, Any]) -> dict[str, Any]:
    """A registered type's claim before its function runs, or its result after: the same
    transitions as a built-in attempt's (the user's function runs in its own Lambda function)."""
    deps = dependencies()
    with misconfiguration_reported():
        if event["action"] == "claim":
            claim = ClaimRequest.model_validate(event)
            logger.append_keys(taskId=claim.task_id)
            claimed = claim_for_function(claim, table=deps.table, clock=utc_now, limits=deps.limits)
            if not claimed["claimed"]:
                metrics.add_metric(name=Metric.DUPLICATES_SKIPPED, unit=MetricUnit.Count, value=1)
            return claimed
        complete = CompleteRequest.model_validate(event)
        logger.append_keys(taskId=complete.task_id)
        try:
            outcome = complete_for_function(complete, table=deps.table, clock=utc_now, limits=deps.limits)
        except PermanentTaskError as exc:
            raise exc.with_traceback(None) from None
    return outcome.model_dump(mode="json", by_alias=True)


build_during_init(dependencies)
