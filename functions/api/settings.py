"""The api function's settings: its fields' aliases are exactly the variables it reads."""

from __future__ import annotations

from pydantic import Field

from functions.common.config import Env, NonEmpty, RetentionSeconds
from functions.task_types.settings import TaskTypeSettings


class ApiSettings(TaskTypeSettings):
    tasks_table: NonEmpty = Field(alias=Env.TASKS_TABLE)
    task_retention_seconds: RetentionSeconds
    tasks_queue_url: NonEmpty = Field(alias=Env.TASKS_QUEUE_URL)
    tasks_queue_arn: NonEmpty = Field(alias=Env.TASKS_QUEUE_ARN)
    """A schedule's target (EventBridge Scheduler names its target by ARN)."""
    schedule_group: NonEmpty = Field(alias=Env.SCHEDULE_GROUP)
    scheduler_role_arn: NonEmpty = Field(alias=Env.SCHEDULER_ROLE_ARN)
    recurring_schedule_group: NonEmpty = Field(alias=Env.RECURRING_SCHEDULE_GROUP)
    schedules_table: NonEmpty = Field(alias=Env.SCHEDULES_TABLE)
    limits_table: NonEmpty = Field(alias=Env.LIMITS_TABLE)
    console_url_template: str | None = Field(default=None, alias=Env.CONSOLE_URL_TEMPLATE)
    """Where a person sees a task's execution: ``{taskId}``, ``{executionArn}`` are filled in."""
