"""The tasks table's layout (docs/contributing/DATA_MODEL.md), against moto's DynamoDB: the payload inline in
the record or in its own write-once item, a record that stays within one write unit, and a
keys-only index in which QUEUED and RUNNING share the ACTIVE phase, so claims never write the index."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bench.tasks import sample_payload
from functions.common import tasks_table
from functions.common.clock import iso
from functions.common.models import Task, TaskStatus
from functions.common.status_shards import SHARD_ATTRIBUTE
from functions.common.tasks_table import (
    COMPRESS_FROM_BYTES,
    COMPRESSED_PAYLOAD_ATTRIBUTE,
    INLINE_RESERVE_BYTES,
    PAYLOAD_ATTRIBUTE,
    TasksTable,
    item_size,
    payload_attributes,
    payload_key,
    payload_of,
)
from functions.common.workflow import execution_name
from functions.usecases.submission import task_id_for
from tests.fixtures.stack import Stack
from tests.fixtures.strict_json import strict_json
from tests.fixtures.tasks import bulky_payload, request_hash

ONE_KIB_PAYLOAD = sample_payload(1)
"""About 1 KiB of JSON shaped like a real body (an order), as the cost model prices it."""
AS_SENT = json.loads(json.dumps(ONE_KIB_PAYLOAD), parse_float=Decimal)
"""That body as the API reads it from the JSON text: its prices as decimals, every digit kept."""


def _typed(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {name: {"B" if isinstance(value, bytes) else "S": value} for name, value in attributes.items()}


def _items(stack: Stack) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = stack.clients.dynamodb.scan(TableName=stack.resources.table)["Items"]
    return items


def _record(stack: Stack, task_id: str) -> dict[str, Any]:
    item: dict[str, Any] = stack.clients.dynamodb.get_item(
        TableName=stack.resources.table, Key={"taskId": {"S": task_id}}, ConsistentRead=True
    )["Item"]
    return item


@pytest.fixture
def updates(stack: Stack) -> Iterator[list[dict[str, Any]]]:
    """Every UpdateItem the table client sends, as its parameters."""
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(params)

    client = stack.table._client
    client.meta.events.register("provide-client-params.dynamodb.UpdateItem", record)
    yield sent
    client.meta.events.unregister("provide-client-params.dynamodb.UpdateItem", record)


def _aws_execution_arn(task_id: str) -> str:
    """As long as an Express execution's ARN gets on AWS: a long region, a 12-digit account,
    a long stage's state machine name, the execution's name and its id."""
    return (
        "arn:aws:states:ap-southeast-2:123456789012:express:ProcessTaskManager-production-process-task:"
        f"{execution_name(task_id, 1, 1)}:{uuid.uuid4()}"
    )


def test_a_1_kib_json_body_lives_inline_and_every_write_of_its_record_fits_one_unit(stack: Stack) -> None:
    """Compressed, a 1 KiB body fits in its record with room for everything the record gains
    later (``INLINE_RESERVE_BYTES``): no payload item, and the claim returns the body with the
    record. Checked at the record's largest: RUNNING with a failed attempt's error, and SUCCEEDED
    with a result, under an AWS-length execution ARN."""
    task_id = stack.submit(ONE_KIB_PAYLOAD, key="k" * 64)
    assert [item["taskId"]["S"] for item in _items(stack)] == [task_id]
    record = _record(stack, task_id)
    assert COMPRESSED_PAYLOAD_ATTRIBUTE in record
    assert item_size(record) + INLINE_RESERVE_BYTES <= 1024
    assert strict_json(stack.api("GET", f"/tasks/{task_id}").text, exact=True)["payload"] == AS_SENT

    execution = _aws_execution_arn(task_id)
    now = datetime.now(UTC)
    claimed = stack.table.claim_for_processing(task_id, execution, now, now + timedelta(seconds=60))
    assert claimed.payload == AS_SENT
    stack.table.record_attempt_failure(
        task_id, execution, "TaskFailedError: simulated failure (attempt 1 of 3, 30% failure rate)", now
    )
    stack.table.claim_for_processing(task_id, execution, now, now + timedelta(seconds=60))
    assert item_size(_record(stack, task_id)) <= 1024, item_size(_record(stack, task_id))
    stack.table.mark_succeeded(task_id, execution, {"processedAt": iso(now), "attempt": 2, "ok": True}, now)
    assert item_size(_record(stack, task_id)) <= 1024, item_size(_record(stack, task_id))


def test_a_body_too_large_to_inline_is_its_own_write_once_item(stack: Stack) -> None:
    """It goes first, under a key naming the body, compressed when that is smaller; the record
    holds none of it, and GET and the claim read it back."""
    body = bulky_payload()
    task_id = stack.submit(body)

    record = _record(stack, task_id)
    assert PAYLOAD_ATTRIBUTE not in record
    assert COMPRESSED_PAYLOAD_ATTRIBUTE not in record
    [payload] = [item for item in _items(stack) if item["taskId"]["S"] != task_id]
    assert payload["taskId"]["S"] == payload_key(task_id, request_hash(body))
    assert set(payload) == {"taskId", COMPRESSED_PAYLOAD_ATTRIBUTE}
    assert payload_of(payload) == body
    assert SHARD_ATTRIBUTE not in payload, "a payload item is never in the index"
    assert stack.api("GET", f"/tasks/{task_id}").body["payload"] == body
    now = datetime.now(UTC)
    claimed = stack.table.claim_for_processing(task_id, "arn:execution:a", now, now + timedelta(seconds=60))
    assert claimed.payload == body


def test_a_1_kib_json_body_compresses_into_one_write_unit(stack: Stack) -> None:
    """Uncompressed, a payload item (key and names included) would cost 2 write units."""
    attributes = _typed(payload_attributes(ONE_KIB_PAYLOAD))
    item = {"taskId": {"S": payload_key("t" * 36, "h" * 64)}, **attributes}
    assert set(attributes) == {COMPRESSED_PAYLOAD_ATTRIBUTE}
    assert (
        item_size(item) <= 1024 < item_size({**item, PAYLOAD_ATTRIBUTE: {"S": json.dumps(ONE_KIB_PAYLOAD)}})
    )


def test_a_body_under_the_threshold_stays_readable_text(stack: Stack) -> None:
    """Compressing it would save no write unit: it stays JSON, readable in the console."""
    body = {"n": 1, "note": "y" * (COMPRESS_FROM_BYTES - 30)}
    assert len(json.dumps(body, separators=(",", ":"))) < COMPRESS_FROM_BYTES
    assert set(payload_attributes({**body, "more": "y" * 30})) == {COMPRESSED_PAYLOAD_ATTRIBUTE}
    task_id = stack.submit(body)
    [payload] = [item for item in _items(stack) if item["taskId"]["S"] != task_id]
    assert set(payload) == {"taskId", PAYLOAD_ATTRIBUTE}
    assert json.loads(payload[PAYLOAD_ATTRIBUTE]["S"]) == body
    assert stack.api("GET", f"/tasks/{task_id}").body["payload"] == body


def test_a_finished_record_fits_one_write_unit_with_a_1_kib_payload(stack: Stack) -> None:
    stack.set_failure_rate(0.0)
    task_id = stack.submit(ONE_KIB_PAYLOAD)
    stack.wait_for_execution(stack.start_execution(task_id, f"run-{task_id}"))

    record = _record(stack, task_id)
    assert record["status"]["S"] == "SUCCEEDED"
    assert item_size(record) <= 1024, item_size(record)


def test_claims_and_attempt_errors_leave_the_index_key_alone(
    stack: Stack, updates: list[dict[str, Any]]
) -> None:
    """DynamoDB writes a keys-only index only when the index key changes: a claim, a retry's
    claim and a recorded error must not set it; finishing must."""
    task_id = stack.submit({"n": 1})
    now = datetime.now(UTC)
    table = stack.table
    table.claim_for_processing(task_id, "arn:execution:a", now, now + timedelta(seconds=60))
    table.record_attempt_failure(task_id, "arn:execution:a", "TaskFailedError: once", now)
    table.claim_for_processing(task_id, "arn:execution:a", now, now + timedelta(seconds=60))
    assert [SHARD_ATTRIBUTE in update["UpdateExpression"] for update in updates] == [False, False, False]
    assert _record(stack, task_id)[SHARD_ATTRIBUTE]["S"].startswith("ACTIVE#")

    table.mark_succeeded(task_id, "arn:execution:a", {"ok": True}, now)
    assert SHARD_ATTRIBUTE in updates[-1]["UpdateExpression"]
    assert _record(stack, task_id)[SHARD_ATTRIBUTE]["S"].startswith("SUCCEEDED#")


def test_an_orphan_payload_is_invisible_and_harmless(stack: Stack) -> None:
    """A submission that died between its two puts left a payload without a record: nothing
    lists it, its id is unknown, and the same request (or another body) under that id works."""
    key = "orphan-1"
    body = {"n": 1}
    first = Task(
        task_id=task_id_for(key),
        status=TaskStatus.QUEUED,
        payload={"n": "another body"},
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
        idempotency_key=key,
        request_hash=request_hash({"n": "another body"}),
    )
    stack.clients.dynamodb.put_item(
        TableName=stack.resources.table,
        Item={
            "taskId": {"S": payload_key(first.task_id, first.request_hash)},
            "payload": {"S": json.dumps(first.payload)},
        },
    )
    assert stack.api("GET", f"/tasks/{first.task_id}").status == 404
    assert stack.api("GET", "/tasks?status=QUEUED").body == {"items": []}
    assert stack.api("GET", f"/tasks/{payload_key(first.task_id, first.request_hash)}").status in (400, 404)

    task_id = stack.submit(body, key=key)
    assert task_id == first.task_id
    assert stack.api("GET", f"/tasks/{task_id}").body["payload"] == body
    assert (
        stack.table.claim_for_processing(
            task_id, "arn:execution:a", datetime.now(UTC), datetime.now(UTC) + timedelta(seconds=60)
        ).payload
        == body
    )


def _claim(table: TasksTable, task_id: str) -> None:
    now = datetime.now(UTC)
    table.claim_for_processing(task_id, f"arn:execution:{task_id}", now, now + timedelta(seconds=600))


def _listed(stack: Stack, status: str, limit: int) -> tuple[list[str], int]:
    listed: list[str] = []
    token: str | None = None
    for pages in range(1, 100):
        page = stack.api(
            "GET", f"/tasks?status={status}&limit={limit}" + (f"&nextToken={token}" if token else "")
        )
        assert page.status == 200, page.body
        assert len(page.body["items"]) <= limit
        assert {item["status"] for item in page.body["items"]} <= {status}
        listed += [item["taskId"] for item in page.body["items"]]
        token = page.body.get("nextToken")
        if token is None:
            return listed, pages
    raise AssertionError("the listing never ended")


@pytest.mark.parametrize("read_budget", [tasks_table.index.READ_BUDGET, 3])
def test_queued_and_running_list_apart_from_one_phase_without_gaps_or_repeats(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, read_budget: int
) -> None:
    """QUEUED and RUNNING share the ACTIVE index entries; each listing reads through the
    other's and still pages newest first with nothing missed or repeated, also when a page
    ends at the read budget (short, with a token)."""
    monkeypatch.setattr(tasks_table.index, "READ_BUDGET", read_budget)
    ids = [stack.submit({"n": index}) for index in range(30)]
    running = set(ids[::3]) | set(ids[20:])
    for task_id in running:
        _claim(stack.table, task_id)
    tasks = sorted(
        (stack.task(task_id) for task_id in ids), key=lambda t: (t.created_at, t.task_id), reverse=True
    )

    queued, _ = _listed(stack, "QUEUED", 4)
    assert queued == [task.task_id for task in tasks if task.task_id not in running]
    listed_running, pages = _listed(stack, "RUNNING", 4)
    assert listed_running == [task.task_id for task in tasks if task.task_id in running]
    if read_budget == 3:
        assert pages > len(running) / 4 + 1, "pages ended at the read budget"


def test_reconcile_finds_stale_tasks_behind_a_crowd_of_the_other_active_status(stack: Stack) -> None:
    """The oldest ACTIVE entries are RUNNING under a live lease: the sweep's queries read past
    them to the QUEUED tasks, and past fresh QUEUED ones to a RUNNING task whose lease expired."""
    ids = [stack.submit({"n": index}) for index in range(12)]
    for task_id in ids[:8]:
        _claim(stack.table, task_id)
    now = datetime.now(UTC)
    stale_running = ids[9]
    stack.table.claim_for_processing(
        stale_running, "arn:execution:dead", now - timedelta(hours=2), now - timedelta(hours=1)
    )

    queued = stack.table.index.queued_before(now + timedelta(seconds=1), limit=2)
    assert [task_id for task_id, _ in queued] == [ids[8], ids[10]]
    assert stack.table.index.running_before(now - timedelta(minutes=30), limit=10) == [stale_running]
