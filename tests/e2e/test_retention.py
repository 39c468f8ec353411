"""Retention on the local stack: moto never deletes an expired item (docs/contributing/FIDELITY.md), so the
local stack deletes them itself, as DynamoDB's TTL does, on its scaled clock. With one day of
retention at a time scale of 0.0001, a finished task is gone from the table within seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from infra.stage_config import DAY_SECONDS
from tests.e2e.conftest import NAMES, RunningStack, running_local_stack
from tests.fixtures.tasks import bulky_payload

TIME_SCALE = 0.0001
RETENTION_SECONDS = DAY_SECONDS * TIME_SCALE


@pytest.fixture(scope="module")
def short_retention_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    yield from running_local_stack(
        tmp_path_factory,
        "retention-stack",
        "--time-scale",
        str(TIME_SCALE),
        "--task-retention-days",
        "1",
        "--failure-rate",
        "0",
    )


def _items(stack: RunningStack, task_id: str) -> list[dict[str, Any]]:
    """Every item of the task (its record and its payload item), straight from the emulator."""
    pages = stack.clients().dynamodb.get_paginator("scan").paginate(TableName=NAMES.table)
    return [item for page in pages for item in page["Items"] if str(item["taskId"]["S"]).startswith(task_id)]


def test_a_finished_task_is_deleted_once_expired_as_dynamodbs_ttl_deletes_it(
    short_retention_stack: RunningStack,
) -> None:
    stack = short_retention_stack
    # A body too large to live inline, so the task has a payload item to expire as well.
    status, _, accepted = stack.request("POST", "/tasks", bulky_payload())
    assert status == 202, accepted
    task_id = accepted["taskId"]
    deadline = time.monotonic() + 30
    record: dict[str, object] = {}
    while time.monotonic() < deadline:
        _, _, record = stack.request("GET", f"/tasks/{task_id}")
        if record.get("status") == "SUCCEEDED":
            break
        time.sleep(0.1)
    assert record.get("status") == "SUCCEEDED", record
    assert "expiresAt" in record
    items = _items(stack, task_id)
    assert len(items) == 2, "the record and its payload item"
    assert all("expiresAt" in item for item in items)

    deadline = time.monotonic() + RETENTION_SECONDS + 15
    while _items(stack, task_id) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert _items(stack, task_id) == [], "expired items stay in moto unless the local stack deletes them"
    assert stack.request("GET", f"/tasks/{task_id}")[0] == 404
