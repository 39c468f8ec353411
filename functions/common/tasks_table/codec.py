"""The tasks table's items: DynamoDB's typed form to and from the models, and the payload item's
body, stored as JSON text or zlib-compressed (docs/DATA_MODEL.md)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from functions.common.models import Task, TaskSummary

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _attr(value: Any) -> Any:
    return _serializer.serialize(value)


def _values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _attr(value) for name, value in values.items()}


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def payload_key(task_id: str, request_hash: str) -> str:
    """The payload item's key: the task and the body it holds (a '#' never occurs in a task id)."""
    return f"{task_id}#payload#{request_hash[:32]}"


PAYLOAD_ATTRIBUTE = "payload"
COMPRESSED_PAYLOAD_ATTRIBUTE = "payloadZ"
COMPRESS_FROM_BYTES = 900
"""From this many bytes of JSON a payload item (its key and attribute names add ~80 bytes)
would cross the first 1 KB write unit, so the body is compressed when that makes it smaller
(DynamoDB's advice for large attribute values: docs/DATA_MODEL.md). Below it compression saves
no write unit and the body stays readable in the console."""


def payload_attributes(payload: Mapping[str, Any]) -> dict[str, str | bytes]:
    """The payload item's body attribute: the JSON text, or its zlib compression when the text is
    ``COMPRESS_FROM_BYTES`` or longer and compressing shrinks it."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    body = text.encode()
    if len(body) >= COMPRESS_FROM_BYTES:
        packed = zlib.compress(body)
        if len(packed) < len(body):
            return {COMPRESSED_PAYLOAD_ATTRIBUTE: packed}
    return {PAYLOAD_ATTRIBUTE: text}


def payload_of(item: Mapping[str, Any]) -> dict[str, Any]:
    """The body held by a payload item, in DynamoDB's typed form as the client returns it."""
    if COMPRESSED_PAYLOAD_ATTRIBUTE in item:
        body: dict[str, Any] = json.loads(zlib.decompress(item[COMPRESSED_PAYLOAD_ATTRIBUTE]["B"]))
        return body
    text: dict[str, Any] = json.loads(item[PAYLOAD_ATTRIBUTE]["S"])
    return text


def task_from_item(item: Mapping[str, Any], payload: dict[str, Any]) -> Task:
    plain = _plain(item)
    if "result" in plain:
        plain["result"] = json.loads(plain["result"])
    plain["attempts"] = int(plain.get("attempts", 0))
    plain["runs"] = int(plain.get("runs", 1))
    return Task.model_validate({**plain, "payload": payload})


def summary_from_item(item: Mapping[str, Any]) -> TaskSummary:
    plain = _plain(item)
    plain["attempts"] = int(plain.get("attempts", 0))
    return TaskSummary.model_validate(plain)


SUMMARY_ATTRIBUTES = (
    "taskId",
    "status",
    "createdAt",
    "updatedAt",
    "attempts",
    "runs",
    "error",
    "executionArn",
    "deadLetteredAt",
    "idempotencyKey",
)
"""What a listing reads of each record (TaskSummary's fields, and ``runs`` for reconcile)."""
