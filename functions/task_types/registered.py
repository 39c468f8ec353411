"""Task types that run the user's own Lambda functions (README, "Your own task types").

A stage registers them in its options (``taskTypes`` in ``stages/<stage>.json``); synthesis
checks each one, reads its JSON Schema file and writes the registrations, schemas included, into
the functions' asset as one file (``registry.REGISTRATIONS_FILE``): Lambda's environment variables hold
4 KB in all, a schema alone can be more. The api reads the file to check a body at submit and to
list the types; the state machine (generated per stage: infra/workflow_definition.py) invokes
the function itself. Nothing here runs a registered type's work.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from functions.common.config import MAX_PAYLOAD_BYTES
from functions.common.errors import PermanentTaskError, invalid_task_payload
from functions.task_types.registry import TYPE_FIELD, Attempt, TaskType, registrations_file

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,31}$"
"""A registered type's name: lower-case words and hyphens, at most 32 characters (it names states
and a substitution of the generated definition)."""
FUNCTION_PATTERN = re.compile(
    r"^(?:[A-Za-z0-9_-]{1,64}"
    r"|arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(?::(?:\$LATEST|[A-Za-z0-9_-]{1,128}))?)$"
)
"""A function's name (in the stage's account and region) or its ARN, plain or qualified by a
version or an alias (Lambda's Invoke accepts these; a partial ARN is refused to keep grants exact)."""
PERMANENT_ERROR = PermanentTaskError.__name__
"""The error name that fails a task at once, whatever the type's retry policy."""
MAX_ATTEMPTS_LIMIT = 10
MAX_TIMEOUT_SECONDS = 900
"""Lambda's longest function timeout; the Express bound allows far less (synth says how much)."""
ERROR_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.]{0,127}$"
STATE_DATA_MAX_BYTES = 256 * 1024
"""Step Functions' cap on a state's input, output and a service integration's result
(docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html): over it, the state fails
with ``States.DataLimitExceeded``. A registered type's payload (within the API's body limit,
``MAX_PAYLOAD_BYTES``) and its function's result travel in the execution's data."""
RESULT_MAX_BYTES = MAX_PAYLOAD_BYTES
"""The function's result, as JSON: the record keeps what the API takes in (and Step Functions'
cap, with the invocation's metadata, is above it: ``check_state_data``)."""
STATE_DATA_RESERVE_BYTES = 8 * 1024
"""What else a state's data holds beside a payload or a result: the task's id, shard and run, the
Lambda integration's response metadata."""


def check_state_data() -> None:
    """A payload or a result as large as they may be still fits a state's data."""
    if MAX_PAYLOAD_BYTES + STATE_DATA_RESERVE_BYTES > STATE_DATA_MAX_BYTES:
        raise ValueError(
            f"the API's body limit ({MAX_PAYLOAD_BYTES} B) and the state's other data "
            f"({STATE_DATA_RESERVE_BYTES} B) exceed Step Functions' {STATE_DATA_MAX_BYTES} B"
        )


class _Options(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid", defer_build=True
    )


class RetrySpec(_Options):
    """The type's retry policy: Step Functions' Retry fields, for every error but the permanent
    ones and the Lambda service's own (retried apart, not counted as attempts)."""

    max_attempts: int = Field(default=2, ge=0, le=MAX_ATTEMPTS_LIMIT)
    interval_seconds: int = Field(default=2, ge=1, le=3600)
    backoff_rate: float = Field(default=2.0, ge=1.0, le=10.0)
    max_delay_seconds: int | None = Field(default=None, ge=1, le=3600)
    jitter: Literal["FULL", "NONE"] = "FULL"
    service_error_retries: int = Field(default=2, ge=0, le=3)
    """Retries of the Lambda service's own errors (Invoke throttled or failed: the function did not
    run), apart from ``maxAttempts``; each counts in the Express bound as a whole attempt."""


class Registration(_Options):
    """One registered type, as the functions' asset carries it."""

    name: str = Field(pattern=NAME_PATTERN)
    function: str
    description: str = Field(default="", max_length=256)
    timeout_seconds: int = Field(ge=1, le=MAX_TIMEOUT_SECONDS)
    """The function's own timeout, as deployed; the state's is this plus Lambda's INIT limit."""
    retry: RetrySpec = RetrySpec()
    permanent_errors: tuple[str, ...] = ()
    """Error names (besides ``PermanentTaskError``) that fail the task at once."""
    payload_schema: dict[str, Any] | None = Field(default=None, alias="schema")

    @field_validator("function")
    @classmethod
    def _function(cls, value: str) -> str:
        if not FUNCTION_PATTERN.fullmatch(value):
            raise ValueError(
                "a function name or a function ARN (arn:aws:lambda:<region>:<account>:function:<name>)"
            )
        return value

    @field_validator("permanent_errors")
    @classmethod
    def _errors(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not re.fullmatch(ERROR_NAME_PATTERN, name) or name.startswith("States."):
                raise ValueError(f"{name!r} is not an error name a function raises")
        return value


def check_schema(schema: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` if ``schema`` is not a JSON Schema the validator compiles."""
    import fastjsonschema  # noqa: PLC0415

    try:
        fastjsonschema.compile(dict(schema))
    except (fastjsonschema.JsonSchemaDefinitionException, TypeError, ValueError) as exc:
        raise ValueError(f"not a JSON Schema the validator accepts ({exc})") from exc


class Registrations(_Options):
    """The registrations file: every registered type."""

    types: tuple[Registration, ...] = ()


class _Body(BaseModel):
    """A registered type's body as the OpenAPI document shows it: ``type`` and the payload's fields."""

    model_config = ConfigDict(extra="allow")


class RegisteredType(TaskType[_Body]):
    """A registered type as the api sees it: its body is ``{"type": <name>, ...payload}``, the
    payload checked against the registered schema. Its attempts run in the user's function."""

    payload = _Body

    def __init__(self, registration: Registration) -> None:
        self.registration = registration
        self.name = registration.name  # type: ignore[misc]
        # Never the function's name or ARN by default: GET /task-types answers every caller.
        self.description = registration.description or "Runs in the stage's registered function"  # type: ignore[misc]

    @cached_property
    def _check(self) -> Callable[[dict[str, Any]], Any] | None:
        """The schema compiled once for this type (fastjsonschema generates its code)."""
        if self.registration.payload_schema is None:
            return None
        import fastjsonschema  # noqa: PLC0415 - only where a registered type is submitted

        check: Callable[[dict[str, Any]], Any] = fastjsonschema.compile(self.registration.payload_schema)
        return check

    def payload_problems(self, payload: Mapping[str, Any]) -> dict[str, str]:
        """What the schema refuses in ``payload`` (field path → problem); empty when it is valid."""
        if self._check is None:
            return {}
        import fastjsonschema  # noqa: PLC0415

        try:
            self._check(dict(payload))
        except fastjsonschema.JsonSchemaValueException as exc:
            path = ".".join(str(part) for part in (exc.path or [])[1:])
            return {path: exc.message.replace(str(exc.name), path or "body", 1) if exc.name else exc.message}
        return {}

    def parse(self, body: Mapping[str, Any]) -> _Body:
        payload = payload_of(body)
        problems = self.payload_problems(payload)
        if problems:
            raise invalid_task_payload(self.name, problems)
        return _Body.model_validate(dict(body))

    def run(self, payload: _Body, attempt: Attempt) -> dict[str, Any]:
        raise PermanentTaskError(
            f"task type {self.name} runs in its registered function, not in the process function"
        )

    @property
    def json_schema(self) -> dict[str, Any]:
        schema = dict(self.registration.payload_schema or {"type": "object"})
        properties = {TYPE_FIELD: {"const": self.name}, **dict(schema.get("properties", {}))}
        required = [TYPE_FIELD, *schema.get("required", [])]
        return {**schema, "type": "object", "properties": properties, "required": required}


def payload_of(body: Mapping[str, Any]) -> dict[str, Any]:
    """What the function receives as ``payload``: the body without its ``type``."""
    return {key: value for key, value in body.items() if key != TYPE_FIELD}


def registered_types() -> tuple[RegisteredType, ...]:
    """The types this function was deployed with (none if the asset carries no file): built once
    per file, so each type's schema is compiled once per execution environment."""
    path = registrations_file()
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        return ()
    return _types(str(path), stamp)


@cache
def _types(path: str, stamp: int) -> tuple[RegisteredType, ...]:
    del stamp  # part of the cache key: a rewritten file is read again
    registrations = Registrations.model_validate_json(Path(path).read_bytes())
    return tuple(RegisteredType(registration) for registration in registrations.types)
