"""The task-type registry: what a task of each type accepts and how one attempt of it runs.

A type is one module defining a ``TaskType`` subclass, and one line in
``functions/task_types/__init__.py`` registers it. A type names:

- ``name`` (the body's ``"type"``) and ``description``;
- ``payload``: a pydantic model the whole body is validated against at submit (400 naming the
  fields, nothing stored) and again before each attempt;
- ``admit``: checks beyond the model that need the deployment's settings (the webhook's SSRF
  policy), also run at submit and before each attempt;
- ``run``: one attempt. It returns the result stored on the record, or raises
  ``TaskFailedError`` (retryable: the state machine's backoff retrier) or ``PermanentTaskError``
  (the Catch path: FAILED and dead-lettered). Step Functions matches the error's class name
  exactly, so raise these two classes themselves, never subclasses; anything else a type raises
  is a bug and goes to Catch unretried.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from functions.common.config import Env, current_environment
from functions.common.errors import (
    InvalidRequestError,
    PermanentTaskError,
    TaskTypeDisabledError,
    UnknownTaskTypeError,
    invalid_task_payload,
)
from functions.common.models import Task
from functions.common.signing import SigningKeys
from functions.task_types.destinations import DestinationPolicy

P = TypeVar("P", bound=BaseModel)
TYPE_FIELD = "type"
DEFAULT_TYPE = "simulated"
"""The type of a body without ``"type"`` (the first registered below; checked where they are)."""
REGISTRATIONS_FILE = Path(__file__).with_name("registered_types.json")
"""Where the functions' asset carries the stage's registered types (absent: none registered;
functions/task_types/registered.py reads it)."""


def registrations_file() -> Path:
    """The registrations this function reads: the asset's file, or the one ``PTM_REGISTERED_TYPES_FILE``
    names (the local stack's, a test's: read per call, so one process may serve stacks with
    different registrations)."""
    return Path(current_environment().get(Env.REGISTERED_TYPES_FILE) or REGISTRATIONS_FILE)


@dataclass(frozen=True)
class TaskEnvironment:
    """The deployment's settings a task type may read."""

    failure_rate: float = 0.0
    failure_seed: str | None = None
    destinations: DestinationPolicy = field(default_factory=DestinationPolicy)
    webhooks_enabled: bool = True
    """WEBHOOKS_ENABLED; the deployments' settings default to off (the local stack turns it on)."""
    simulation_allowed: bool = True
    """ALLOW_SIMULATION: whether the API takes ``simulate`` (test controls); the deployments'
    settings default to off, each stage's config says (on except on production stages)."""
    signing_keys: Callable[[], SigningKeys] | None = None
    """The webhook signing secret's active keys (the process function's; None where nothing is
    delivered)."""


@dataclass(frozen=True)
class Attempt:
    """One attempt of a task, as its type's ``run`` sees it."""

    task_id: str
    number: int
    """1-based, over every run of the task."""
    environment: TaskEnvironment
    remaining_seconds: Callable[[], float] = lambda: float("inf")
    """Time left before the function's timeout."""


TaskWork = Callable[["Task", TaskEnvironment, Callable[[], float]], dict[str, Any]]
"""(task, environment, remaining seconds) → result: ``TaskTypes.run``."""


class TaskType(ABC, Generic[P]):
    name: ClassVar[str]
    description: ClassVar[str]
    payload: type[P]

    def disabled(self, environment: TaskEnvironment) -> str | None:
        """None if this deployment runs the type; otherwise how to enable it."""
        del environment
        return None

    def admit(self, payload: P, environment: TaskEnvironment) -> None:
        """Refuse what the model cannot see (raise ``invalid_task_payload(...)``)."""

    def redacted(self, body: dict[str, Any]) -> dict[str, Any]:
        """The stored body as the API shows it: what a caller gave in confidence is hidden."""
        return body

    def limit_host(self, payload: P) -> str | None:
        """The host a ``host:<host>`` limit governs the task by (None: no host limit applies)."""
        del payload
        return None

    @abstractmethod
    def run(self, payload: P, attempt: Attempt) -> dict[str, Any]:
        """One attempt: the result, or ``TaskFailedError`` / ``PermanentTaskError``."""

    def parse(self, body: Mapping[str, Any]) -> P:
        try:
            return self.payload.model_validate(body)
        except ValidationError as exc:
            raise invalid_task_payload(self.name, _problems(exc)) from exc

    def validate(self, body: Mapping[str, Any], environment: TaskEnvironment) -> P:
        """At submit: the model, then ``admit``."""
        payload = self.parse(body)
        self.admit(payload, environment)
        return payload

    @cached_property
    def json_schema(self) -> dict[str, Any]:
        """The body's JSON Schema: generated once per execution environment, not per request."""
        return self.payload.model_json_schema(by_alias=True)


def _problems(exc: ValidationError) -> dict[str, str]:
    problems: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        path = ".".join(str(part) for part in error["loc"])
        problems.setdefault(path, str(error["msg"]))
    return problems


class TaskTypes:
    """The built-in types, and the stage's registered ones (``registered``: read per call, from
    the registrations file the function was deployed with); the first built-in is the default,
    for bodies without ``"type"``."""

    def __init__(
        self, *types: TaskType[Any], registered: Callable[[], Sequence[TaskType[Any]]] = tuple
    ) -> None:
        if not types:
            raise ValueError("register at least the default type")
        self._types = {task_type.name: task_type for task_type in types}
        if len(self._types) != len(types):
            raise ValueError("two task types share a name")
        self.default = types[0]
        self._registered = registered

    def _all(self) -> dict[str, TaskType[Any]]:
        """Built-in types win a name (synthesis refuses a registration that takes one)."""
        registered = {task_type.name: task_type for task_type in self._registered()}
        return {**self._types, **{name: task for name, task in registered.items() if name not in self._types}}

    def __iter__(self) -> Iterator[TaskType[Any]]:
        return iter(self._all().values())

    def built_in(self) -> list[TaskType[Any]]:
        return list(self._types.values())

    def names(self) -> list[str]:
        return list(self._all())

    def is_built_in(self, task_type: TaskType[Any]) -> bool:
        """Whether ``task_type`` (one of these) is built in; otherwise it is registered, and its
        tasks run in the user's function."""
        return self._types.get(task_type.name) is task_type

    def of(self, body: Mapping[str, Any]) -> TaskType[Any]:
        name = body.get(TYPE_FIELD)
        if name is None:
            return self.default
        types = self._all()
        if not isinstance(name, str) or name not in types:
            raise UnknownTaskTypeError(name, sorted(types))
        return types[name]

    def redacted(self, body: dict[str, Any]) -> dict[str, Any]:
        """A stored body as the API shows it, by its type (a type no longer registered: as stored)."""
        try:
            task_type = self.of(body)
        except UnknownTaskTypeError:
            return body
        return task_type.redacted(body)

    def validate(self, body: Mapping[str, Any], environment: TaskEnvironment) -> TaskType[Any]:
        """At submit: the body's type, its payload valid and admitted; raises otherwise."""
        return self.accept(body, environment)[0]

    def accept(
        self, body: Mapping[str, Any], environment: TaskEnvironment
    ) -> tuple[TaskType[Any], str | None]:
        """``validate``, and the host a ``host:`` limit governs the task by."""
        task_type = self.of(body)
        how = task_type.disabled(environment)
        if how is not None:
            raise TaskTypeDisabledError(task_type.name, how)
        payload = task_type.validate(body, environment)
        return task_type, task_type.limit_host(payload)

    def run(
        self, task: Task, environment: TaskEnvironment, remaining_seconds: Callable[[], float]
    ) -> dict[str, Any]:
        """One attempt of ``task`` by its type. A stored payload its type no longer accepts
        (the type was removed or its model changed since submit) fails permanently. ``admit``
        is the type's to repeat in ``run`` where it matters, with the error it chooses (the
        webhook re-checks its destination, and a name that no longer resolves is retryable)."""
        try:
            task_type = self.of(task.payload)
            how = task_type.disabled(environment)
            if how is not None:
                raise TaskTypeDisabledError(task_type.name, how)
            payload = task_type.parse(task.payload)
        except InvalidRequestError as exc:  # unknown, disabled or invalid: no retry will change it
            raise PermanentTaskError(str(exc)) from exc
        return task_type.run(payload, Attempt(task.task_id, task.attempts, environment, remaining_seconds))

    def describe(self, environment: TaskEnvironment) -> list[dict[str, Any]]:
        """``GET /task-types``: each type's name, description, JSON Schema, whether it is the
        default and whether this deployment runs it."""
        return [
            {
                "name": task_type.name,
                "description": task_type.description,
                "default": task_type is self.default,
                "enabled": task_type.disabled(environment) is None,
                "schema": task_type.json_schema,
            }
            for task_type in self
        ]
