"""The reconcile function's settings: its fields' aliases are exactly the variables it reads."""

from __future__ import annotations

from pydantic import Field

from functions.common.config import Env, NonEmpty, Settings


class ReconcileSettings(Settings):
    tasks_table: NonEmpty = Field(alias=Env.TASKS_TABLE)
    tasks_queue_url: NonEmpty = Field(alias=Env.TASKS_QUEUE_URL)
    reconcile_after_seconds: int = Field(gt=0, alias=Env.RECONCILE_AFTER_SECONDS)
    """A task still QUEUED this long after creation is enqueued again (duplicates are harmless)."""
    dead_letter_queue_url: NonEmpty = Field(alias=Env.DEAD_LETTER_QUEUE_URL)
    lease_seconds: int = Field(gt=0, alias=Env.LEASE_SECONDS)
    """A RUNNING task not written for this long has lost its execution."""
    max_rescues: int = Field(ge=0, alias=Env.MAX_RESCUES)
    """Rescues of one run before reconcile dead-letters it instead of re-driving it again."""
    dispatch_mapping_id: NonEmpty = Field(alias=Env.DISPATCH_MAPPING_ID)
    """While this mapping is disabled (dispatch paused), QUEUED tasks are not sent again."""
