"""Finished tasks expire (docs/contributing/DATA_MODEL.md, Retention): the record and its payload item carry
DynamoDB's TTL attribute from the moment the task finishes, the payload item never expiring
before its record; a redrive takes the expiry away; and an item DynamoDB has not yet deleted is
gone to every read and transition once its time has passed."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.common.attribute_values import plain
from functions.common.models import TaskStatus
from functions.common.tasks_table import EXPIRY_ATTRIBUTE, TasksTable, payload_key
from infra.names import Function
from infra.stage_config import DAY_SECONDS
from tests.fixtures.stack import CONFIG, Stack
from tests.fixtures.tasks import bulky_payload

RETENTION = CONFIG.retention_days * DAY_SECONDS
BODY = bulky_payload()
"""Too large to live inline: these tasks have a payload item, whose expiry follows the record's."""


def _items(stack: Stack, task_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The record and its payload item, as stored."""
    dynamodb, table = stack.clients.dynamodb, stack.resources.table
    record = plain(dynamodb.get_item(TableName=table, Key={"taskId": {"S": task_id}})["Item"])
    key = payload_key(task_id, str(record["requestHash"]))
    payload = plain(dynamodb.get_item(TableName=table, Key={"taskId": {"S": key}})["Item"])
    return record, payload


def _expire_now(stack: Stack, task_id: str, *, payload_too: bool = True) -> None:
    """Time passes: the expiry is behind us, DynamoDB has not deleted the items yet."""
    record = plain(
        stack.clients.dynamodb.get_item(TableName=stack.resources.table, Key={"taskId": {"S": task_id}})[
            "Item"
        ]
    )
    keys = [task_id, payload_key(task_id, str(record["requestHash"]))][: 2 if payload_too else 1]
    for key in keys:
        stack.clients.dynamodb.update_item(
            TableName=stack.resources.table,
            Key={"taskId": {"S": key}},
            UpdateExpression="SET #e = :past",
            ExpressionAttributeNames={"#e": EXPIRY_ATTRIBUTE},
            ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
        )


def _succeed(stack: Stack, payload: dict[str, Any] | None = None) -> str:
    task_id = stack.submit(payload or BODY)
    stack.wait_for_execution(stack.start_execution(task_id, f"ok-{task_id}"))
    return task_id


def _fail(stack: Stack) -> str:
    task_id = stack.submit({"simulate": {"permanent": True}, **BODY})
    stack.wait_for_execution(stack.start_execution(task_id, f"fail-{task_id}"))
    stack.clients.sqs.purge_queue(QueueUrl=stack.resources.tasks_queue_url)
    return task_id


def test_a_finished_task_and_its_payload_expire_together_after_the_retention(stack: Stack) -> None:
    before = int(time.time())
    succeeded = _succeed(stack, {"big": "x" * 4000, **BODY})  # a compressed payload item
    cancelled = stack.submit(bulky_payload(2))
    assert stack.api("DELETE", f"/tasks/{cancelled}").status == 200

    for task_id in (succeeded, cancelled):
        record, payload = _items(stack, task_id)
        assert before + RETENTION <= record[EXPIRY_ATTRIBUTE] <= int(time.time()) + RETENTION
        assert payload[EXPIRY_ATTRIBUTE] == record[EXPIRY_ATTRIBUTE]
        shown = stack.api("GET", f"/tasks/{task_id}").body["expiresAt"]
        assert datetime.fromisoformat(shown) == datetime.fromtimestamp(int(record[EXPIRY_ATTRIBUTE]), UTC)
        assert shown.endswith("Z")


def test_a_task_with_its_body_inline_expires_as_one_item(stack: Stack) -> None:
    """No payload item to follow the record: one finishing write, one expiry, and gone with it."""
    task_id = _succeed(stack, {"n": 1})
    items = stack.clients.dynamodb.scan(TableName=stack.resources.table)["Items"]
    [record] = [item for item in items if item["taskId"]["S"].startswith(task_id)]
    assert EXPIRY_ATTRIBUTE in record
    _expire_now(stack, task_id, payload_too=False)
    assert stack.api("GET", f"/tasks/{task_id}").status == 404


def test_a_failed_task_expires_once_dead_lettered_and_a_redrive_takes_the_expiry_away(stack: Stack) -> None:
    task_id = _fail(stack)
    record, payload = _items(stack, task_id)
    assert record["status"] == "FAILED"
    assert EXPIRY_ATTRIBUTE not in record, "failed but not yet dead-lettered: not finished"
    stack.event_source(Function.MONITOR).drain()
    record, payload = _items(stack, task_id)
    assert record["deadLetteredAt"]
    assert payload[EXPIRY_ATTRIBUTE] == record[EXPIRY_ATTRIBUTE]

    assert stack.api("POST", f"/tasks/{task_id}/redrive").status == 202
    record, payload = _items(stack, task_id)
    assert EXPIRY_ATTRIBUTE not in record
    assert EXPIRY_ATTRIBUTE not in payload
    assert "expiresAt" not in stack.api("GET", f"/tasks/{task_id}").body


def test_a_refused_redrive_leaves_the_payload_expiring_with_its_record(stack: Stack) -> None:
    task_id = _succeed(stack)
    assert stack.api("POST", f"/tasks/{task_id}/redrive").status == 409
    record, payload = _items(stack, task_id)
    assert payload[EXPIRY_ATTRIBUTE] == record[EXPIRY_ATTRIBUTE]


def test_a_task_past_its_expiry_is_gone_to_every_read_and_transition(stack: Stack) -> None:
    succeeded = _succeed(stack)
    failed = _fail(stack)
    stack.event_source(Function.MONITOR).drain()
    for task_id in (succeeded, failed):
        _expire_now(stack, task_id)

    for task_id in (succeeded, failed):
        assert stack.api("GET", f"/tasks/{task_id}").status == 404
        assert stack.api("DELETE", f"/tasks/{task_id}").status == 404
        assert stack.api("POST", f"/tasks/{task_id}/redrive").status == 404
    for status in ("SUCCEEDED", "FAILED"):
        listed = stack.api("GET", f"/tasks?status={status}").body["items"]
        assert not {item["taskId"] for item in listed} & {succeeded, failed}
    record, _ = _items(stack, failed)
    assert record["status"] == "FAILED", "the refused redrive changed nothing"


@pytest.mark.parametrize("payload_too", [True, False], ids=["payload expired too", "payload later"])
def test_an_idempotency_key_of_an_expired_task_starts_a_new_task(stack: Stack, payload_too: bool) -> None:
    first = stack.api("POST", "/tasks", BODY, headers={"Idempotency-Key": "k-expired"})
    task_id = first.body["taskId"]
    stack.wait_for_execution(stack.start_execution(task_id, f"ok-{task_id}"))
    assert stack.task(task_id).status is TaskStatus.SUCCEEDED
    _expire_now(stack, task_id, payload_too=payload_too)

    again = stack.api("POST", "/tasks", BODY, headers={"Idempotency-Key": "k-expired"})
    assert again.status == 202
    assert again.body["taskId"] == task_id
    record, payload = _items(stack, task_id)
    assert record["status"] == "QUEUED"
    assert EXPIRY_ATTRIBUTE not in record
    assert EXPIRY_ATTRIBUTE not in payload
    assert stack.task(task_id).attempts == 0


def test_retention_zero_keeps_tasks_for_ever(stack: Stack) -> None:
    forever = TasksTable(stack.clients.dynamodb, stack.resources.table, retention_seconds=0)
    task_id = stack.submit(BODY)
    forever.cancel(task_id, datetime.now(UTC))
    record, payload = _items(stack, task_id)
    assert EXPIRY_ATTRIBUTE not in record
    assert EXPIRY_ATTRIBUTE not in payload


def test_a_failed_task_without_an_expiry_is_redriven(stack: Stack) -> None:
    """Not yet dead-lettered, or kept for ever (retention 0): no expiry, nothing in the way."""
    task_id = _fail(stack)
    assert EXPIRY_ATTRIBUTE not in _items(stack, task_id)[0]
    assert stack.api("POST", f"/tasks/{task_id}/redrive").status == 202
    assert stack.task(task_id).status is TaskStatus.QUEUED


def test_a_repeated_finish_keeps_the_first_expiry_and_creates_no_payload_item(stack: Stack) -> None:
    """The monitor may see a dead letter twice: the second sighting moves no expiry. A payload
    item that is gone is not written back by the expiry update."""
    task_id = _fail(stack)
    table = TasksTable(stack.clients.dynamodb, stack.resources.table, retention_seconds=RETENTION)
    first = datetime(2026, 1, 1, tzinfo=UTC)
    table.mark_dead_lettered(task_id, first)
    record, payload = _items(stack, task_id)
    table.mark_dead_lettered(task_id, datetime(2026, 2, 1, tzinfo=UTC))
    again, payload_again = _items(stack, task_id)
    assert again[EXPIRY_ATTRIBUTE] == record[EXPIRY_ATTRIBUTE] == int(first.timestamp()) + RETENTION
    assert payload_again[EXPIRY_ATTRIBUTE] == payload[EXPIRY_ATTRIBUTE]

    key = payload_key(task_id, str(record["requestHash"]))
    stack.clients.dynamodb.delete_item(TableName=stack.resources.table, Key={"taskId": {"S": key}})
    table.mark_dead_lettered(task_id, first)
    assert "Item" not in stack.clients.dynamodb.get_item(
        TableName=stack.resources.table, Key={"taskId": {"S": key}}
    )
