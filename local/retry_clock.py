"""Scale (or skip) the waits moto's Step Functions interpreter takes between retries, and record them.

The interpreter sleeps ``IntervalSeconds·BackoffRate^n`` (capped, jittered) with ``time.sleep``
inside ``retrier_decl``. Patching only that module's ``time`` keeps every other sleep (our
pollers, moto's worker threads) real, and lets tests assert the schedule the ASL asked for
without waiting through it.

A Task state's ``TimeoutSeconds`` runs on the interpreter's real clock too; ``timeout_scale``
(1 unless a test sets it) multiplies it, so a test can overrun ProcessTask's 35 s in a fraction
of a second, with the local runtime's function timeouts scaled alike.
"""

from __future__ import annotations

import threading
import time as real_time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds


@dataclass(frozen=True)
class RecordedWait:
    thread: str
    requested_seconds: float
    slept_seconds: float


class RetryClock:
    """Stands in for the ``time`` module inside ``retrier_decl``."""

    def __init__(self, scale: float = 1.0) -> None:
        if scale < 0:
            raise ValueError("scale must be >= 0")
        self.scale = scale
        self.waits: list[RecordedWait] = []
        self._lock = threading.Lock()
        self._original: ModuleType | None = None
        self._original_timeout: Any = None
        self.timeout_scale = 1.0
        """Multiplies every Task state's TimeoutSeconds."""

    def sleep(self, seconds: float) -> None:
        slept = seconds * self.scale
        with self._lock:
            self.waits.append(RecordedWait(threading.current_thread().name, seconds, slept))
        if slept > 0:
            real_time.sleep(slept)

    def __getattr__(self, name: str) -> Any:
        return getattr(real_time, name)

    def install(self) -> None:
        if self._original is None:
            self._original = vars(retrier_decl)["time"]
            vars(retrier_decl)["time"] = self
            self._original_timeout = TimeoutSeconds._eval_seconds
            clock = self

            def scaled(timeout: TimeoutSeconds, env: Any) -> float:
                return timeout.timeout_seconds * clock.timeout_scale

            TimeoutSeconds._eval_seconds = scaled  # type: ignore[method-assign, assignment]

    def uninstall(self) -> None:
        if self._original is not None:
            vars(retrier_decl)["time"] = self._original
            TimeoutSeconds._eval_seconds = self._original_timeout  # type: ignore[method-assign]
            self._original = None

    def clear(self) -> None:
        with self._lock:
            self.waits.clear()

    def requested(self) -> list[float]:
        with self._lock:
            return [wait.requested_seconds for wait in self.waits]
