"""Names shared by the functions, the CDK stack, the local stack, the tests and the smoke script.

Lambda ships only ``functions/``, so the names every layer agrees on live here and ``infra/``
imports them: an environment variable or index name is never typed twice.
"""

from __future__ import annotations

import os
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

METRICS_NAMESPACE = "ProcessTaskManager"
STATUS_INDEX = "byStatus"
"""GSI on (statusShard, createdAt): finds tasks by state, newest or oldest first (status_shards.py)."""

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
    CONSOLE_URL_TEMPLATE = "CONSOLE_URL_TEMPLATE"


class ConfigurationError(RuntimeError):
    """A function started with missing or invalid environment variables."""


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Self:
        """Validate the environment once, at init, so a misconfigured function fails loudly."""
        source = dict(os.environ if environ is None else environ)
        try:
            return cls.model_validate(source)
        except ValidationError as exc:
            raise ConfigurationError(f"{cls.__name__}: {exc}") from exc


NonEmpty = Annotated[str, Field(min_length=1)]


class SubmitSettings(_Settings):
    tasks_table: NonEmpty = Field(alias=Env.TASKS_TABLE)
    tasks_queue_url: NonEmpty = Field(alias=Env.TASKS_QUEUE_URL)
    console_url_template: str | None = Field(default=None, alias=Env.CONSOLE_URL_TEMPLATE)
    """Where a person sees a task's execution: ``{taskId}``, ``{executionArn}`` are filled in."""


class DispatchSettings(_Settings):
    state_machine_arn: NonEmpty = Field(alias=Env.STATE_MACHINE_ARN)
    tasks_table: NonEmpty = Field(alias=Env.TASKS_TABLE)


class ProcessSettings(_Settings):
    tasks_table: NonEmpty = Field(alias=Env.TASKS_TABLE)
    failure_rate: float = Field(default=0.3, ge=0.0, le=1.0, alias=Env.FAILURE_RATE)
    failure_seed: str | None = Field(default=None, alias=Env.FAILURE_SEED)
    lease_seconds: int = Field(default=120, gt=0, alias=Env.LEASE_SECONDS)
    """How long a claim keeps a duplicate execution out; longer than one process invocation."""


class MonitorSettings(_Settings):
    tasks_table: NonEmpty = Field(alias=Env.TASKS_TABLE)


class ReconcileSettings(_Settings):
    tasks_table: NonEmpty = Field(alias=Env.TASKS_TABLE)
    tasks_queue_url: NonEmpty = Field(alias=Env.TASKS_QUEUE_URL)
    reconcile_after_seconds: int = Field(default=900, gt=0, alias=Env.RECONCILE_AFTER_SECONDS)
    """A task still QUEUED this long after creation is enqueued again (duplicates are harmless)."""
