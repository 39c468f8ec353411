"""Run our real handlers when moto's Lambda backend invokes a function.

moto has no Docker engine here, and its "simple" Lambda backend only echoes, so neither the
state machine's ``lambda:invoke`` integration nor ``lambda.invoke`` would run our code. This
adapter replaces ``moto.awslambda.models.LambdaFunction._invoke_lambda`` (which returns
``(payload, errored, logs)``; verified against moto 5.2.5, pinned in pyproject.toml): it
imports the function's handler string, calls it in-process with a Lambda context, and reports
an exception as a ``FunctionError`` payload ``{"errorType", "errorMessage", "stackTrace"}``,
so Retry and Catch match our exception class names exactly as on AWS.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import queue
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import moto
from moto.awslambda.models import LambdaFunction

from functions.common.config import function_environment

SUPPORTED_MOTO = "5.2.5"
Handler = Callable[[Any, Any], Any]
InvokeHook = Callable[[str, Any], None]
"""Called with (function name, event) before each invocation: fault injection, counting."""
AfterHook = Callable[[str, Any, Any], None]
"""Called with (function name, event, result) after a handler returned; raising turns the
invocation into a function error after its work was done (a crash before the response)."""
InvokeListener = Callable[[str, Any, Any, "Invocation"], None]
"""Called with (function name, event, result or error payload, invocation) after each one."""


@dataclass
class LambdaContext:
    """The attributes of the Lambda Python runtime's context object that handlers read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    invoked_function_arn: str
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    identity: Any = None
    client_context: Any = None
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    function_name: str
    errored: bool
    error_type: str | None
    duration_ms: float


def error_payload(exc: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc)[-5:],
    }


def resolve_handler(handler: str, fresh: bool = False) -> Handler:
    """The handler callable. ``fresh`` runs the module's init again in a new module object,
    as a new Lambda execution environment would (its own globals, clients, resolver)."""
    module_name, _, attribute = handler.rpartition(".")
    if not fresh:
        function: Handler = getattr(importlib.import_module(module_name), attribute)
        return function
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(module_name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh_function: Handler = getattr(module, attribute)
    return fresh_function


class _Environments:
    """Execution environments of one function: an invocation takes an idle one or initialises
    another, so concurrent invocations never share a handler module's globals (Powertools'
    resolver and batch processor keep per-invocation state on module-level objects)."""

    def __init__(self, handler: str) -> None:
        self._handler = handler
        self._idle: queue.SimpleQueue[Handler] = queue.SimpleQueue()
        self._idle.put(resolve_handler(handler))
        self._lock = threading.Lock()
        self.count = 1

    @contextmanager
    def acquire(self) -> Iterator[Handler]:
        try:
            handler = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                handler = resolve_handler(self._handler, fresh=True)
                self.count += 1
        try:
            yield handler
        finally:
            self._idle.put(handler)


class LocalLambdaRuntime:
    """Handlers invoked in this process, looked up by the moto function's name."""

    def __init__(self, isolate_concurrent_invocations: bool = False) -> None:
        """``isolate_concurrent_invocations``: give concurrent invocations of a function their own
        execution environment, as Lambda does (the local stack). Off, every invocation runs in the
        one imported module, so tests can reach into it."""
        self._isolate = isolate_concurrent_invocations
        self._handlers: dict[str, Handler] = {}
        self._variables: dict[str, dict[str, str]] = {}
        self._environments: dict[str, _Environments] = {}
        self._lock = threading.Lock()
        self._original: Any = None
        self.hooks: list[InvokeHook] = []
        self.after_hooks: list[AfterHook] = []
        self.listeners: list[InvokeListener] = []
        self.invocations: list[Invocation] = []
        self.keep_invocations = True

    def register(
        self, function_name: str, handler: str, environment: Mapping[str, str] | None = None
    ) -> None:
        """Import ``handler``; its invocations see ``environment`` as the function's own
        variables (``function_environment``), as each Lambda function has only its own."""
        self._variables[function_name] = dict(environment or {})
        if self._isolate:
            self._environments[function_name] = _Environments(handler)
        else:
            self._handlers[function_name] = resolve_handler(handler)

    def variables(self, function_name: str) -> dict[str, str]:
        return dict(self._variables.get(function_name, {}))

    def environment_count(self, function_name: str) -> int:
        environments = self._environments.get(function_name)
        return environments.count if environments else int(function_name in self._handlers)

    def install(self) -> None:
        if moto.__version__ != SUPPORTED_MOTO:
            raise RuntimeError(
                f"LocalLambdaRuntime is verified against moto {SUPPORTED_MOTO}, not {moto.__version__}"
            )
        if self._original is not None:
            return
        self._original = LambdaFunction._invoke_lambda
        runtime = self

        def _invoke_lambda(function: LambdaFunction, event: str | None = None) -> tuple[str, bool, str]:
            return runtime.invoke(function, event)

        LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign, assignment]

    def uninstall(self) -> None:
        if self._original is not None:
            LambdaFunction._invoke_lambda = self._original  # type: ignore[method-assign]
            self._original = None

    @contextmanager
    def installed(self) -> Iterator[LocalLambdaRuntime]:
        self.install()
        try:
            yield self
        finally:
            self.uninstall()

    def invoke(self, function: LambdaFunction, event: str | None) -> tuple[str, bool, str]:
        """moto's entry point: the state machine's lambda:invoke and the Lambda Invoke API."""
        payload = json.loads(event) if isinstance(event, str | bytes) and event else (event or {})
        context = LambdaContext(
            function_name=function.function_name,
            memory_limit_in_mb=int(function.memory_size),
            timeout_seconds=int(function.timeout),
            invoked_function_arn=function.function_arn,
        )
        outcome, errored = self.call(payload, context)
        return json.dumps(outcome), errored, ""

    def call(self, payload: Any, context: LambdaContext) -> tuple[Any, bool]:
        """Run the handler registered for ``context.function_name``: (result, False), or
        (``{"errorType", "errorMessage", "stackTrace"}``, True) if it raised."""
        name = context.function_name
        if name in self._environments:
            with self._environments[name].acquire() as handler:
                return self._run(handler, payload, context)
        if name in self._handlers:
            return self._run(self._handlers[name], payload, context)
        return error_payload(LookupError(f"function {name} has no local handler registered")), True

    def _run(self, handler: Handler, payload: Any, context: LambdaContext) -> tuple[Any, bool]:
        name = context.function_name
        started = time.perf_counter()
        try:
            with function_environment(self._variables.get(name, {})):
                for hook in list(self.hooks):
                    hook(name, payload)
                result = handler(payload, context)
                for after in list(self.after_hooks):
                    after(name, payload, result)
        except Exception as exc:
            error = error_payload(exc)
            self._record(Invocation(name, True, type(exc).__name__, _ms(started)), payload, error)
            return error, True
        self._record(Invocation(name, False, None, _ms(started)), payload, result)
        return result, False

    def _record(self, invocation: Invocation, event: Any, outcome: Any) -> None:
        if self.keep_invocations:
            with self._lock:
                self.invocations.append(invocation)
        for listener in list(self.listeners):
            listener(invocation.function_name, event, outcome, invocation)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
