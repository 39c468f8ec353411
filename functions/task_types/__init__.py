"""Task types: register a type with one line below (docs/TASK_TYPES.md). The first is the
default, for bodies without ``"type"``. A stage's own types, run by the user's Lambda functions,
are registered in its options instead (functions/task_types/registered.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from functions.task_types.registry import DEFAULT_TYPE, TaskType, TaskTypes, registrations_file
from functions.task_types.simulated import Simulated
from functions.task_types.webhook import Webhook


def _registered() -> Sequence[TaskType[Any]]:
    """The stage's registered types; their module (pydantic models, the schema validator) is
    imported only where a registrations file exists, off every other function's cold start."""
    if not registrations_file().exists():
        return ()
    from functions.task_types.registered import registered_types  # noqa: PLC0415

    return registered_types()


TASK_TYPES = TaskTypes(
    Simulated(),
    Webhook(),
    registered=_registered,
)
if TASK_TYPES.default.name != DEFAULT_TYPE:  # pragma: no cover - a contributor's slip, caught at import
    raise RuntimeError(
        f"the default task type is {TASK_TYPES.default.name}; DEFAULT_TYPE says {DEFAULT_TYPE}"
    )
