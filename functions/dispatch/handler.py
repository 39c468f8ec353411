"""Tasks queue → one Express execution per message, with partial batch responses."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.aws import sfn_client
from functions.common.config import DispatchSettings
from functions.common.dispatching import dispatch_message
from functions.common.observability import logger, metrics
from functions.common.workflow import Workflow

settings = DispatchSettings.from_env()
workflow = Workflow(sfn_client(), settings.state_machine_arn)
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    receive_count = int(record.attributes.approximate_receive_count or 1)
    dispatch = dispatch_message(record.body, receive_count, workflow=workflow)
    logger.append_keys(taskId=dispatch.task_id)
    if dispatch.execution_arn is None:
        logger.info("execution already started", extra={"executionName": dispatch.execution_name})
        return
    metrics.add_metric(name="ExecutionsStarted", unit=MetricUnit.Count, value=1)
    logger.info("execution started", extra={"executionArn": dispatch.execution_arn})


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
