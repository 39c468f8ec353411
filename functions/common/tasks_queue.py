"""The only module that sends to the tasks queue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from functions.common.errors import DependencyUnavailableError
from functions.common.models import TaskMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SQS_BATCH_LIMIT = 10


class TasksQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self.queue_url = queue_url

    def enqueue(self, task_id: str) -> None:
        try:
            self._client.send_message(
                QueueUrl=self.queue_url,
                MessageBody=TaskMessage(task_id=task_id).model_dump_json(by_alias=True),
            )
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailableError(f"enqueue task {task_id}: {exc}") from exc

    def enqueue_many(self, task_ids: Sequence[str]) -> list[str]:
        """Send in batches of ten; returns the ids SQS did not accept."""
        refused: list[str] = []
        for start in range(0, len(task_ids), SQS_BATCH_LIMIT):
            chunk = task_ids[start : start + SQS_BATCH_LIMIT]
            try:
                response = self._client.send_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {
                            "Id": str(index),
                            "MessageBody": TaskMessage(task_id=task_id).model_dump_json(by_alias=True),
                        }
                        for index, task_id in enumerate(chunk)
                    ],
                )
            except (ClientError, BotoCoreError):
                refused.extend(chunk)
                continue
            refused.extend(chunk[int(entry["Id"])] for entry in response.get("Failed", []))
        return refused
