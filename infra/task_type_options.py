"""A stage's registered task types (``taskTypes`` in ``stages/<stage>.json``), read and checked.

Each entry names the user's Lambda function and the type's timeout, retry policy, permanent
errors, payload schema file and, for the local stack, a Python handler. Every refusal is one line
naming the type and what to change; the Express bound is checked on the generated definition.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from functions.task_types import TASK_TYPES
from functions.task_types.registered import Registration, Registrations, check_schema
from infra.generated_workflow import type_worst_case
from infra.limits import Timings
from infra.workflow_definition import REPO_ROOT

LOCAL_HANDLER_KEY = "localHandler"
SCHEMA_KEY = "schema"


class TaskTypeOptionError(ValueError):
    """One registered type refused: its name and what to change, in one line."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"taskTypes.{name}: {reason}")
        self.name = name


def _problems(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'entry'}: {problem['msg']}"
        for problem in error.errors(include_url=False, include_context=False, include_input=False)
    )


def _schema(name: str, given: Any, base: Path) -> dict[str, Any] | None:
    if given is None:
        return None
    if not isinstance(given, str) or not given:
        raise TaskTypeOptionError(name, "schema: the path of a JSON Schema file (from the repository root)")
    path = Path(given) if Path(given).is_absolute() else base / given
    if not path.is_file():
        raise TaskTypeOptionError(name, f"schema: no file {given} (paths are from the repository root)")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise TaskTypeOptionError(name, f"schema: {given} is not JSON ({error})") from error
    if not isinstance(document, dict):
        raise TaskTypeOptionError(name, f"schema: {given} must hold a JSON object")
    try:
        check_schema(document)
    except ValueError as error:
        raise TaskTypeOptionError(name, f"schema: {given} is {error}") from error
    return document


def _registration(name: str, entry: Any, base: Path) -> Registration:
    if not isinstance(entry, dict):
        raise TaskTypeOptionError(name, "a JSON object (function, timeoutSeconds, retry, ...)")
    if name in {task_type.name for task_type in TASK_TYPES.built_in()}:
        raise TaskTypeOptionError(name, "is a built-in task type's name; choose another")
    options = {key: value for key, value in entry.items() if key not in (LOCAL_HANDLER_KEY, SCHEMA_KEY)}
    try:
        return Registration.model_validate(
            {**options, "name": name, SCHEMA_KEY: _schema(name, entry.get(SCHEMA_KEY), base)}
        )
    except ValidationError as error:
        raise TaskTypeOptionError(name, _problems(error)) from error


@dataclass(frozen=True)
class RegisteredTypes:
    """The stage's registrations, as the functions' asset carries them, and the local handlers."""

    registrations: tuple[Registration, ...] = ()
    local_handlers: Mapping[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.registrations)

    @classmethod
    def parse(cls, raw: Any, base: Path = REPO_ROOT) -> RegisteredTypes:
        """``taskTypes`` as the stage file (a JSON object) or ``--context`` (its JSON text) gives it."""
        if isinstance(raw, RegisteredTypes):
            return raw
        if isinstance(raw, str):
            try:
                raw = json.loads(raw) if raw.strip() else {}
            except ValueError as error:
                raise TaskTypeOptionError("*", f"not JSON ({error})") from error
        if not isinstance(raw, dict):
            raise TaskTypeOptionError("*", "a JSON object: type name -> its registration")
        registrations, handlers = [], {}
        for name, entry in raw.items():
            registrations.append(_registration(name, entry, base))
            handler = entry.get(LOCAL_HANDLER_KEY)
            if handler is not None:
                if not isinstance(handler, str) or "." not in handler:
                    raise TaskTypeOptionError(name, "localHandler: a Python handler, module.function")
                handlers[name] = handler
        return cls(tuple(registrations), handlers)

    def file(self) -> Registrations:
        """What the functions' asset carries (``functions/task_types/registered_types.json``)."""
        return Registrations(types=self.registrations)

    def file_text(self) -> str:
        return self.file().model_dump_json(by_alias=True, exclude_none=True, indent=2) + "\n"

    def check(self, definition: dict[str, Any], timings: Timings) -> None:
        """Refuse a type whose execution, in the stage's generated ``definition``, could outlast
        the Express limit less its margin."""
        for registration in self.registrations:
            worst = type_worst_case(definition, registration.name)
            if worst.total > timings.express_budget_seconds:
                raise TaskTypeOptionError(
                    registration.name,
                    f"worst-case execution {worst.arithmetic()} > {timings.express_budget_seconds} s "
                    f"(Express's {timings.express_limit_seconds} s less a {timings.express_margin_seconds} "
                    "s margin): lower timeoutSeconds, retry.maxAttempts or retry.serviceErrorRetries",
                )
