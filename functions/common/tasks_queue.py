"""The only module that sends to the tasks queue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from functions.common.aws import aws_errors, translate
from functions.common.errors import DependencyMisconfiguredError
from functions.common.models import message_body

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SQS_BATCH_LIMIT = 10


class TasksQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self.queue_url = queue_url

    def enqueue(self, task_id: str, run: int = 1, delay_seconds: int = 0) -> None:
        """Send the task's message; ``delay_seconds`` (0-900) hides it that long (SQS DelaySeconds)."""
        with aws_errors(f"enqueue task {task_id}"):
            self._client.send_message(
                QueueUrl=self.queue_url, MessageBody=message_body(task_id, run), DelaySeconds=delay_seconds
            )

    def enqueue_many(self, tasks: Sequence[tuple[str, int]]) -> list[str]:
        """Send (task id, run) pairs in batches of ten; returns the ids SQS did not accept this
        time (throttled, or refused entry by entry). A misconfiguration raises instead."""
        refused: list[str] = []
        for start in range(0, len(tasks), SQS_BATCH_LIMIT):
            chunk = tasks[start : start + SQS_BATCH_LIMIT]
            try:
                response = self._client.send_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(index), "MessageBody": message_body(task_id, run)}
                        for index, (task_id, run) in enumerate(chunk)
                    ],
                )
            except (ClientError, BotoCoreError) as exc:
                error = translate(exc, f"enqueue {len(chunk)} task(s)")
                if isinstance(error, DependencyMisconfiguredError):
                    raise error from exc
                refused.extend(task_id for task_id, _ in chunk)
                continue
            refused.extend(chunk[int(entry["Id"])][0] for entry in response.get("Failed", []))
        return refused
