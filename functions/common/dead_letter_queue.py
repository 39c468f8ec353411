"""The only module that sends to the dead-letter queue (the workflow's SendToDlq state aside)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.common.aws import aws_errors
from functions.common.models import LimitWaitExceeded, StrandedTask

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class DeadLetterQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self.queue_url = queue_url

    def send_stranded(self, stranded: StrandedTask | LimitWaitExceeded) -> None:
        """A task reconcile found stranded, or one the dispatcher failed after its wait for a limit."""
        with aws_errors(f"dead-letter task {stranded.task_id}"):
            self._client.send_message(
                QueueUrl=self.queue_url, MessageBody=stranded.model_dump_json(by_alias=True)
            )
