"""The reconcile function's settings: its fields' aliases are exactly the variables it reads."""

from __future__ import annotations

from pydantic import Field

from functions.common.config import Env, NonEmpty, Settings


class ReconcileSettings(Settings):
    tasks_table: NonEmpty = Field(alias=Env.TASKS_TABLE)
    tasks_queue_url: NonEmpty = Field(alias=Env.TASKS_QUEUE_URL)
    reconcile_after_seconds: int = Field(gt=0, alias=Env.RECONCILE_AFTER_SECONDS)
    """A task still QUEUED this long after creation is enqueued again (duplicates are harmless)."""
