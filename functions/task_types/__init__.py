"""Task types: register a type with one line below (docs/TASK_TYPES.md). The first is the
default, for bodies without ``"type"``."""

from __future__ import annotations

from functions.task_types.registry import TaskTypes
from functions.task_types.simulated import Simulated
from functions.task_types.webhook import Webhook

TASK_TYPES = TaskTypes(
    Simulated(),
    Webhook(),
)
