"""Resource names and per-function settings, shared by the CDK stack, the local stack and the tests.

Every resource is named by stage so that two stages coexist in one account (and the local
stack simply uses the stage ``local``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

PROJECT = "ptm"
_STAGE = re.compile(r"^[a-z][a-z0-9-]{0,15}$")


class Function(StrEnum):
    SUBMIT = "submit"
    DISPATCH = "dispatch"
    PROCESS = "process"
    MONITOR = "monitor"
    RECONCILE = "reconcile"

    @property
    def handler(self) -> str:
        """The handler string: identical in Lambda, in the local stack and in the tests."""
        return f"functions.{self.value}.handler.lambda_handler"


ROUTES: dict[str, tuple[str, ...]] = {
    "/tasks": ("POST", "GET"),
    "/tasks/{taskId}": ("GET", "DELETE"),
    "/tasks/{taskId}/redrive": ("POST",),
}
"""Every route of the API contract, all served by the submit function (API Gateway and the
local HTTP front alike: anything else is API Gateway's own 404)."""


@dataclass(frozen=True)
class FunctionSpec:
    memory_mb: int
    timeout_seconds: int


FUNCTION_SPECS: dict[Function, FunctionSpec] = {
    # 256 MB: the API path is latency-sensitive and Lambda allots CPU with memory.
    Function.SUBMIT: FunctionSpec(memory_mb=256, timeout_seconds=10),
    # A batch of ten StartExecution calls; the queue's visibility timeout is 6x this.
    Function.DISPATCH: FunctionSpec(memory_mb=256, timeout_seconds=30),
    # The simulated work is short; the claim's lease (LEASE_SECONDS) must exceed this.
    Function.PROCESS: FunctionSpec(memory_mb=256, timeout_seconds=30),
    Function.MONITOR: FunctionSpec(memory_mb=256, timeout_seconds=30),
    Function.RECONCILE: FunctionSpec(memory_mb=256, timeout_seconds=60),
}

DISPATCH_BATCH_SIZE = 10
MONITOR_BATCH_SIZE = 10
MAX_RECEIVE_COUNT = 5
STATUS_INDEX_PROJECTION = (
    "status",
    "attempts",
    "runs",
    "updatedAt",
    "error",
    "executionArn",
    "deadLetteredAt",
    "idempotencyKey",
)
"""Non-key attributes the byStatus index carries: enough to list tasks without the payload."""
VISIBILITY_TIMEOUT_FACTOR = 6
"""Tasks-queue visibility timeout as a multiple of the dispatcher's timeout (AWS guidance)."""


@dataclass(frozen=True)
class StageNames:
    stage: str

    def __post_init__(self) -> None:
        if not _STAGE.match(self.stage):
            raise ValueError(f"stage {self.stage!r} must match {_STAGE.pattern}")

    def _name(self, suffix: str) -> str:
        return f"{PROJECT}-{self.stage}-{suffix}"

    @property
    def table(self) -> str:
        return self._name("tasks")

    @property
    def tasks_queue(self) -> str:
        return self._name("tasks")

    @property
    def dead_letter_queue(self) -> str:
        return self._name("tasks-dlq")

    @property
    def state_machine(self) -> str:
        return self._name("process-task")

    @property
    def state_machine_log_group(self) -> str:
        return f"/aws/vendedlogs/states/{self._name('process-task')}"

    def function(self, function: Function) -> str:
        return self._name(function.value)


FUNCTION_ENVIRONMENT: dict[Function, tuple[str, ...]] = {
    Function.SUBMIT: ("TASKS_TABLE", "TASKS_QUEUE_URL", "CONSOLE_URL_TEMPLATE"),
    Function.DISPATCH: ("STATE_MACHINE_ARN", "TASKS_TABLE"),
    Function.PROCESS: ("TASKS_TABLE", "FAILURE_RATE", "LEASE_SECONDS"),
    Function.MONITOR: ("TASKS_TABLE",),
    Function.RECONCILE: ("TASKS_TABLE", "TASKS_QUEUE_URL", "RECONCILE_AFTER_SECONDS"),
}
"""Which variables each function receives: exactly what its settings model reads."""
