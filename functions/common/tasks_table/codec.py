"""The tasks table's items: DynamoDB's typed form to and from the models, and the payload item's
body, stored as JSON text or zlib-compressed (docs/contributing/DATA_MODEL.md)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from functions.common import json_text
from functions.common.attribute_values import plain, to_attribute, typed
from functions.common.clock import iso
from functions.common.models import Task, TaskStatus, TaskSummary
from functions.common.status_shards import (
    DUE_SHARD_ATTRIBUTE,
    SHARD_ATTRIBUTE,
    due_shard,
    phase_shard,
    shard_of,
)


def payload_key(task_id: str, request_hash: str) -> str:
    """The payload item's key: the task and the body it holds (a '#' never occurs in a task id)."""
    return f"{task_id}#payload#{request_hash[:32]}"


PAYLOAD_ATTRIBUTE = "payload"
COMPRESSED_PAYLOAD_ATTRIBUTE = "payloadZ"
COMPRESS_FROM_BYTES = 900
"""From this many bytes of JSON a payload item (its key and attribute names add ~80 bytes)
would cross the first 1 KB write unit, so the body is compressed when that makes it smaller
(DynamoDB's advice for large attribute values: docs/contributing/DATA_MODEL.md). Below it compression saves
no write unit and the body stays readable in the console."""


def payload_attributes(payload: Mapping[str, Any]) -> dict[str, str | bytes]:
    """The payload item's body attribute: the JSON text, or its zlib compression when the text is
    ``COMPRESS_FROM_BYTES`` or longer and compressing shrinks it."""
    text = json_text.dumps(payload)
    body = text.encode()
    if len(body) >= COMPRESS_FROM_BYTES:
        packed = zlib.compress(body)
        if len(packed) < len(body):
            return {COMPRESSED_PAYLOAD_ATTRIBUTE: packed}
    return {PAYLOAD_ATTRIBUTE: text}


def payload_of(item: Mapping[str, Any]) -> dict[str, Any]:
    """The body held by a payload item or an inline record, in DynamoDB's typed form as the
    client returns it."""
    if COMPRESSED_PAYLOAD_ATTRIBUTE in item:
        body: dict[str, Any] = json_text.parse(zlib.decompress(item[COMPRESSED_PAYLOAD_ATTRIBUTE]["B"]))
        return body
    text: dict[str, Any] = json_text.parse(item[PAYLOAD_ATTRIBUTE]["S"])
    return text


WRITE_UNIT_BYTES = 1024
"""DynamoDB bills a write per started 1 KB of the item (the larger of before and after)."""
INLINE_RESERVE_BYTES = 300
"""What a record gains after it is created, while its writes should stay in one unit: the
claim's ``executionArn`` (an Express execution's ARN, ~150 B) and lease, a failed attempt's
``lastError`` or the result (``mark_succeeded`` removes the one and sets the other). Checked
in tests/integration/test_data_model.py against the records a 1 KiB body's task goes through."""


def item_size(item: Mapping[str, Any]) -> int:
    """DynamoDB's item size, in DynamoDB's typed form: attribute name bytes plus value bytes."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind in {"S", "B"}:
        return len(inner if isinstance(inner, bytes) else str(inner).encode())
    if kind == "N":
        digits = Decimal(str(inner)).as_tuple().digits
        return (len(digits) + 1) // 2 + 1
    if kind in {"BOOL", "NULL"}:
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in inner)
    return len(json.dumps(inner))


def fits_inline(record: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    """Whether a new record (typed) can hold its stored body (typed) and still be written in
    one unit for the rest of its life: then the body lives in the record, and the task has no
    payload item (one write, one expiry update and one read fewer)."""
    return item_size({**record, **body}) + INLINE_RESERVE_BYTES <= WRITE_UNIT_BYTES


def has_inline_payload(item: Mapping[str, Any]) -> bool:
    return PAYLOAD_ATTRIBUTE in item or COMPRESSED_PAYLOAD_ATTRIBUTE in item


EXPIRY_ATTRIBUTE = "expiresAt"
"""The table's TTL attribute (epoch seconds), on a finished task's record and on its payload item.
DynamoDB deletes an item some time after it (typically within two days); until then every read
here treats the item as gone (``expired``)."""


def expiry_of(item: Mapping[str, Any]) -> int | None:
    """An item's TTL in epoch seconds, in DynamoDB's typed form as the client returns it."""
    value = item.get(EXPIRY_ATTRIBUTE)
    return None if value is None else int(value["N"])


def expired(item: Mapping[str, Any], now: datetime) -> bool:
    """Past its expiry: DynamoDB may not have deleted it yet, but it is gone."""
    expiry = expiry_of(item)
    return expiry is not None and expiry <= now.timestamp()


def absent_or_expired(now: datetime) -> dict[str, Any]:
    """A put's condition: no item under the key, or only one past its expiry (gone)."""
    return {
        "ConditionExpression": "attribute_not_exists(taskId) OR #expiry <= :now",
        "ExpressionAttributeNames": {"#expiry": EXPIRY_ATTRIBUTE},
        "ExpressionAttributeValues": {":now": to_attribute(int(now.timestamp()))},
    }


def _rfc3339(epoch_seconds: Any) -> str:
    """The TTL's epoch seconds in the form of every other time on a record."""
    return iso(datetime.fromtimestamp(int(epoch_seconds), UTC))


def _model_fields(plain: dict[str, Any]) -> dict[str, Any]:
    plain.pop(PAYLOAD_ATTRIBUTE, None)  # an inline body: task_from_item decodes it
    plain.pop(COMPRESSED_PAYLOAD_ATTRIBUTE, None)
    plain["attempts"] = int(plain.get("attempts", 0))
    if EXPIRY_ATTRIBUTE in plain:
        plain[EXPIRY_ATTRIBUTE] = _rfc3339(plain[EXPIRY_ATTRIBUTE])
    return plain


def new_record(task: Task) -> dict[str, Any]:
    """A new task's record (typed), without its body."""
    item: dict[str, Any] = {
        "taskId": task.task_id,
        "status": task.status.value,
        SHARD_ATTRIBUTE: phase_shard(task.status.value, shard_of(task.task_id)),
        "attempts": 0,
        "runs": 1,
        "createdAt": task.created_at,
        "updatedAt": task.updated_at,
        "requestHash": task.request_hash,
    }
    if task.idempotency_key is not None:
        item["idempotencyKey"] = task.idempotency_key
    if task.registered_type is not None:
        item[REGISTERED_TYPE_ATTRIBUTE] = task.registered_type
    if task.concurrency_key is not None:
        item[CONCURRENCY_KEY_ATTRIBUTE] = task.concurrency_key
    if task.limit_subjects:
        item[LIMIT_SUBJECTS_ATTRIBUTE] = list(task.limit_subjects)
    if task.schedule is not None and task.scheduled_time is not None:
        item[SCHEDULE_ATTRIBUTE] = task.schedule
        item[SCHEDULED_TIME_ATTRIBUTE] = task.scheduled_time
    if task.run_at is not None:
        item["runAt"] = task.run_at
        if task.status is TaskStatus.SCHEDULED:  # the sparse byRunAt index's key, while it waits
            item[DUE_SHARD_ATTRIBUTE] = due_shard(shard_of(task.task_id))
    return typed(item)


def task_from_item(item: Mapping[str, Any], payload: dict[str, Any]) -> Task:
    fields = _model_fields(plain(item))
    if "result" in fields:
        fields["result"] = json.loads(fields["result"])
    fields["runs"] = int(fields.get("runs", 1))
    return Task.model_validate({**fields, "payload": payload})


def summary_from_item(item: Mapping[str, Any]) -> TaskSummary:
    return TaskSummary.model_validate(_model_fields(plain(item)))


REGISTERED_TYPE_ATTRIBUTE = "registeredType"
"""A registered type's task: the type's name, which the dispatcher reads with the status."""
CONCURRENCY_KEY_ATTRIBUTE = "concurrencyKey"
LIMIT_SUBJECTS_ATTRIBUTE = "limitSubjects"
"""What the task is subject to (``type:…``, ``host:…``, ``key:…``): read with the status."""
WAITING_FOR_ATTRIBUTE = "waitingFor"
"""``{limit, since}`` while a limit holds a QUEUED task back: written when it starts waiting."""
SCHEDULE_ATTRIBUTE = "schedule"
SCHEDULED_TIME_ATTRIBUTE = "scheduledTime"
"""A task a recurring schedule submitted: the schedule's name and the firing's scheduled time
(the keys of the sparse bySchedule index)."""

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
    "runAt",
    SCHEDULE_ATTRIBUTE,
    SCHEDULED_TIME_ATTRIBUTE,
    EXPIRY_ATTRIBUTE,
)
"""What a listing reads of each record (TaskSummary's fields, and ``runs`` for reconcile)."""
