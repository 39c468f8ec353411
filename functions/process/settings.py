"""The process function's settings: its fields' aliases are exactly the variables it reads."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from functions.common.config import Env, NonEmpty, RetentionSeconds
from functions.task_types.settings import TaskTypeSettings


class ProcessSettings(TaskTypeSettings):
    tasks_table: NonEmpty = Field(alias=Env.TASKS_TABLE)
    limits_table: NonEmpty = Field(alias=Env.LIMITS_TABLE)
    task_retention_seconds: RetentionSeconds
    failure_rate: float = Field(ge=0.0, le=1.0, alias=Env.FAILURE_RATE)
    failure_seed: str | None = Field(default=None, alias=Env.FAILURE_SEED)
    lease_seconds: int = Field(gt=0, alias=Env.LEASE_SECONDS)
    """How long a claim keeps a duplicate execution out; longer than one process invocation."""
    webhook_signing_secret_id: str | None = Field(default=None, alias=Env.WEBHOOK_SIGNING_SECRET_ID)
    """The Secrets Manager secret that signs webhook deliveries; required when webhooks deliver."""

    @model_validator(mode="after")
    def _webhooks_are_signed(self) -> Self:
        if self.webhooks_enabled and not self.webhook_signing_secret_id:
            raise ValueError(
                f"{Env.WEBHOOKS_ENABLED} needs {Env.WEBHOOK_SIGNING_SECRET_ID}: every delivery is signed"
            )
        return self
