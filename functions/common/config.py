"""Settings and the names every layer agrees on.

Lambda ships only ``functions/``, so what the functions, the CDK app, the local stack and the
tests must agree on lives here. Each function has one settings model (``functions/<name>/
settings.py``, so a handler imports only its own); its fields' aliases are the environment
variables it reads, so a variable's name is typed once (in ``Env``) and the system spec
(``infra/spec.py``) derives each function's environment from the model.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from botocore.config import Config

METRICS_NAMESPACE = "ProcessTaskManager"
PHASE_INDEX = "byPhase"
"""GSI on (phaseShard, createdAt), keys only: finds tasks by phase, newest or oldest first
(status_shards.py)."""

DUE_INDEX = "byRunAt"
"""Sparse GSI on (dueShard, runAt), keys only: SCHEDULED tasks by when they are due (status_shards.py)."""

SCHEDULE_INDEX = "bySchedule"
"""Sparse GSI on (schedule, scheduledTime), keys only: the tasks a recurring schedule submitted,
newest first. A schedule fires at most once a minute, so one partition per schedule never runs hot."""

MAX_PAYLOAD_BYTES = 200 * 1024
MAX_IDEMPOTENCY_KEY_LENGTH = 128


class Env:
    """Environment variable names, set by CDK and by the local stack alike."""

    TASKS_TABLE = "TASKS_TABLE"
    TASKS_QUEUE_URL = "TASKS_QUEUE_URL"
    DEAD_LETTER_QUEUE_URL = "DEAD_LETTER_QUEUE_URL"
    STATE_MACHINE_ARN = "STATE_MACHINE_ARN"
    FAILURE_RATE = "FAILURE_RATE"
    FAILURE_SEED = "FAILURE_SEED"
    LEASE_SECONDS = "LEASE_SECONDS"
    RECONCILE_AFTER_SECONDS = "RECONCILE_AFTER_SECONDS"
    MAX_RESCUES = "MAX_RESCUES"
    CONSOLE_URL_TEMPLATE = "CONSOLE_URL_TEMPLATE"
    SCHEDULE_GROUP = "SCHEDULE_GROUP"
    """The stage's EventBridge Scheduler group, where the api function puts delayed tasks' schedules."""
    RECURRING_SCHEDULE_GROUP = "RECURRING_SCHEDULE_GROUP"
    """The stage's EventBridge Scheduler group for recurring schedules (one per schedule, by name)."""
    SCHEDULES_TABLE = "SCHEDULES_TABLE"
    """The recurring schedules' definitions and firing history, one item per schedule."""
    LIMITS_TABLE = "LIMITS_TABLE"
    """Flow control: every limit (one item) and each limited subject's slots and token bucket."""
    LIMITS_CACHE_SECONDS = "LIMITS_CACHE_SECONDS"
    LIMIT_WAIT_MAX_SECONDS = "LIMIT_WAIT_MAX_SECONDS"
    LIMIT_LEASE_SECONDS = "LIMIT_LEASE_SECONDS"
    SCHEDULER_ROLE_ARN = "SCHEDULER_ROLE_ARN"
    """The role EventBridge Scheduler assumes to send a due task's message (SendMessage only)."""
    TASKS_QUEUE_ARN = "TASKS_QUEUE_ARN"
    DISPATCH_MAPPING_ID = "DISPATCH_MAPPING_ID"
    """The dispatcher's event-source mapping on the tasks queue: the dispatch switch."""
    WEBHOOK_ALLOWED_HOSTS = "WEBHOOK_ALLOWED_HOSTS"
    WEBHOOKS_ENABLED = "WEBHOOKS_ENABLED"
    WEBHOOK_ALLOWED_HOSTS_ONLY = "WEBHOOK_ALLOWED_HOSTS_ONLY"
    ALLOW_SIMULATION = "ALLOW_SIMULATION"
    SDK_BUDGET = "SDK_BUDGET"
    TASK_RETENTION_SECONDS = "TASK_RETENTION_SECONDS"
    REGISTERED_TYPES_FILE = "PTM_REGISTERED_TYPES_FILE"
    """The registered task types' file, where it is not the one the functions' asset carries (the
    local stack's)."""
    WEBHOOK_SIGNING_SECRET_ID = "WEBHOOK_SIGNING_SECRET_ID"  # pragma: allowlist secret (a variable name)


@dataclass(frozen=True)
class SdkBudget:
    """How long one AWS call may take: botocore's connect and read timeouts, and its attempts in
    standard retry mode, whose waits are random up to ``2**(n-1)`` s before retry n, capped at
    20 s (botocore/retries/standard.py)."""

    name: str
    connect_timeout: float
    read_timeout: float
    max_attempts: int

    INTERACTIVE: ClassVar[SdkBudget]
    BACKGROUND: ClassVar[SdkBudget]
    MAX_BACKOFF_SECONDS: ClassVar[float] = 20.0

    @cached_property
    def config(self) -> Config:
        from botocore.config import Config  # noqa: PLC0415 - only where clients are built

        return Config(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"mode": "standard", "total_max_attempts": self.max_attempts},
        )

    @property
    def attempt_seconds(self) -> float:
        """One attempt at its longest: the connect and the read both time out."""
        return self.connect_timeout + self.read_timeout

    def worst_case_seconds(self) -> float:
        """One call at its longest: every attempt times out on connect and read, and every wait
        before a retry is at its ceiling. (A read timeout bounds each wait for bytes, not a whole
        transfer; our items are at most a few hundred KiB, sent within Lambda's network.)"""
        waits = sum(
            min(self.MAX_BACKOFF_SECONDS, 2.0 ** (retry - 1)) for retry in range(1, self.max_attempts)
        )
        return self.max_attempts * self.attempt_seconds + waits

    @classmethod
    def named(cls, name: str) -> SdkBudget:
        budgets = (cls.INTERACTIVE, cls.BACKGROUND)
        for budget in budgets:
            if budget.name == name:
                return budget
        raise ValueError(f"{Env.SDK_BUDGET}={name!r}: not one of {', '.join(b.name for b in budgets)}")


SdkBudget.INTERACTIVE = SdkBudget("interactive", connect_timeout=0.5, read_timeout=1.0, max_attempts=2)
"""A caller waits (the API): fail fast and answer 503 + Retry-After within the function's timeout."""
SdkBudget.BACKGROUND = SdkBudget("background", connect_timeout=2.0, read_timeout=10.0, max_attempts=4)
"""Nobody waits (queue consumers, the workflow, the sweep): ride out a longer hiccup; a timeout is
retried by the event source or the state machine."""


RESPONSE_RESERVE_SECONDS = 1.0
"""Kept in an api invocation after its last AWS call: parsing, validation, the response."""
INIT_READ_SECONDS = SdkBudget.INTERACTIVE.worst_case_seconds()
"""How long a read while a function starts (INIT) may take, the process function's signing secret
in particular: Lambda's INIT limit (10 s, the spec checks it) must hold it and the rest of INIT.
A read that cannot finish in time is left to the first invocation that needs it."""


class ConfigurationError(RuntimeError):
    """A function started with missing or invalid environment variables."""


_function_environment: ContextVar[Mapping[str, str] | None] = ContextVar("function_environment", default=None)


@contextmanager
def function_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Bind the environment one function sees while its settings are read.

    On Lambda each function has a process (and ``os.environ``) of its own. The local stack runs
    every function in one process, so its runtime binds each function's own variables around
    that function's invocations: a variable the spec forgot fails locally as it would on AWS.
    """
    token = _function_environment.set(variables)
    try:
        yield
    finally:
        _function_environment.reset(token)


def current_environment() -> Mapping[str, str]:
    bound = _function_environment.get()
    return os.environ if bound is None else bound


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, defer_build=True)

    sdk_budget_name: str = Field(SdkBudget.BACKGROUND.name, alias=Env.SDK_BUDGET)
    """The function's ``SdkBudget`` (the system spec gives each function its own)."""

    @property
    def sdk_budget(self) -> SdkBudget:
        return SdkBudget.named(self.sdk_budget_name)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Validate the environment once, at init, so a misconfigured function fails loudly."""
        source = dict(current_environment() if environ is None else environ)
        try:
            return cls.model_validate(source)
        except ValidationError as exc:
            raise ConfigurationError(f"{cls.__name__}: {exc}") from exc

    @classmethod
    def variables(cls) -> dict[str, bool]:
        """The environment variables this model reads, each with whether it is required."""
        return {
            str(field.alias): field.is_required()
            for field in cls.model_fields.values()
            if field.alias is not None
        }


NonEmpty = Annotated[str, Field(min_length=1)]
RetentionSeconds = Annotated[int, Field(ge=0, alias=Env.TASK_RETENTION_SECONDS)]
"""How long a finished task stays before DynamoDB's TTL deletes it; 0 keeps tasks for ever (the
functions that finish tasks read it: api, process, monitor)."""
