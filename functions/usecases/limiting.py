"""Taking and giving back a task's slots: what the dispatcher asks before it starts an
execution, and what the end of the execution gives back (functions/common/flow_control.py
decides; functions/common/limits_table.py stores)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from functions.common.flow_control import Limit, admit, governing
from functions.common.limits_table import AcquireConflictError, LimitsTable

CONFLICT_ATTEMPTS = 3
"""Reads and writes of an acquire that met another writer, before the task waits a moment."""


@dataclass
class LimitsCache:
    """The limits, read at most once per ``ttl_seconds`` (the staleness bound: a limit set,
    changed or deleted takes effect in each dispatcher within it)."""

    table: LimitsTable
    ttl_seconds: float
    monotonic: Callable[[], float] = time.monotonic
    _read_at: float | None = None
    _limits: dict[str, Limit] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self) -> dict[str, Limit]:
        with self._lock:
            now = self.monotonic()
            if self._read_at is None or now - self._read_at >= self.ttl_seconds:
                self._limits = self.table.limits()
                self._read_at = now
            return self._limits


@dataclass(frozen=True)
class Admission:
    admitted: bool
    held: tuple[str, ...] = ()
    """The subjects whose concurrency slot the task now holds: what its execution gives back."""
    waiting_for: str | None = None
    """The subject whose limit refused it."""
    wait_seconds: float = 0.0
    """How long the limiter expects the wait to be at least (0: unknown)."""


ADMITTED_FREELY = Admission(True)


def acquire(
    table: LimitsTable,
    limits: Mapping[str, Limit],
    subjects: Sequence[str],
    *,
    holder: str,
    now: float,
    lease_seconds: float,
) -> Admission:
    """Admit ``holder`` under every limit that governs one of ``subjects``, all or none. No
    limit governs any of them: admitted, without a call."""
    governed = {subject: limit for subject in subjects if (limit := governing(subject, limits)) is not None}
    if not governed:
        return ADMITTED_FREELY
    for _ in range(CONFLICT_ATTEMPTS):
        states = table.states(governed)
        decided = {}
        for subject, limit in governed.items():
            decision = admit(limit, states[subject], holder, now, now + lease_seconds)
            if not decision.admitted:
                return Admission(False, waiting_for=subject, wait_seconds=decision.wait_seconds)
            if decision.changed:
                decided[subject] = decision.state
        try:
            table.write(decided)
        except AcquireConflictError:
            continue
        held = tuple(subject for subject, limit in governed.items() if limit.max_concurrency is not None)
        return Admission(True, held=held)
    return Admission(False, waiting_for=next(iter(governed)))  # contended: look again in a moment
