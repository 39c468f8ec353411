"""A task's statuses: one definition for the functions, the operator CLI (``ptm``) and the smoke
script, without pydantic (the clients import only this)."""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    """Submitted with a delay: waits for its ``runAt``, then dispatch makes it QUEUED."""
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in {TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED}
