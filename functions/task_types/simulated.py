"""The default type: simulated work, for bodies without ``"type"`` (every client before types).

It fails at random with probability ``FAILURE_RATE`` so retries, backoff and the DLQ are
exercised; the payload's ``simulate`` field forces a path deterministically: each of
``crashes``, ``timeouts``, ``permanent`` and ``failures`` is checked, in that order, against the
attempt number. With a ``FAILURE_SEED`` the draw depends only on (seed, task, attempt), so runs
are reproducible whatever order executions happen in.
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.common.errors import PermanentTaskError, TaskFailedError, invalid_task_payload
from functions.common.models import Simulation
from functions.task_types.registry import Attempt, TaskEnvironment, TaskType

OVERRUN_SECONDS = 900
"""Longer than any timeout Lambda allows (15 minutes): a simulated timeout always overruns."""
_system_random = random.SystemRandom()


class SimulatedPayload(BaseModel):
    """Any JSON object; ``simulate`` (optional) forces a path, and is test-only."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    type: Literal["simulated"] | None = Field(
        default=None, description="Optional: a body without a type is a simulated task"
    )
    simulate: Simulation = Field(
        default_factory=Simulation,
        description="Test-only control of the simulated work; each field is checked, in the order "
        "crashes, timeouts, permanent, failures, against the attempt",
    )


class Simulated(TaskType[SimulatedPayload]):
    name = "simulated"
    description = (
        "Simulated work (the default): fails at random with the deployment's FAILURE_RATE, or as "
        "'simulate' says, so retries, backoff and the dead-letter queue are exercised"
    )
    payload = SimulatedPayload

    def admit(self, payload: SimulatedPayload, environment: TaskEnvironment) -> None:
        """``simulate`` is a test control: any caller could make each task burn every attempt's
        timeout. A stage that does not allow it refuses it at submit."""
        if "simulate" in payload.model_fields_set and not environment.simulation_allowed:
            raise invalid_task_payload(
                self.name,
                {"simulate": "this stage does not take test controls (its allowSimulation is off)"},
            )

    def run(self, payload: SimulatedPayload, attempt: Attempt) -> dict[str, Any]:
        """Attempt number ``attempt.number`` (1-based); raises to fail it."""
        simulation = payload.simulate
        number = attempt.number
        if number <= simulation.crashes:
            # A real process exit: Lambda reports Runtime.ExitError and resets the environment.
            sys.exit(1)
        if number <= simulation.timeouts:
            # A real overrun: Lambda stops the invocation at its timeout (Sandbox.Timedout); if
            # anything ever let it run on, it ends like a killed process, having written nothing.
            time.sleep(OVERRUN_SECONDS)
            sys.exit(1)
        if simulation.permanent:
            raise PermanentTaskError(f"task {attempt.task_id} asked for a permanent failure")
        if number <= simulation.failures:
            raise TaskFailedError(f"simulated failure {number} of {simulation.failures}")
        environment = attempt.environment
        forced = "simulate" in payload.model_fields_set
        if not forced and _draw(environment.failure_seed, attempt) < environment.failure_rate:
            raise TaskFailedError(f"random failure on attempt {number} (rate {environment.failure_rate})")
        fields = sorted(payload.model_dump(exclude_unset=True))
        digest = hashlib.sha256(attempt.task_id.encode() + str(fields).encode()).hexdigest()
        return {"attempt": number, "digest": digest[:16]}


def _draw(seed: str | None, attempt: Attempt) -> float:
    if seed is None:
        return _system_random.random()
    return random.Random(f"{seed}:{attempt.task_id}:{attempt.number}").random()
