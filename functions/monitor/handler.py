"""Dead-letter queue → task records, logs and metrics, with partial batch responses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.aws import dynamodb_client
from functions.common.clock import utc_now
from functions.common.cold_start import build_during_init, dependencies_factory
from functions.common.limits_table import LimitsTable
from functions.common.observability import Metric, logger, metrics, misconfiguration_reported
from functions.common.tasks_table import TasksTable
from functions.monitor.settings import MonitorSettings
from functions.usecases.dead_letters import record_dead_letter

# A batch whose every record failed is answered with every record in batchItemFailures (the same
# redelivery), not an exception: one poison message is not a function error, so the function's
# Errors alarm means the function itself failed (a crash, a timeout, INIT). docs/RELIABILITY.md.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@dataclass
class Dependencies:
    table: TasksTable
    limits: LimitsTable


@dependencies_factory
def dependencies() -> Dependencies:
    settings = MonitorSettings.from_env()
    return Dependencies(
        table=TasksTable(
            dynamodb_client(settings.sdk_budget), settings.tasks_table, settings.task_retention_seconds
        ),
        limits=LimitsTable(dynamodb_client(settings.sdk_budget), settings.limits_table),
    )


def record_handler(record: SQSRecord) -> None:
    receive_count = int(record.attributes.approximate_receive_count or 1)
    with logger.append_context_keys(messageId=record.message_id), misconfiguration_reported():
        deps = dependencies()
        kind = record_dead_letter(
            record.body, receive_count, table=deps.table, clock=utc_now, limits=deps.limits
        )
    metrics.add_metric(name=Metric(f"DeadLetters{kind.value}"), unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


build_during_init(dependencies)
