"""The real ASL, executed by moto's interpreter, invoking the real process handler."""

from __future__ import annotations

import re

import pytest

from functions.common.models import TaskStatus
from infra.names import Function
from infra.workflow_definition import retry_policy
from local.lambda_runtime import LambdaServiceError, error_payload
from tests.fixtures.stack import Stack
from tests.workflow.conftest import dead_letters, run_task, states_entered

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
        "ReadCause",
        "MessageOnly",
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


def test_the_record_and_the_dlq_keep_the_errors_message_never_its_trace(stack: Stack) -> None:
    """The function's error arrives as the runtime's JSON with its stackTrace (the machine's paths,
    source lines, the call chain): the record and the dead letter keep its errorType (error) and
    errorMessage (cause) only; the trace stays in the function's log."""
    task_id, execution = run_task(stack, {"simulate": {"permanent": True}})

    task = stack.task(task_id)
    [letter] = [letter for letter in dead_letters(stack) if letter["taskId"] == task_id]
    expected = f"task {task_id} asked for a permanent failure"
    assert (task.error, task.cause) == ("PermanentTaskError", expected)
    assert (letter["error"], letter["cause"]) == ("PermanentTaskError", expected)
    assert states_entered(stack, execution["executionArn"])[1:3] == ["ReadCause", "MessageOnly"]


def test_the_local_runtime_reports_a_crash_with_its_frames_as_the_python_runtime_does() -> None:
    with pytest.raises(ZeroDivisionError) as crash:
        1 / 0  # noqa: B018
    payload = error_payload(crash.value)
    assert list(payload) == ["errorMessage", "errorType", "stackTrace"]
    assert "test_retry_and_catch.py" in "".join(payload["stackTrace"])


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


def test_a_cause_in_words_is_kept_as_it_is(stack: Stack) -> None:
    """The Lambda service refusing every Invoke: its cause is a sentence, not the runtime's JSON,
    and is kept whole."""

    def refuse(function_name: str, event: object) -> None:
        if function_name.endswith("-process"):
            raise LambdaServiceError("ServiceException", "Rate exceeded")

    stack.runtime.service_faults.append(refuse)
    task_id, execution = run_task(stack, {"n": 1})

    assert execution["status"] == "FAILED"
    task = stack.task(task_id)
    assert task.error == "Lambda.ServiceException"
    assert task.cause is not None
    assert task.cause.startswith("Rate exceeded")
    assert "ReadCause" in states_entered(stack, execution["executionArn"])
    assert "CauseAsGiven" in states_entered(stack, execution["executionArn"])


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
