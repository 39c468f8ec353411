"""Run our real handlers when moto's Lambda backend invokes a function, failing as Lambda fails.

moto's "simple" Lambda backend only echoes, so this adapter replaces its ``_invoke_lambda``
(moto 5.2.5): the handler runs in-process with a Lambda context, in an execution environment of
its own (a fresh import per concurrent environment, each invocation with its own Logger keys),
and a failure is reported with the ``errorType`` Lambda gives: the exception's class name,
``Sandbox.Timedout`` at the function's timeout, ``Runtime.ExitError`` on a process exit (then
the environment is reset). docs/contributing/FIDELITY.md lists each behaviour with AWS's and its test.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import queue
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import moto
from moto.awslambda.models import LambdaFunction
from moto.core.exceptions import JsonRESTError

from functions.common.cold_start import INITIALIZATION_TYPE
from functions.common.config import function_environment
from local.logs import CloudWatchLogSink, invocation_scope

SUPPORTED_MOTO = "5.2.5"
Handler = Callable[[Any, Any], Any]
InvokeHook = Callable[[str, Any], None]
"""Called with (function name, event) before each invocation: fault injection, counting."""
AfterHook = Callable[[str, Any, Any], None]
"""Called with (function name, event, result) after a handler returned; raising turns the
invocation into a function error after its work was done (a crash before the response)."""
InvokeListener = Callable[[str, Any, Any, "InvocationRecord"], None]
"""Called with (function name, event, result or error payload, invocation) after each one."""


class LambdaServiceError(Exception):
    """Raised by a ``service_faults`` hook: the Lambda service refuses the Invoke request itself
    (no function runs), as AWS's can; Step Functions names the failure ``Lambda.<code>``."""

    def __init__(self, code: str, message: str = "injected by the local runtime") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class LocalLambdaContext:
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

    def restart_clock(self, seconds: float) -> None:
        """The invocation starts now and may run ``seconds`` (the scaled timeout)."""
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class InvocationRecord:
    function_name: str
    errored: bool
    error_type: str | None
    duration_ms: float


def error_payload(exc: BaseException) -> dict[str, Any]:
    """An unhandled exception as the Python runtime reports it: its class name, its message and
    its traceback from the handler down (the runtime's own frames left out, as AWS's
    ``bootstrap.py`` leaves out its own)."""
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename != __file__]
    return {  # in the order the runtime writes them
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_list(frames),
    }


def resolve_handler(handler: str, fresh: bool = False) -> tuple[ModuleType, Handler]:
    """The handler's module and callable. ``fresh`` runs the module's init again in a new module
    object, as a new Lambda execution environment would (its own globals, clients, resolver)."""
    module_name, _, attribute = handler.rpartition(".")
    if not fresh:
        module = importlib.import_module(module_name)
    else:
        spec = importlib.util.find_spec(module_name)
        if spec is None or spec.loader is None:
            raise ModuleNotFoundError(module_name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    function: Handler = getattr(module, attribute)
    return module, function


LAMBDA_VARIABLES = {INITIALIZATION_TYPE: "on-demand"}
"""What Lambda itself sets in an execution environment and our handlers read."""


def initialise(handler: str, variables: Mapping[str, str], fresh: bool = False) -> Handler:
    """Lambda's INIT phase for one execution environment: import the handler module with the
    function's own variables, as Lambda does; the module builds its dependencies as it ends
    (``build_during_init``). A module imported before (``fresh=False``) has them built here.
    As on Lambda, this time does not count against the invocation's timeout."""
    with function_environment({**variables, **LAMBDA_VARIABLES}):
        module, function = resolve_handler(handler, fresh=fresh)
        build = getattr(module, "dependencies", None)
        if callable(build):
            build()
    return function


def invocation_local_log_keys(formatter: logging.Formatter) -> Callable[[], None]:
    """Make a Powertools formatter's keys (its ``log_format``) local to each invocation thread,
    starting from the keys it holds now, as each Lambda process has its own Logger. Each
    invocation runs in a new thread, which starts with an empty ``contextvars`` context, so it
    sees a fresh copy. Returns the function that restores the shared state."""
    keys: ContextVar[dict[str, Any]] = ContextVar(f"log_keys_{id(formatter)}")
    initial = dict(formatter.__dict__.pop("log_format"))
    shared_class = type(formatter)

    def get(_: logging.Formatter) -> dict[str, Any]:
        try:
            return keys.get()
        except LookupError:
            mine = dict(initial)
            keys.set(mine)
            return mine

    def set_(_: logging.Formatter, value: dict[str, Any]) -> None:
        keys.set(value)

    formatter.__class__ = type(
        f"InvocationLocal{shared_class.__name__}", (shared_class,), {"log_format": property(get, set_)}
    )

    def restore() -> None:
        formatter.__class__ = shared_class
        formatter.__dict__["log_format"] = dict(initial)

    return restore


@dataclass
class _Environment:
    handler: Handler
    discarded: bool = False

    def discard(self) -> None:
        """The environment died (timeout, process exit): it is never handed out again."""
        self.discarded = True


class _Environments:
    """Execution environments of one function: an invocation takes an idle one or initialises
    another, so concurrent invocations never share a handler module's globals (Powertools'
    resolver and batch processor keep per-invocation state on module-level objects)."""

    def __init__(self, handler: str, variables: Mapping[str, str]) -> None:
        self._handler = handler
        self._variables = dict(variables)
        self._idle: queue.SimpleQueue[Handler] = queue.SimpleQueue()
        self._idle.put(initialise(handler, self._variables))
        self._lock = threading.Lock()
        self.count = 1

    @contextmanager
    def acquire(self) -> Iterator[_Environment]:
        try:
            handler = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                handler = initialise(self._handler, self._variables, fresh=True)
                self.count += 1
        environment = _Environment(handler)
        try:
            yield environment
        finally:
            if not environment.discarded:
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
        self.init_hooks: list[InvokeHook] = []
        """Run before the invocation's clock starts: their time is INIT's, which Lambda runs
        outside the function's timeout (a slow cold start)."""
        self.service_faults: list[InvokeHook] = []
        """Run when the Lambda service is asked to invoke (the Invoke API, the state machine's
        lambda:invoke); one that raises ``LambdaServiceError`` fails the request itself."""
        self.after_hooks: list[AfterHook] = []
        self.listeners: list[InvokeListener] = []
        self.invocations: list[InvocationRecord] = []
        self.keep_invocations = True
        self.log_sink: CloudWatchLogSink | None = None
        """Where each invocation's log lines go (the emulator's CloudWatch Logs), if anywhere."""
        self.timeout_scale = 1.0
        """Multiplies every function's timeout (local time scale); ``timeout_floor`` bounds it."""
        self.timeout_floor = 0.0

    def register(
        self, function_name: str, handler: str, environment: Mapping[str, str] | None = None
    ) -> None:
        """Import ``handler``; its invocations see ``environment`` as the function's own
        variables (``function_environment``), as each Lambda function has only its own, beside
        the ones Lambda itself sets (``LAMBDA_VARIABLES``)."""
        self._variables[function_name] = {**(environment or {}), **LAMBDA_VARIABLES}
        if self._isolate:
            self._environments[function_name] = _Environments(handler, self._variables[function_name])
        else:
            self._handlers[function_name] = resolve_handler(handler)[1]

    def variables(self, function_name: str) -> dict[str, str]:
        return dict(self._variables.get(function_name, {}))

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
        try:
            for fault in list(self.service_faults):
                fault(function.function_name, payload)
        except LambdaServiceError as exc:
            raise JsonRESTError(exc.code, exc.message) from exc
        context = LocalLambdaContext(
            function_name=function.function_name,
            memory_limit_in_mb=int(function.memory_size),
            timeout_seconds=int(function.timeout),
            invoked_function_arn=function.function_arn,
        )
        outcome, errored = self.call(payload, context)
        return json.dumps(outcome), errored, ""

    def call(self, payload: Any, context: LocalLambdaContext) -> tuple[Any, bool]:
        """Run the handler registered for ``context.function_name``: (result, False), or
        (``{"errorType", "errorMessage", "stackTrace"}``, True) if it raised."""
        name = context.function_name
        if name in self._environments:
            with self._environments[name].acquire() as environment:
                outcome, errored, environment_died = self._run(environment.handler, payload, context)
                if environment_died:
                    environment.discard()
                return outcome, errored
        if name in self._handlers:
            outcome, errored, _ = self._run(self._handlers[name], payload, context)
            return outcome, errored
        return error_payload(LookupError(f"function {name} has no local handler registered")), True

    def _run(self, handler: Handler, payload: Any, context: LocalLambdaContext) -> tuple[Any, bool, bool]:
        """(result or error payload, errored, whether the execution environment died)."""
        name = context.function_name
        for init_hook in list(self.init_hooks):
            init_hook(name, payload)
        limit = max(self.timeout_floor, context.timeout_seconds * self.timeout_scale)
        context.restart_clock(limit)
        started = time.perf_counter()
        finished: queue.SimpleQueue[tuple[Any, BaseException | None]] = queue.SimpleQueue()
        variables = self._variables.get(name, {})

        sink = self.log_sink
        memory = context.memory_limit_in_mb
        if sink is not None:
            sink.start_line(name, context.aws_request_id)

        def invocation() -> None:
            try:
                with function_environment(variables), invocation_scope(name, context.aws_request_id):
                    for hook in list(self.hooks):
                        hook(name, payload)
                    result = handler(payload, context)
                    for after in list(self.after_hooks):
                        after(name, payload, result)
            except BaseException as exc:
                finished.put((None, exc))
            else:
                finished.put((result, None))

        threading.Thread(target=invocation, name=f"invoke-{name}", daemon=True).start()
        outcome, errored, died = _outcome(finished, limit, context.aws_request_id)
        error_type = outcome["errorType"] if errored else None
        self._record(InvocationRecord(name, errored, error_type, _ms(started)), payload, outcome)
        if sink is not None:
            sink.end_lines(name, context.aws_request_id, _ms(started), memory, outcome if errored else None)
        return outcome, errored, died

    def _record(self, invocation: InvocationRecord, event: Any, outcome: Any) -> None:
        if self.keep_invocations:
            with self._lock:
                self.invocations.append(invocation)
        for listener in list(self.listeners):
            listener(invocation.function_name, event, outcome, invocation)


def _outcome(
    finished: queue.SimpleQueue[tuple[Any, BaseException | None]], limit: float, request_id: str
) -> tuple[Any, bool, bool]:
    """How the invocation ended, as Lambda reports it: (result or error payload, errored,
    whether the execution environment died)."""
    try:
        result, exc = finished.get(timeout=limit)
    except queue.Empty:
        timed_out = {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"{request_id} Task timed out after {limit:.2f} seconds",
        }
        return timed_out, True, True
    if isinstance(exc, SystemExit):
        status = exc.code if isinstance(exc.code, int) else 1
        exited = {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {status}",
        }
        return exited, True, True
    if exc is not None:
        return error_payload(exc), True, False
    return result, False, False


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
