"""The real ASL, executed by moto's interpreter, invoking the real process handler."""

from __future__ import annotations

import json
import re

import pytest

from functions.common.models import TaskStatus
from infra.spec import Function
from infra.workflow_definition import retry_policy
from local.lambda_runtime import error_payload
from tests.fixtures.stack import Stack
from tests.workflow.conftest import dead_letters, run_task, states_entered

pytestmark = pytest.mark.workflow
POLICY = retry_policy()


def test_success_first_time_runs_once_and_never_waits(stack: Stack) -> None:
    task_id, execution = run_task(stack, {"order": 1})

    assert execution["status"] == "SUCCEEDED"
    task = stack.task(task_id)
    assert task.status is TaskStatus.SUCCEEDED
    assert task.attempts == 1
    assert task.result is not None
    assert task.result["attempt"] == 1
    assert stack.retry_clock.requested() == []
    assert states_entered(stack, execution["executionArn"]) == ["ProcessTask"]


@pytest.mark.parametrize("failures", [1, POLICY.max_attempts])
def test_success_after_retryable_failures(stack: Stack, failures: int) -> None:
    task_id, execution = run_task(stack, {"simulate": {"failures": failures}})

    assert execution["status"] == "SUCCEEDED"
    task = stack.task(task_id)
    assert task.status is TaskStatus.SUCCEEDED
    assert task.attempts == failures + 1
    assert stack.process_invocations() == failures + 1
    assert len(stack.retry_clock.requested()) == failures
    assert dead_letters(stack) == []


def test_exhausted_retries_fail_the_task_dead_letter_it_and_the_monitor_records_it(stack: Stack) -> None:
    task_id, execution = run_task(stack, {"simulate": {"failures": POLICY.total_attempts + 1}})

    assert execution["status"] == "FAILED"
    assert execution["error"] == "TaskFailed"
    assert states_entered(stack, execution["executionArn"]) == [
        "ProcessTask",
        "MarkFailed",
        "SendToDlq",
        "Failed",
    ]
    task = stack.task(task_id)
    assert task.status is TaskStatus.FAILED
    assert task.attempts == POLICY.total_attempts
    assert task.error == "TaskFailedError"
    assert task.cause is not None
    assert "simulated failure" in task.cause
    assert task.execution_arn == execution["executionArn"]
    assert task.dead_lettered_at is None

    [letter] = dead_letters(stack)
    assert letter["kind"] == "workflow-failure"
    assert letter["taskId"] == task_id
    assert letter["error"] == "TaskFailedError"
    assert "attempts" not in letter, "the record holds them; the letter carries nothing of the record"
    assert letter["executionArn"] == execution["executionArn"]

    [poll] = stack.event_source(Function.MONITOR).drain()
    assert poll.deleted == 1
    assert stack.task(task_id).dead_lettered_at is not None
    assert dead_letters(stack) == []


def test_a_declared_failure_carries_the_handlers_frames_only_and_a_crash_its_whole_traceback(
    stack: Stack,
) -> None:
    """The cause the workflow logs with each TaskFailed event and MarkFailed stores: a task
    type's declared failure (TaskFailedError) holds the handler's frames, not the task type's,
    so each failed attempt logs a few hundred bytes, not a kilobyte; a crash keeps the frames
    that say where it happened (tests/workflow/test_lambda_fidelity.py crashes the handler)."""
    task_id, _ = run_task(stack, {"simulate": {"permanent": True}})
    cause = json.loads(stack.task(task_id).cause or "{}")
    assert cause["errorType"] == "PermanentTaskError"
    assert "permanent failure" in cause["errorMessage"]
    frames = "".join(cause["stackTrace"])
    assert "functions/process/handler.py" in frames
    assert "task_types" not in frames
    assert "usecases" not in frames
    assert len(cause["stackTrace"]) <= 3, "the handler and Powertools' two decorators"

    with pytest.raises(ZeroDivisionError) as crash:
        1 / 0  # noqa: B018
    assert "test_retry_and_catch.py" in "".join(error_payload(crash.value)["stackTrace"])


def test_permanent_error_goes_to_catch_without_retry(stack: Stack) -> None:
    task_id, execution = run_task(stack, {"simulate": {"permanent": True}})

    assert execution["status"] == "FAILED"
    task = stack.task(task_id)
    assert task.status is TaskStatus.FAILED
    assert task.error == "PermanentTaskError"
    assert task.attempts == 1
    assert stack.retry_clock.requested() == []
    [letter] = dead_letters(stack)
    assert letter["error"] == "PermanentTaskError"


def test_transient_lambda_errors_use_their_own_retrier(stack: Stack) -> None:
    """A Lambda service error is retried by the transient retrier, not counted against the work's."""
    failures = {"left": 2}

    class ServiceException(Exception):  # noqa: N818 - the name Lambda reports
        pass

    def throttle(function_name: str, event: object) -> None:
        if function_name.endswith("-process") and failures["left"] > 0:
            failures["left"] -= 1
            raise ServiceException("Rate exceeded")

    ServiceException.__name__ = "Lambda.ServiceException"
    stack.runtime.hooks.append(throttle)
    task_id, execution = run_task(stack, {"simulate": {"failures": POLICY.max_attempts}})

    assert execution["status"] == "SUCCEEDED"
    assert stack.task(task_id).attempts == POLICY.max_attempts + 1
    assert len(stack.retry_clock.requested()) == 2 + POLICY.max_attempts


AWS_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
"""How the functions write times (functions.common.clock.iso), and how Step Functions renders
``$$.State.EnteredTime``: milliseconds and Z."""


def test_the_workflow_writes_times_as_step_functions_renders_them(stack: Stack) -> None:
    """MarkFailed stamps updatedAt and the DLQ message's failedAt with ``$$.State.EnteredTime``: in
    the same form as every other time on the record (moto alone writes ``…44.285441+00:00``)."""
    task_id, execution = run_task(stack, {"simulate": {"permanent": True}})

    assert execution["status"] == "FAILED"
    record = stack.api("GET", f"/tasks/{task_id}").body
    assert record["status"] == "FAILED"
    assert AWS_TIME.fullmatch(record["updatedAt"]), record["updatedAt"]
    assert AWS_TIME.fullmatch(record["createdAt"])
    [letter] = [letter for letter in dead_letters(stack) if letter["taskId"] == task_id]
    assert AWS_TIME.fullmatch(letter["failedAt"]), letter["failedAt"]
