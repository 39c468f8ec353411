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

    def settled(self, dead_lettered: bool) -> bool:
        """Nothing more will happen to the task on its own: it is terminal, and a FAILED one is
        also dead-lettered (the workflow's last step, or the monitor's, a moment after the write)."""
        return self.is_terminal and (self is not TaskStatus.FAILED or dead_lettered)
