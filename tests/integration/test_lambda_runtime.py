"""The in-process Lambda runtime the tests and the local stack share."""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import threading
import time
from typing import Any

import pytest

from functions.common.config import Env
from infra.names import Function
from infra.spec import FUNCTIONS
from infra.stage_config import StageConfig
from local.lambda_runtime import LocalLambdaContext, LocalLambdaRuntime, initialise, invocation_local_log_keys

HANDLER = "tests.fixtures.sample_handler.lambda_handler"


def _context() -> LocalLambdaContext:
    return LocalLambdaContext(
        function_name="sample", memory_limit_in_mb=128, timeout_seconds=3, invoked_function_arn="arn"
    )


def test_concurrent_invocations_get_their_own_execution_environment() -> None:
    runtime = LocalLambdaRuntime(isolate_concurrent_invocations=True)
    runtime.register("sample", HANDLER)
    results: dict[int, Any] = {}

    def call(index: int) -> None:
        results[index], _ = runtime.call({"index": index, "sleep": 0.2}, _context())

    threads = [threading.Thread(target=call, args=(index,)) for index in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(results[index]["seen"]["index"] == index for index in range(3))
    environments = {result["environment"] for result in results.values()}
    assert len(environments) == 3
    again, _ = runtime.call({"index": 9}, _context())
    assert again["environment"] in environments, "an idle environment is reused"


def test_a_handler_exception_becomes_a_function_error_payload() -> None:
    runtime = LocalLambdaRuntime()
    runtime.register("sample", HANDLER)
    seen: list[Any] = []
    runtime.listeners.append(lambda name, event, outcome, invocation: seen.append((name, invocation.errored)))

    outcome, errored = runtime.call({"fail": True}, _context())

    assert errored
    assert outcome["errorType"] == "SampleError"
    assert outcome["errorMessage"] == "asked to fail"
    assert outcome["stackTrace"]
    assert seen == [("sample", True)]
    assert runtime.invocations[-1].error_type == "SampleError"


def test_an_unregistered_function_is_an_error_not_a_crash() -> None:
    outcome, errored = LocalLambdaRuntime().call({}, _context())
    assert errored
    assert outcome["errorType"] == "LookupError"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


def _concurrent_logging_invocations(isolated: bool) -> list[dict[str, Any]]:
    from tests.fixtures.logging_handler import logger

    formatter = logger.registered_formatter
    lines = _Lines()
    lines.setFormatter(formatter)
    service = logging.getLogger(logger.name)
    service.addHandler(lines)
    restore = invocation_local_log_keys(formatter) if isolated else None
    runtime = LocalLambdaRuntime(isolate_concurrent_invocations=True)
    runtime.register("sample", "tests.fixtures.logging_handler.lambda_handler")
    try:
        threads = [
            threading.Thread(
                target=runtime.call, args=({"taskId": f"task-{index}", "sleep": 0.3}, _context())
            )
            for index in range(3)
        ]
        for thread in threads:
            thread.start()
            time.sleep(0.05)
        for thread in threads:
            thread.join()
    finally:
        service.removeHandler(lines)
        if restore is not None:
            restore()
    return lines.lines


def test_concurrent_invocations_keep_their_own_logger_keys() -> None:
    """One process runs the local stack's concurrent invocations, which on Lambda are separate
    processes: without invocation-local keys the last ``append_keys`` (or ``clear_state``) of one
    invocation shows up in another's lines."""
    lines = _concurrent_logging_invocations(isolated=True)

    finished = [line for line in lines if line["message"] == "finished"]
    assert len(finished) == 3
    for line in finished:
        started = next(
            s
            for s in lines
            if s["message"] == "started" and s["function_request_id"] == line["function_request_id"]
        )
        assert line["taskId"] == started["taskId"], lines
    assert {line["taskId"] for line in finished} == {"task-0", "task-1", "task-2"}


def test_without_invocation_local_keys_the_keys_leak_between_invocations() -> None:
    """The premise of the test above: Powertools keeps the keys on one shared formatter."""
    lines = _concurrent_logging_invocations(isolated=False)

    finished = [line for line in lines if line["message"] == "finished"]
    assert {line["taskId"] for line in finished} != {"task-0", "task-1", "task-2"}


@pytest.mark.parametrize("function", list(Function))
def test_init_builds_each_handlers_dependencies_before_the_first_invocation(function: Function) -> None:
    """As on Lambda, INIT (the module's import) builds settings and clients with the function's
    own variables; the first invocation then pays none of it."""
    values = {
        **StageConfig(stage="test").environment_values(),
        Env.TASKS_TABLE: "tasks",
        Env.TASKS_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/000000000000/tasks",
        Env.TASKS_QUEUE_ARN: "arn:aws:sqs:us-east-1:000000000000:tasks",
        Env.SCHEDULE_GROUP: "ptm-test",
        Env.SCHEDULER_ROLE_ARN: "arn:aws:iam::000000000000:role/scheduler",
        Env.RECURRING_SCHEDULE_GROUP: "ptm-test-recurring",
        Env.SCHEDULES_TABLE: "schedules",
        Env.LIMITS_TABLE: "limits",
        Env.DEAD_LETTER_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/000000000000/dlq",
        Env.STATE_MACHINE_ARN: "arn:aws:states:us-east-1:000000000000:stateMachine:sm",
        Env.DISPATCH_MAPPING_ID: "00000000-0000-0000-0000-000000000000",
    }

    importlib.import_module(function.module)  # as the runtime's first environment does
    handler = initialise(function.handler, FUNCTIONS[function].environment(values), fresh=True)

    dependencies = inspect.unwrap(handler).__globals__["dependencies"]
    assert dependencies.cache_info().currsize == 1
