"""The monitor function's settings: its fields' aliases are exactly the variables it reads."""

from __future__ import annotations

from pydantic import Field

from functions.common.config import Env, NonEmpty, RetentionSeconds, Settings


class MonitorSettings(Settings):
    tasks_table: NonEmpty = Field(alias=Env.TASKS_TABLE)
    limits_table: NonEmpty = Field(alias=Env.LIMITS_TABLE)
    task_retention_seconds: RetentionSeconds
