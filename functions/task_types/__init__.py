"""Task types: register a type with one line below (docs/TASK_TYPES.md). The first is the
default, for bodies without ``"type"``. A stage's own types, run by the user's Lambda functions,
are registered in its options instead (functions/task_types/registered.py)."""

from __future__ import annotations

from functions.task_types.registered import registered_types
from functions.task_types.registry import TaskTypes
from functions.task_types.simulated import Simulated
from functions.task_types.webhook import Webhook

TASK_TYPES = TaskTypes(
    Simulated(),
    Webhook(),
    registered=registered_types,
)
