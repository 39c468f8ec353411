"""DynamoDB evaluates a condition and applies the write atomically; moto 5.2.5 does neither under
concurrent requests, so the fidelity layer serializes its item operations (docs/FIDELITY.md)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from functions.common.clock import utc_now
from functions.common.errors import TransitionRefusedError
from tests.fixtures.stack import Stack

pytestmark = pytest.mark.integration
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
