"""The dispatch function's settings: its fields' aliases are exactly the variables it reads."""

from __future__ import annotations

from pydantic import Field

from functions.common.config import Env, NonEmpty
from functions.task_types.settings import TaskTypeSettings


class DispatchSettings(TaskTypeSettings):
    """A recurring schedule's firing is submitted here (validated by its task type as the api
    function validates a body): the task types' switches too."""

    state_machine_arn: NonEmpty = Field(alias=Env.STATE_MACHINE_ARN)
    tasks_table: NonEmpty = Field(alias=Env.TASKS_TABLE)
    tasks_queue_url: NonEmpty = Field(alias=Env.TASKS_QUEUE_URL)
    """Where a scheduled task's message that came early goes back, delayed (and a firing's task)."""
    schedules_table: NonEmpty = Field(alias=Env.SCHEDULES_TABLE)
    limits_table: NonEmpty = Field(alias=Env.LIMITS_TABLE)
    dead_letter_queue_url: NonEmpty = Field(alias=Env.DEAD_LETTER_QUEUE_URL)
    """Where a task that waited for a limit too long is dead-lettered."""
    limits_cache_seconds: float = Field(ge=0, le=300, alias=Env.LIMITS_CACHE_SECONDS)
    limit_wait_max_seconds: int = Field(ge=60, alias=Env.LIMIT_WAIT_MAX_SECONDS)
    lease_seconds: int = Field(gt=0, alias=Env.LIMIT_LEASE_SECONDS)
    """A limit slot's lease: a start's execution can hold it no longer (the Express limit, and
    the dispatcher's own timeout before the start)."""
