"""Lambda's SQS event-source mapping, one poll at a time.

Receive up to ``batch_size`` messages, invoke the function through moto's Lambda API with the
exact event shape Lambda builds, then honour the partial batch response as Lambda does:
delete the records that succeeded; leave the failed ones in flight so they reappear after
the visibility timeout, counting towards the queue's ``maxReceiveCount`` redrive. A function
error (the handler raised) fails the whole batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

Invoke = Callable[[str, dict[str, Any]], tuple[Any, str | None]]
"""Invoke a function by name: (response payload, None) or (error payload, error type)."""


def sqs_event(messages: Sequence[MessageTypeDef], queue_arn: str, region: str) -> dict[str, Any]:
    """The ``Records`` event Lambda delivers for a batch of SQS messages."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


@dataclass(frozen=True)
class PollResult:
    received: int
    deleted: int
    failed: int
    function_error: str | None = None


class SqsEventSource:
    def __init__(
        self,
        *,
        sqs: SQSClient,
        invoke: Invoke,
        queue_url: str,
        queue_arn: str,
        function_name: str,
        region: str,
        batch_size: int = 10,
        failed_visibility_seconds: int | None = None,
    ) -> None:
        """``failed_visibility_seconds``: if set, failed records become visible again after this
        many seconds instead of the queue's visibility timeout (a local-time speed-up)."""
        self._sqs = sqs
        self._invoke = invoke
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.function_name = function_name
        self.region = region
        self.batch_size = batch_size
        self.failed_visibility_seconds = failed_visibility_seconds

    def poll_once(self, wait_seconds: int = 0, enabled: Callable[[], bool] | None = None) -> PollResult:
        """One receive and one invocation. ``enabled``: the mapping's state, read again once the
        receive returns; a long poll that outlived a pause hands its messages back unprocessed,
        as Lambda's pollers have stopped once the mapping is Disabled (each such message's
        receive count has gone up by one, which Lambda's would not)."""
        response = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return PollResult(received=0, deleted=0, failed=0)
        if enabled is not None and not enabled():
            self._hand_back(messages)
            return PollResult(received=0, deleted=0, failed=0)
        body, error = self._invoke(self.function_name, sqs_event(messages, self.queue_arn, self.region))
        if error is not None:
            self._release(messages)
            return PollResult(received=len(messages), deleted=0, failed=len(messages), function_error=error)
        failures = body.get("batchItemFailures", []) if isinstance(body, dict) else []
        failed_ids = {item["itemIdentifier"] for item in failures}
        succeeded = [message for message in messages if message["MessageId"] not in failed_ids]
        failed = [message for message in messages if message["MessageId"] in failed_ids]
        self._delete(succeeded)
        self._release(failed)
        return PollResult(received=len(messages), deleted=len(succeeded), failed=len(failed))

    def _delete(self, messages: Sequence[MessageTypeDef]) -> None:
        if messages:
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(messages)
                ],
            )

    def _hand_back(self, messages: Sequence[MessageTypeDef]) -> None:
        self._sqs.change_message_visibility_batch(
            QueueUrl=self.queue_url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 0}
                for index, message in enumerate(messages)
            ],
        )

    def _release(self, messages: Sequence[MessageTypeDef]) -> None:
        if messages and self.failed_visibility_seconds is not None:
            self._sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {
                        "Id": str(index),
                        "ReceiptHandle": message["ReceiptHandle"],
                        "VisibilityTimeout": self.failed_visibility_seconds,
                    }
                    for index, message in enumerate(messages)
                ],
            )
