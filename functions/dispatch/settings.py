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
