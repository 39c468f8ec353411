"""Task types: register a type with one line below (docs/TASK_TYPES.md). The first is the
default, for bodies without ``"type"``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions.common.models import Task
from functions.task_types.registry import TaskEnvironment, TaskTypes
from functions.task_types.simulated import Simulated
from functions.task_types.webhook import Webhook

TASK_TYPES = TaskTypes(
    Simulated(),
    Webhook(),
)


def runner(
    environment: TaskEnvironment, remaining_seconds: Callable[[], float] = lambda: float("inf")
) -> Callable[[Task], dict[str, Any]]:
    """One attempt of a task by its type, as a plain callable (what the process function runs,
    for tests and scripts)."""
    return lambda task: TASK_TYPES.run(task, environment, remaining_seconds)
