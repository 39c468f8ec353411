"""Tasks queue → one Express execution per message, with partial batch responses; a recurring
schedule's firing (``{"schedule", "scheduledTime"}``) → its task, submitted (functions/usecases/firing.py).

The batch's task statuses are read once (BatchGetItem) before the records are handled, so a
CANCELLED or finished task never starts an execution, and a SCHEDULED one starts only once due
(promoted to QUEUED; an early message is sent back with the seconds left).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.aws import dynamodb_client, sfn_client, sqs_client
from functions.common.clock import utc_now
from functions.common.cold_start import build_during_init, dependencies_factory
from functions.common.dead_letter_queue import DeadLetterQueue
from functions.common.errors import StartExecutionThrottledError
from functions.common.limits_table import LimitsTable
from functions.common.observability import Metric, logger, metrics, misconfiguration_reported
from functions.common.schedules_table import SchedulesTable
from functions.common.tasks_queue import TasksQueue
from functions.common.tasks_table import TaskReadiness, TasksTable
from functions.common.workflow import Workflow
from functions.dispatch.settings import DispatchSettings
from functions.task_types.registry import DEFAULT_TYPE, TaskEnvironment
from functions.usecases.dispatching import Dispatcher, Limiter, parse_message
from functions.usecases.limiting import LimitsCache

# A batch whose every record failed is answered with every record in batchItemFailures (the same
# redelivery), not an exception: one poison message is not a function error, so the function's
# Errors alarm means the function itself failed (a crash, a timeout, INIT). docs/RELIABILITY.md.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@dataclass
class Dependencies:
    dispatcher: Dispatcher
    schedules: SchedulesTable
    environment: TaskEnvironment


@dependencies_factory
def dependencies() -> Dependencies:
    settings = DispatchSettings.from_env()
    limits = LimitsTable(dynamodb_client(settings.sdk_budget), settings.limits_table)
    return Dependencies(
        Dispatcher(
            workflow=Workflow(sfn_client(settings.sdk_budget), settings.state_machine_arn),
            table=TasksTable(dynamodb_client(settings.sdk_budget), settings.tasks_table),
            queue=TasksQueue(sqs_client(settings.sdk_budget), settings.tasks_queue_url),
            limiter=Limiter(
                limits,
                LimitsCache(limits, settings.limits_cache_seconds),
                settings.lease_seconds,
                settings.limit_wait_max_seconds,
                DeadLetterQueue(sqs_client(settings.sdk_budget), settings.dead_letter_queue_url),
                DEFAULT_TYPE,
            ),
        ),
        SchedulesTable(dynamodb_client(settings.sdk_budget), settings.schedules_table),
        settings.task_environment(),
    )


def _task_ids(event: dict[str, Any]) -> list[str]:
    ids = []
    for record in event.get("Records", []):
        try:
            body = json.loads(record.get("body", ""))
        except (json.JSONDecodeError, TypeError):
            continue
        if isinstance(body, dict) and isinstance(body.get("taskId"), str):
            ids.append(body["taskId"])
    return ids


def _is_firing(body: str) -> bool:
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, TypeError):
        return False
    return isinstance(document, dict) and "schedule" in document and "taskId" not in document


def fire_record(record: SQSRecord) -> None:
    """A recurring schedule's firing: its one task, submitted (or nothing, and why)."""
    from functions.usecases.firing import FiringMessage, fire  # noqa: PLC0415 - firings only

    message = FiringMessage.model_validate_json(record.body)
    deps = dependencies()
    with logger.append_context_keys(schedule=message.schedule), misconfiguration_reported():
        outcome = fire(
            message,
            schedules=deps.schedules,
            table=deps.dispatcher.table,
            queue=deps.dispatcher.queue,
            environment=deps.environment,
            clock=utc_now,
        )
        details = {"scheduledTime": outcome.scheduled_time, "taskId": outcome.task_id}
        if outcome.skipped is not None:
            metrics.add_metric(name=Metric.SCHEDULE_FIRINGS_SKIPPED, unit=MetricUnit.Count, value=1)
            logger.info("firing submitted nothing", extra={**details, "reason": outcome.skipped})
        elif outcome.submitted:
            metrics.add_metric(name=Metric.TASKS_SUBMITTED, unit=MetricUnit.Count, value=1)
            logger.info("firing submitted its task", extra=details)
        else:
            logger.info("firing delivered again; its task exists", extra=details)


def record_handler(record: SQSRecord, states: Mapping[str, TaskReadiness]) -> None:
    if _is_firing(record.body):
        fire_record(record)
        return
    message = parse_message(record.body)
    receive_count = int(record.attributes.approximate_receive_count or 1)
    with logger.append_context_keys(taskId=message.task_id), misconfiguration_reported():
        try:
            dispatch = dependencies().dispatcher.dispatch(
                message,
                receive_count,
                states.get(message.task_id),
                utc_now(),
                record.attributes.aws_trace_header,
            )
        except StartExecutionThrottledError:
            metrics.add_metric(name=Metric.START_THROTTLED, unit=MetricUnit.Count, value=1)
            logger.warning("StartExecution throttled; the message will come back")
            raise
        if dispatch.failed_waiting:
            metrics.add_metric(name=Metric.LIMIT_WAITS_EXCEEDED, unit=MetricUnit.Count, value=1)
            logger.error(
                "waited for a limit too long; failed and dead-lettered", extra={"limit": dispatch.waiting_for}
            )
        elif dispatch.waiting_for is not None:
            metrics.add_metric(name=Metric.TASKS_DEFERRED_BY_LIMIT, unit=MetricUnit.Count, value=1)
            logger.info(
                "held back by a limit; sent again",
                extra={"limit": dispatch.waiting_for, "delaySeconds": dispatch.deferred_seconds},
            )
        elif dispatch.deferred_seconds is not None:
            logger.info("not due yet; sent again", extra={"delaySeconds": dispatch.deferred_seconds})
        elif dispatch.skipped_status is not None:
            metrics.add_metric(name=Metric.DISPATCHES_SKIPPED, unit=MetricUnit.Count, value=1)
            logger.info("not dispatched", extra={"status": dispatch.skipped_status})
        else:
            logger.info(
                "execution started",
                extra={
                    "executionArn": dispatch.execution_arn,
                    "promoted": dispatch.promoted,
                    "slots": dispatch.slots,
                },
            )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    with misconfiguration_reported():
        states = dependencies().dispatcher.table.index.due_states(_task_ids(event))
    return process_partial_response(
        event=event,
        record_handler=partial(record_handler, states=states),
        processor=processor,
        context=context,
    )


build_during_init(dependencies)
