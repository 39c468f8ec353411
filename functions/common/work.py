"""The simulated work a task performs.

It fails at random with probability ``FAILURE_RATE`` so retries, backoff and the DLQ are
exercised; the payload's ``simulate`` field forces a path deterministically: each of
``crashes``, ``timeouts``, ``permanent`` and ``failures`` is checked, in that order, against the
attempt number. With a
``FAILURE_SEED`` the draw depends only on (seed, task, attempt), so runs are reproducible
whatever order executions happen in.
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
from typing import Any

from functions.common.errors import PermanentTaskError, TaskFailedError
from functions.common.models import Simulation, Task

OVERRUN_SECONDS = 900
"""Longer than any timeout Lambda allows (15 minutes): a simulated timeout always overruns."""


class SimulatedWork:
    def __init__(self, failure_rate: float, seed: str | None = None) -> None:
        self.failure_rate = failure_rate
        self.seed = seed
        self._system_random = random.SystemRandom()

    def _draw(self, task_id: str, attempt: int) -> float:
        if self.seed is None:
            return self._system_random.random()
        return random.Random(f"{self.seed}:{task_id}:{attempt}").random()

    def __call__(self, task: Task) -> dict[str, Any]:
        """Run attempt number ``task.attempts`` (1-based); raise to fail it."""
        simulation = Simulation.model_validate(task.payload.get("simulate", {}))
        attempt = task.attempts
        if attempt <= simulation.crashes:
            # A real process exit: Lambda reports Runtime.ExitError and resets the environment.
            sys.exit(1)
        if attempt <= simulation.timeouts:
            # A real overrun: Lambda stops the invocation at its timeout (Sandbox.Timedout); if
            # anything ever let it run on, it ends like a killed process, having written nothing.
            time.sleep(OVERRUN_SECONDS)
            sys.exit(1)
        if simulation.permanent:
            raise PermanentTaskError(f"task {task.task_id} asked for a permanent failure")
        if attempt <= simulation.failures:
            raise TaskFailedError(f"simulated failure {attempt} of {simulation.failures}")
        if "simulate" not in task.payload and self._draw(task.task_id, attempt) < self.failure_rate:
            raise TaskFailedError(f"random failure on attempt {attempt} (rate {self.failure_rate})")
        digest = hashlib.sha256(task.task_id.encode() + str(sorted(task.payload)).encode()).hexdigest()
        return {"attempt": attempt, "digest": digest[:16]}
