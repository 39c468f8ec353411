"""The payload items: a body too large to live inline in its record, written once before the
record under a key that names the body (``codec.payload_key``), read back with it, and given
the record's expiry (docs/contributing/DATA_MODEL.md)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.common.attribute_values import to_attribute
from functions.common.aws import aws_errors, unless_refused
from functions.common.errors import DependencyUnavailableError
from functions.common.models import Task
from functions.common.tasks_table.codec import (
    EXPIRY_ATTRIBUTE,
    absent_or_expired,
    has_inline_payload,
    payload_key,
    payload_of,
    task_from_item,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class PayloadItems:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    def put(self, task: Task, body: dict[str, Any], now: datetime) -> bool:
        """The payload item, put before its record; True when it was already there (its key says
        it holds this very body)."""
        with aws_errors(f"store the payload of task {task.task_id}"):
            written = unless_refused(
                lambda: self._client.put_item(
                    TableName=self.table_name,
                    Item={"taskId": to_attribute(payload_key(task.task_id, task.request_hash)), **body},
                    **absent_or_expired(now),
                )
            )
        return written is None

    def task(self, item: Mapping[str, Any], *, consistent: bool) -> Task:
        """The record as a Task, with its payload: inline, or read from the payload item. An
        eventually consistent read that misses (the payload was written just before the record)
        is read again strongly."""
        if has_inline_payload(item):
            return task_from_item(item, payload_of(item))
        task_id, request_hash = str(item["taskId"]["S"]), str(item["requestHash"]["S"])
        key = {"taskId": to_attribute(payload_key(task_id, request_hash))}
        for strongly in (consistent, True):
            with aws_errors(f"read the payload of task {task_id}"):
                found = self._client.get_item(
                    TableName=self.table_name, Key=key, ConsistentRead=strongly
                ).get("Item")
            if found:
                return task_from_item(item, payload_of(found))
            if strongly:
                break
        raise DependencyUnavailableError(f"task {task_id}: its payload item is missing")

    def set_expiry(self, record: Mapping[str, Any], *, clear: bool = False) -> None:
        """Give the payload item of ``record`` (typed, with ``requestHash``) the record's expiry,
        or take its expiry away (``clear``). A missing payload item is left alone."""
        expiry = record.get(EXPIRY_ATTRIBUTE)
        if "requestHash" not in record or has_inline_payload(record) or (expiry is None and not clear):
            return
        task_id = str(record["taskId"]["S"])
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {"taskId": to_attribute(payload_key(task_id, str(record["requestHash"]["S"])))},
            "ConditionExpression": "attribute_exists(taskId)",
            "ExpressionAttributeNames": {"#expiry": EXPIRY_ATTRIBUTE},
        }
        if clear:
            arguments["UpdateExpression"] = "REMOVE #expiry"
        else:
            arguments["UpdateExpression"] = "SET #expiry = :expiry"
            arguments["ExpressionAttributeValues"] = {":expiry": expiry}
        with aws_errors(f"set the expiry of the payload of task {task_id}"):
            unless_refused(lambda: self._client.update_item(**arguments))
