"""Lambda failures as AWS reports them, through the real ASL: a process exit is
``Runtime.ExitError``, an overrun is ``Sandbox.Timedout``, out of memory is
``Runtime.OutOfMemory``; all are retried as transient (docs/contributing/FIDELITY.md)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from functions.common.models import TaskStatus
from infra.names import Function
from local.lambda_runtime import InvokeHook, LambdaServiceError
from tests.fixtures.stack import NAMES, Stack
from tests.workflow.conftest import dead_letters, run_task


def _first_process_invocation(action: Callable[[], None]) -> InvokeHook:
    """A runtime hook that runs ``action`` on the process function's first invocation only."""
    done: list[str] = []

    def once(function_name: str, event: Any) -> None:
        if function_name == NAMES.function(Function.PROCESS) and not done:
            done.append(function_name)
            action()

    return once


def _errors(stack: Stack, execution_arn: str) -> list[str]:
    """The error of every failed step the execution recorded, in order."""
    found = []
    for event in stack.history(execution_arn):
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict) and "error" in details:
                found.append(str(details["error"]))
    return found


def test_a_process_exit_is_runtime_exit_error_and_is_retried(stack: Stack) -> None:
    task_id, execution = run_task(stack, {"simulate": {"crashes": 2}})

    assert execution["status"] == "SUCCEEDED"
    task = stack.task(task_id)
    assert (task.status, task.attempts) == (TaskStatus.SUCCEEDED, 3)
    assert _errors(stack, execution["executionArn"]).count("Runtime.ExitError") == 2
    assert [call.error_type for call in stack.runtime.invocations if call.errored] == [
        "Runtime.ExitError"
    ] * 2


def test_an_overrun_is_sandbox_timedout_at_the_functions_timeout_and_is_retried(stack: Stack) -> None:
    """The runtime answers at the (scaled) timeout; the overrunning attempt never writes."""
    stack.runtime.timeout_scale = 0.02  # the process function's 30 s become 0.6 s

    task_id, execution = run_task(stack, {"simulate": {"timeouts": 1}})

    assert execution["status"] == "SUCCEEDED"
    task = stack.task(task_id)
    assert (task.status, task.attempts) == (TaskStatus.SUCCEEDED, 2)
    assert _errors(stack, execution["executionArn"]).count("Sandbox.Timedout") == 1
    [timed_out] = [call for call in stack.runtime.invocations if call.errored]
    assert timed_out.error_type == "Sandbox.Timedout"
    assert 500 <= timed_out.duration_ms < 5000


def test_out_of_memory_is_retried_as_transient(stack: Stack) -> None:
    """The local runtime cannot run out of memory; the name Lambda gives is injected instead."""

    class OutOfMemory(Exception):  # noqa: N818 - the name Lambda reports
        pass

    OutOfMemory.__name__ = "Runtime.OutOfMemory"

    def out_of_memory() -> None:
        raise OutOfMemory("Runtime exited with error: signal: killed")

    stack.runtime.hooks.append(_first_process_invocation(out_of_memory))

    task_id, execution = run_task(stack, {"n": 1})

    assert execution["status"] == "SUCCEEDED"
    assert _errors(stack, execution["executionArn"]) == ["Runtime.OutOfMemory"]
    assert stack.task(task_id).status is TaskStatus.SUCCEEDED


def test_crashes_past_the_transient_budget_fail_and_dead_letter_the_task(stack: Stack) -> None:
    task_id, execution = run_task(stack, {"simulate": {"crashes": 4}})

    assert execution["status"] == "FAILED"
    task = stack.task(task_id)
    assert (task.status, task.error, task.attempts) == (TaskStatus.FAILED, "Runtime.ExitError", 4)
    assert [message["taskId"] for message in dead_letters(stack)] == [task_id]


def test_a_slow_init_that_overruns_the_process_states_timeout_is_states_timeout_and_is_retried(
    stack: Stack,
) -> None:
    """Lambda runs INIT outside the function's timeout, so a cold start can push an attempt past
    ProcessTask's TimeoutSeconds before the function's own timeout fires: Step Functions fails it
    with States.Timeout, retried as transient; the late attempt then finds the task finished."""
    # Scaled to 1 s, not less: under a loaded machine's scheduling, the retried (warm) attempt
    # once overran a 0.5 s timeout (Sandbox.Timedout beside the expected States.Timeout).
    stack.runtime.timeout_scale = 0.04  # the process function's 25 s become 1 s
    stack.retry_clock.timeout_scale = 0.04  # ProcessTask's 35 s become 1.4 s
    # INIT, outside the function's clock, past the state's 1.4 s.
    stack.runtime.init_hooks.append(_first_process_invocation(lambda: time.sleep(2.5)))

    task_id, execution = run_task(stack, {"n": 1})

    assert execution["status"] == "SUCCEEDED"
    assert _errors(stack, execution["executionArn"]) == ["States.Timeout"]
    assert stack.task(task_id).status is TaskStatus.SUCCEEDED
    assert not any(call.error_type == "Sandbox.Timedout" for call in stack.runtime.invocations)


def test_the_lambda_service_timing_out_step_functions_call_is_retried_as_transient(stack: Stack) -> None:
    """Step Functions' own call to Lambda can fail with Lambda.ClientExecutionTimeoutException
    (its "handle Lambda service exceptions" guidance); moto's Lambda never does, so the local
    runtime's service fault stands in for it, once."""

    def time_out() -> None:
        raise LambdaServiceError("ClientExecutionTimeoutException")

    stack.runtime.service_faults.append(_first_process_invocation(time_out))

    task_id, execution = run_task(stack, {"n": 1})

    assert execution["status"] == "SUCCEEDED"
    assert _errors(stack, execution["executionArn"]) == ["Lambda.ClientExecutionTimeoutException"]
    task = stack.task(task_id)
    assert (task.status, task.attempts) == (TaskStatus.SUCCEEDED, 1)


@pytest.fixture
def outside_utc() -> Iterator[None]:
    """The process in a time zone other than UTC, as a developer's laptop may be."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "America/New_York")
        time.tzset()
        yield
    time.tzset()


@pytest.mark.usefixtures("outside_utc")
def test_an_sqs_mapping_is_polled_not_run_inside_send_message(stack: Stack) -> None:
    """moto runs a mapped function from inside SendMessage; on AWS, Lambda polls the queue, so a
    message waits until a poller takes it, and a disabled mapping leaves it there (``ptm pause``).
    ``LastModified`` is when the mapping last changed, as an epoch time on a machine in any time
    zone (moto's is hours off outside UTC): it is when dispatch was paused."""
    lambda_ = stack.clients.lambda_
    mapping_id = stack.resources.mapping_ids[Function.DISPATCH]
    created = lambda_.get_event_source_mapping(UUID=mapping_id)
    assert created["State"] == "Enabled"
    assert abs(created["LastModified"].timestamp() - time.time()) < 60, "an epoch time, not a local one"

    task_id = stack.submit({"n": 1})

    assert [m["Body"] for m in stack.queue_messages(stack.resources.tasks_queue_url)] != []
    assert stack.executions() == []
    assert stack.task(task_id).status is TaskStatus.QUEUED
    time.sleep(0.01)
    paused = lambda_.update_event_source_mapping(UUID=mapping_id, Enabled=False)
    assert paused["State"] == "Disabled"
    assert paused["LastModified"] > created["LastModified"]
    assert abs(paused["LastModified"].timestamp() - time.time()) < 60
