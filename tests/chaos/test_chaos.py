"""The fast chaos run (in make test); ``make chaos`` runs the large one (CHAOS_TASKS=10000)."""

from __future__ import annotations

import os

import pytest

from tests.chaos.harness import FAULT_KINDS, FIRINGS, Chaos, Rates
from tests.fixtures.stack import Stack

TASKS = int(os.environ.get("CHAOS_TASKS", "100"))
WAVE = int(os.environ.get("CHAOS_WAVE", str(min(1000, max(1, TASKS // 2)))))
"""Tasks per wave: 1,000 for the large run; the fast run goes in two, so the waves are tested too."""
LARGE = 1000
FAST_RATES = Rates(
    dispatcher_crash=0.3,
    process_crash_before_work=0.04,
    process_timeout=0.04,
    killed_after_claim=0.04,
    stopped_while_retrying=0.12,
    registered_crash=0.25,
    registered_timeout=0.3,
)
"""150 tasks give each fault kind fewer occasions: higher rates, so every kind is drawn in every run
(each kind's chance of no draw at all is under 0.1 %)."""


def test_every_task_is_accounted_for_under_injected_faults(
    typed_stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a stage that registers the example type: a quarter of the tasks run in its function."""
    stack = typed_stack
    rates = Rates() if TASKS >= LARGE else FAST_RATES
    chaos = Chaos(stack, rates, seed=os.environ.get("CHAOS_SEED", "chaos"))
    chaos.install(failure_rate=0.3, seed="chaos-work")
    try:
        ledger = chaos.run(TASKS, timeout=max(120.0, TASKS * 0.5), wave=WAVE)
    finally:
        chaos.uninstall()

    with capsys.disabled():
        print("\n" + ledger.report())
    assert ledger.violations == []
    assert ledger.statuses["SUCCEEDED"] + ledger.statuses["FAILED"] == TASKS + FIRINGS
    assert all(count > 0 for count in ledger.injected.values())
    assert len(ledger.injected) == FAULT_KINDS, ledger.injected
