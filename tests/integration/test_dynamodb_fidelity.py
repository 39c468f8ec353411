"""Where moto's DynamoDB is kinder than AWS (docs/contributing/FIDELITY.md): DynamoDB evaluates
a condition and applies the write atomically, which moto 5.2.5 does not under concurrent requests, so the
fidelity layer serializes its item operations; and an eventually consistent read may miss an
item just written, which moto never does, so the layer can hide fresh items from such reads."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from functions.common.clock import utc_now
from functions.common.errors import TransitionRefusedError
from functions.common.models import TaskStatus
from infra.names import Function
from local.fidelity import AwsFidelity
from tests.fixtures.stack import Stack

CLAIMANTS = 40


@pytest.fixture
def eager_thread_switches() -> Iterator[None]:
    """Switch threads every microsecond instead of every 5 ms, as a busy machine effectively does:
    a race window inside one emulator operation then opens on every run, not once in a while."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


@pytest.mark.usefixtures("eager_thread_switches")
def test_concurrent_conditional_claims_of_one_task_have_exactly_one_winner(stack: Stack) -> None:
    task_ids = [stack.submit({"n": index}) for index in range(5)]
    winners: dict[str, list[str]] = {task_id: [] for task_id in task_ids}
    start = threading.Barrier(CLAIMANTS * len(task_ids))
    lock = threading.Lock()

    def claim(task_id: str, claimant: int) -> None:
        table = stack.table
        now = utc_now()
        start.wait()
        try:
            table.claim_for_processing(task_id, f"arn:claimant-{claimant}", now, now + timedelta(minutes=2))
        except TransitionRefusedError:
            return
        with lock:
            winners[task_id].append(f"claimant-{claimant}")

    threads = [
        threading.Thread(target=claim, args=(task_id, claimant))
        for task_id in task_ids
        for claimant in range(CLAIMANTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {task_id: len(claims) for task_id, claims in winners.items()} == dict.fromkeys(task_ids, 1)
    assert all(stack.task(task_id).attempts == 1 for task_id in task_ids)


@pytest.fixture
def eventual_reads() -> Iterator[None]:
    """Eventually consistent reads miss any item put in the last minute: the worst a test needs."""
    AwsFidelity.eventual_read_window = 60.0
    yield
    AwsFidelity.eventual_read_window = 0.0


@pytest.mark.usefixtures("eventual_reads")
def test_an_eventually_consistent_read_may_miss_an_item_just_put(stack: Stack) -> None:
    """The premise, as AWS documents it: a strongly consistent read sees the write; an eventually
    consistent one (GetItem or BatchGetItem) may not yet."""
    task_id = stack.submit({"n": 1})
    table, key = stack.resources.table, {"taskId": {"S": task_id}}
    dynamodb = stack.clients.dynamodb

    assert "Item" not in dynamodb.get_item(TableName=table, Key=key)
    assert "Item" in dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)
    assert dynamodb.batch_get_item(RequestItems={table: {"Keys": [key]}})["Responses"][table] == []
    strongly = dynamodb.batch_get_item(RequestItems={table: {"Keys": [key], "ConsistentRead": True}})
    assert [item["taskId"]["S"] for item in strongly["Responses"][table]] == [task_id]


@pytest.mark.usefixtures("eventual_reads")
def test_dispatch_starts_a_task_submitted_a_moment_ago(stack: Stack) -> None:
    """The dispatcher reads the batch's statuses strongly: an eventual read would find no record
    for a task submitted a moment ago and drop its message as UNKNOWN, stranding it QUEUED until
    reconcile's next sweep."""
    stack.set_failure_rate(0.0)
    task_id = stack.submit({"n": 1})

    assert stack.event_source(Function.DISPATCH).poll_once().deleted == 1

    assert [execution["name"] for execution in stack.wait_for_all_executions()] == [f"{task_id}-r1-d1"]
    assert stack.task(task_id).status is TaskStatus.SUCCEEDED


@pytest.mark.usefixtures("eventual_reads")
def test_the_process_function_reads_a_payload_it_cannot_see_yet_strongly(stack: Stack) -> None:
    """The payload item was put a moment before the record; the process function's eventually
    consistent read misses it, and it reads it again strongly instead of failing the attempt."""
    stack.set_failure_rate(0.0)
    task_id = stack.submit({"order": 7})

    run = stack.wait_for_execution(stack.start_execution(task_id, "fresh"))

    assert '"outcome": "SUCCEEDED"' in run["output"]
    task = stack.task(task_id)
    assert (task.status, task.attempts) == (TaskStatus.SUCCEEDED, 1)
