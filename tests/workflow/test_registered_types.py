"""Registered task types on the real handlers and the generated definition (moto runs it): the
example ``word-count`` type, run by its localHandler in the local Lambda runtime."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from functions.common.models import Task, TaskStatus
from functions.common.recurring import firing_task_id, scheduled_time
from functions.common.task_schedules import FIRING_INPUT
from functions.task_types.registered import RESULT_MAX_BYTES
from infra.limits import TIMINGS
from infra.names import Function
from infra.task_type_options import RegisteredTypes
from infra.workflow_definition import REPO_ROOT
from local.emulator import Emulator
from local.lambda_runtime import LambdaServiceError, LocalLambdaRuntime
from local.retry_clock import RetryClock
from tests.e2e.documented import fences, python_block
from tests.fixtures.stack import WORD_COUNT_TIMEOUT_SECONDS, Stack, _provisioned, typed_stage
from tests.workflow.conftest import dead_letters, states_entered


def _run(stack: Stack, body: dict[str, Any], name: str = "run-1") -> tuple[str, dict[str, Any]]:
    task_id = stack.submit({"type": "word-count", **body})
    return task_id, stack.wait_for_execution(stack.start_execution(task_id, name))


def test_a_registered_type_runs_in_its_function_and_its_result_is_recorded(typed_stack: Stack) -> None:
    task_id, execution = _run(typed_stack, {"text": "one two three"})

    assert execution["status"] == "SUCCEEDED", execution
    task = typed_stack.task(task_id)
    assert task.status is TaskStatus.SUCCEEDED
    assert task.result == {"words": 3, "attempt": 1}
    assert task.attempts == 1
    entered = states_entered(typed_stack, execution["executionArn"])
    assert entered == [
        "RouteByType",
        "Claim word-count",
        "Claimed word-count",
        "Run word-count",
        "Complete word-count",
    ]


def _invocations(stack: Stack) -> list[str]:
    name = stack.resources.registered_functions["word-count"]
    return [call.function_name for call in stack.runtime.invocations if call.function_name == name]


def test_its_own_retry_policy_sets_the_waits_and_the_attempt_numbers(typed_stack: Stack) -> None:
    task_id, execution = _run(typed_stack, {"text": "a b", "failUntilAttempt": 3})

    assert execution["status"] == "SUCCEEDED", execution
    task = typed_stack.task(task_id)
    assert task.result == {"words": 2, "attempt": 3}
    assert task.attempts == 3
    # The type's policy (3 s, x1.5, no jitter), not the built-in one (2 s, x2, full jitter).
    assert [wait.requested_seconds for wait in typed_stack.retry_clock.waits] == [3.0, 4.5]
    assert len(_invocations(typed_stack)) == 3


def test_retries_exhausted_fail_the_task_and_dead_letter_it(typed_stack: Stack) -> None:
    task_id, execution = _run(typed_stack, {"text": "a", "failUntilAttempt": 10})

    assert execution["status"] == "FAILED"
    task = typed_stack.task(task_id)
    assert task.status is TaskStatus.FAILED
    assert (task.error, task.cause) == ("NotYetError", "attempt 4 fails on purpose")
    assert len(_invocations(typed_stack)) == 4
    assert [wait.requested_seconds for wait in typed_stack.retry_clock.waits] == [3.0, 4.5, 5.0]
    [letter] = dead_letters(typed_stack)
    assert (letter["taskId"], letter["error"]) == (task_id, "NotYetError")


def test_a_permanent_error_fails_at_once(typed_stack: Stack) -> None:
    task_id, execution = _run(typed_stack, {"text": "a", "reject": True})

    assert execution["status"] == "FAILED"
    task = typed_stack.task(task_id)
    assert (task.status, task.error) == (TaskStatus.FAILED, "PermanentTaskError")
    assert len(_invocations(typed_stack)) == 1
    assert typed_stack.retry_clock.waits == []


def test_a_listed_permanent_error_fails_at_once(typed_stack: Stack) -> None:
    def refuse(name: str, event: Any) -> None:
        if name == typed_stack.resources.registered_functions["word-count"]:
            raise ValueError("not a text this function counts")

    typed_stack.runtime.hooks.append(refuse)
    task_id, execution = _run(typed_stack, {"text": "a"})

    assert execution["status"] == "FAILED"
    assert typed_stack.task(task_id).error == "ValueError"
    assert len(_invocations(typed_stack)) == 1


def test_the_type_s_own_timeout_cuts_an_attempt_and_counts_it(typed_stack: Stack) -> None:
    typed_stack.runtime.timeout_scale = 0.1  # the function's 3 s timeout: 0.3 s here
    slow = threading.Event()

    def first_is_slow(name: str, event: Any) -> None:
        if name == typed_stack.resources.registered_functions["word-count"] and not slow.is_set():
            slow.set()
            time.sleep(1.0)

    typed_stack.runtime.hooks.append(first_is_slow)
    task_id, execution = _run(typed_stack, {"text": "a b c"})

    assert execution["status"] == "SUCCEEDED", execution
    task = typed_stack.task(task_id)
    assert (task.result, task.attempts) == ({"words": 3, "attempt": 2}, 2)
    errors = [call.error_type for call in typed_stack.runtime.invocations if call.errored]
    assert errors == ["Sandbox.Timedout"]
    run_state = json.loads(
        typed_stack.clients.sfn.describe_state_machine(
            stateMachineArn=typed_stack.resources.state_machine_arn
        )["definition"]
    )["States"]["Run word-count"]
    assert run_state["TimeoutSeconds"] == WORD_COUNT_TIMEOUT_SECONDS + TIMINGS.init_limit_seconds


def test_lambda_service_errors_are_retried_apart_from_the_type_s_attempts(typed_stack: Stack) -> None:
    refused: list[str] = []

    def throttled_twice(name: str, event: Any) -> None:
        if name == typed_stack.resources.registered_functions["word-count"] and len(refused) < 2:
            refused.append(name)
            raise LambdaServiceError("TooManyRequestsException", "Rate exceeded")

    typed_stack.runtime.service_faults.append(throttled_twice)
    # Two refusals, then three failed attempts: the type's three retries are all still there.
    task_id, execution = _run(typed_stack, {"text": "a", "failUntilAttempt": 6})

    assert execution["status"] == "SUCCEEDED", execution
    assert typed_stack.task(task_id).result == {"words": 1, "attempt": 6}
    assert len(_invocations(typed_stack)) == 4


def test_a_duplicate_execution_does_not_invoke_the_function_again(typed_stack: Stack) -> None:
    task_id = typed_stack.submit({"type": "word-count", "text": "x y"})
    started, release = threading.Event(), threading.Event()

    def hold(name: str, event: Any) -> None:
        if name == typed_stack.resources.registered_functions["word-count"]:
            started.set()
            release.wait(10)

    typed_stack.runtime.hooks.append(hold)
    first = typed_stack.start_execution(task_id, "run-1-d1")
    assert started.wait(10)
    duplicate = typed_stack.wait_for_execution(typed_stack.start_execution(task_id, "run-1-d2"))
    release.set()

    assert duplicate["status"] == "SUCCEEDED"
    assert states_entered(typed_stack, duplicate["executionArn"])[-1] == "NotClaimed"
    assert typed_stack.wait_for_execution(first)["status"] == "SUCCEEDED"
    assert len(_invocations(typed_stack)) == 1
    assert typed_stack.task(task_id).result == {"words": 2, "attempt": 1}


def test_a_cancelled_task_is_not_run(typed_stack: Stack) -> None:
    task_id = typed_stack.submit({"type": "word-count", "text": "x"})
    assert typed_stack.api("DELETE", f"/tasks/{task_id}").status == 200

    execution = typed_stack.wait_for_execution(typed_stack.start_execution(task_id, "run-1"))

    assert states_entered(typed_stack, execution["executionArn"])[-1] == "NotClaimed"
    assert _invocations(typed_stack) == []
    assert typed_stack.task(task_id).status is TaskStatus.CANCELLED


def test_a_redriven_task_runs_its_function_again_in_its_next_run(typed_stack: Stack) -> None:
    # Run 1: attempts 1 to 4 fail. Its record counts the claim (the retries of a failed run are
    # not added), so run 2 claims attempt 2: attempts 2 to 4 fail, the fifth succeeds.
    task_id, first = _run(typed_stack, {"text": "a b", "failUntilAttempt": 5})
    assert first["status"] == "FAILED"
    assert typed_stack.api("POST", f"/tasks/{task_id}/redrive").status == 202

    second = typed_stack.wait_for_execution(typed_stack.start_execution(task_id, "run-2"))

    assert second["status"] == "SUCCEEDED", second
    task = typed_stack.task(task_id)
    assert (task.status, task.runs, task.result) == (TaskStatus.SUCCEEDED, 2, {"words": 2, "attempt": 5})


def test_a_body_its_schema_refuses_is_a_400_naming_the_field_and_nothing_is_stored(
    typed_stack: Stack,
) -> None:
    for body, field in (
        ({"type": "word-count", "text": 5}, "text"),
        ({"type": "word-count"}, ""),
        ({"type": "word-count", "text": "a", "colour": "red"}, ""),
    ):
        response = typed_stack.api("POST", "/tasks", body, {"Idempotency-Key": f"k-{field}-{len(body)}"})
        assert response.status == 400, response.body
        assert response.body["error"]["taskType"] == "word-count"
        assert field in response.body["error"]["fields"], response.body
    assert typed_stack.api("GET", "/tasks?status=QUEUED").body["items"] == []


def test_the_registered_type_is_listed_with_its_schema(typed_stack: Stack) -> None:
    listed = {item["name"]: item for item in typed_stack.api("GET", "/task-types").body["items"]}

    assert set(listed) == {"simulated", "webhook", "word-count"}
    schema = listed["word-count"]["schema"]
    assert schema["properties"]["type"] == {"const": "word-count"}
    assert schema["required"] == ["type", "text"]


README_FUNCTION = "class PermanentTaskError(Exception):"


def test_the_readme_s_python_function_runs_as_a_registered_type(
    emulator: Emulator, lambda_runtime: LocalLambdaRuntime, retry_clock: RetryClock, tmp_path: Path
) -> None:
    """The README's ten-line function, as written, registered and run by the generated definition."""
    (tmp_path / "readme_counter.py").write_text(python_block("README.md", README_FUNCTION))
    sys.path.insert(0, str(tmp_path))
    types = RegisteredTypes.parse(
        {"count": {"function": "count", "timeoutSeconds": 5, "localHandler": "readme_counter.handler"}}
    )
    try:
        stack = next(_provisioned(emulator, lambda_runtime, retry_clock, typed_stage(types)))
        counted = stack.submit({"type": "count", "text": "as it is written"})
        refused = stack.submit({"type": "count", "words": 0})
        for task_id in (counted, refused):
            stack.wait_for_execution(stack.start_execution(task_id, "run-1"))
    finally:
        sys.path.remove(str(tmp_path))

    assert stack.task(counted).result == {"words": 4}
    failed = stack.task(refused)
    assert (failed.status, failed.error, failed.cause) == (
        TaskStatus.FAILED,
        "PermanentTaskError",
        "nothing to count",
    )


def test_the_readme_s_node_function_answers_as_the_contract_says(tmp_path: Path) -> None:
    """The README's Node.js function, as written, in the project's Node: a result, and an error
    whose name Step Functions matches (``PermanentTaskError``)."""
    readme = (REPO_ROOT / "README.md").read_text()
    [block] = [b for b in fences(readme, "javascript") if "PermanentTaskError" in b]
    module = tmp_path / "counter.mjs"
    module.write_text(block)
    script = (
        f"import {{ handler }} from {json.dumps(module.as_uri())};\n"
        "const event = {taskId: 't', run: 1, attempt: 1, payload: {text: 'a b c'}};\n"
        "console.log(JSON.stringify(await handler(event)));\n"
        "try { await handler({taskId: 't', run: 1, attempt: 1, payload: {}}); }\n"
        "catch (error) { console.log(error.name); }\n"
    )
    node = REPO_ROOT / "node_modules" / ".bin" / "node"
    result = subprocess.run(
        [str(node), "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ['{"words":3}', "PermanentTaskError"]


def test_through_the_queue_the_dispatcher_starts_the_type_s_branch_and_built_in_tasks_keep_theirs(
    typed_stack: Stack,
) -> None:
    typed = typed_stack.submit({"type": "word-count", "text": "one two"})
    built_in = typed_stack.submit({"simulate": {"failures": 0}})

    typed_stack.event_source(Function.DISPATCH).drain()
    executions = typed_stack.wait_for_all_executions()

    assert {execution["status"] for execution in executions} == {"SUCCEEDED"}
    assert typed_stack.task(typed).result == {"words": 2, "attempt": 1}
    assert typed_stack.task(built_in).status is TaskStatus.SUCCEEDED
    paths = {tuple(states_entered(typed_stack, execution["executionArn"])[:2]) for execution in executions}
    assert paths == {("RouteByType", "Claim word-count"), ("RouteByType", "ProcessTask")}


def test_a_task_whose_type_is_no_longer_registered_fails_at_once_naming_it(stack: Stack) -> None:
    """Submitted while a stage registered ``gone``, dispatched after the type was removed: the
    definition routes it to ProcessTask, which fails it permanently."""
    now = "2026-12-07T10:00:00Z"
    stack.table.create(
        Task(
            task_id="gone-1",
            status=TaskStatus.QUEUED,
            payload={"type": "gone", "text": "a"},
            created_at=now,
            updated_at=now,
            request_hash="0" * 64,
            registered_type="gone",
        )
    )

    execution = stack.wait_for_execution(stack.start_execution("gone-1", "run-1"))

    assert execution["status"] == "FAILED"
    task = stack.task("gone-1")
    assert (task.status, task.error) == (TaskStatus.FAILED, "PermanentTaskError")
    assert "unknown task type 'gone'" in str(task.cause)


def returns_a_list(event: dict[str, Any], context: Any) -> Any:
    return ["not", "an", "object"]


def returns_too_much(event: dict[str, Any], context: Any) -> Any:
    return {"blob": "x" * RESULT_MAX_BYTES}


def test_a_result_that_is_not_an_object_or_too_large_fails_the_task_at_once(typed_stack: Stack) -> None:
    function = typed_stack.resources.registered_functions["word-count"]
    for handler, cause in (
        ("returns_a_list", "the function returned a JSON list; a task's result is a JSON object"),
        ("returns_too_much", f"the function's result is {RESULT_MAX_BYTES + 11} bytes of JSON"),
    ):
        typed_stack.runtime.register(function, f"tests.workflow.test_registered_types.{handler}")
        task_id, execution = _run(typed_stack, {"text": "a"}, name=handler)

        assert execution["status"] == "FAILED"
        task = typed_stack.task(task_id)
        assert (task.status, task.error, task.result) == (TaskStatus.FAILED, "PermanentTaskError", None)
        assert str(task.cause).startswith(cause), task.cause


def test_a_recurring_schedule_of_the_type_fires_tasks_that_run_in_its_function(typed_stack: Stack) -> None:
    task = {"type": "word-count", "text": "every minute"}
    put = typed_stack.api("PUT", "/schedules/counting", {"expression": "rate(1 minute)", "task": task})
    assert put.status == 201, put.body
    bad = typed_stack.api(
        "PUT", "/schedules/bad", {"expression": "rate(1 minute)", "task": {"type": "word-count"}}
    )
    assert (bad.status, bad.body["error"]["taskType"]) == (400, "word-count"), bad.body
    when = "2026-12-07T10:00:00Z"
    body = (FIRING_INPUT % "counting").replace("<aws.scheduler.scheduled-time>", when)
    typed_stack.clients.sqs.send_message(QueueUrl=typed_stack.resources.tasks_queue_url, MessageBody=body)

    typed_stack.event_source(Function.DISPATCH).drain()  # the firing: the task created and enqueued
    typed_stack.event_source(Function.DISPATCH).drain()  # the task's message: its execution
    [execution] = typed_stack.wait_for_all_executions()

    task_id = firing_task_id("counting", scheduled_time(when))
    assert typed_stack.task(task_id).result == {"words": 2, "attempt": 1}
    assert states_entered(typed_stack, execution["executionArn"])[1] == "Claim word-count"
