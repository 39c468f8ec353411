"""The in-process Lambda runtime the tests and the local stack share."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from local.lambda_runtime import LambdaContext, LocalLambdaRuntime

pytestmark = pytest.mark.integration
HANDLER = "tests.fixtures.sample_handler.lambda_handler"


def _context() -> LambdaContext:
    return LambdaContext(
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
    assert len({result["environment"] for result in results.values()}) == 3
    assert runtime.environment_count("sample") == 3
    runtime.call({"index": 9}, _context())
    assert runtime.environment_count("sample") == 3, "an idle environment is reused"


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
