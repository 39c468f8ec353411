"""The process function's settings: its fields' aliases are exactly the variables it reads."""

from __future__ import annotations

from pydantic import Field

from functions.common.config import Env, NonEmpty
from functions.task_types.settings import TaskTypeSettings


class ProcessSettings(TaskTypeSettings):
    tasks_table: NonEmpty = Field(alias=Env.TASKS_TABLE)
    failure_rate: float = Field(ge=0.0, le=1.0, alias=Env.FAILURE_RATE)
    failure_seed: str | None = Field(default=None, alias=Env.FAILURE_SEED)
    lease_seconds: int = Field(gt=0, alias=Env.LEASE_SECONDS)
    """How long a claim keeps a duplicate execution out; longer than one process invocation."""
