"""Lambda failures as AWS reports them, through the real ASL: a process exit is
``Runtime.ExitError``, an overrun is ``Sandbox.Timedout``, out of memory is
``Runtime.OutOfMemory``; all are retried as transient (docs/FIDELITY.md)."""

from __future__ import annotations

from typing import Any

import pytest

from functions.common.models import TaskStatus
from infra.spec import Function
from tests.fixtures.stack import NAMES, Stack
from tests.workflow.conftest import dead_letters, run_task

pytestmark = pytest.mark.workflow


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
    failed: list[str] = []

    def out_of_memory_once(function_name: str, event: Any) -> None:
        if function_name == NAMES.function(Function.PROCESS) and not failed:
            failed.append(function_name)
            raise OutOfMemory("Runtime exited with error: signal: killed")

    stack.runtime.hooks.append(out_of_memory_once)

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
