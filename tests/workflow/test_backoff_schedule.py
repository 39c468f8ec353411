"""The waits the interpreter requested between attempts, recorded instead of slept.

The ASL declares (for TaskFailedError) IntervalSeconds, BackoffRate, MaxDelaySeconds and
JitterStrategy FULL: retry n waits a uniform draw from [0, min(interval·rate^(n-1), cap)].
"""

from __future__ import annotations

import json
from collections import defaultdict

from functions.common.workflow import execution_input
from infra.spec import workflow_substitutions
from infra.workflow_definition import PROCESS_STATE, RETRYABLE_ERROR, read_definition, render, retry_policy
from tests.fixtures.stack import Stack

POLICY = retry_policy()
RUNS = 20


def _waits_by_execution(stack: Stack) -> list[list[float]]:
    by_thread: dict[str, list[float]] = defaultdict(list)
    for wait in stack.retry_clock.waits:
        by_thread[wait.thread].append(wait.requested_seconds)
    return list(by_thread.values())


def _run_failing_tasks(stack: Stack, state_machine_arn: str, failures: int) -> list[list[float]]:
    """RUNS executions at once (each runs on its own interpreter thread), then their waits."""
    arns = [
        stack.clients.sfn.start_execution(
            stateMachineArn=state_machine_arn,
            name=f"backoff-{index}",
            input=execution_input(stack.submit({"simulate": {"failures": failures}})),
        )["executionArn"]
        for index in range(RUNS)
    ]
    for arn in arns:
        stack.wait_for_execution(arn)
    return _waits_by_execution(stack)


def test_policy_in_the_file_is_the_documented_default() -> None:
    assert (POLICY.interval_seconds, POLICY.max_attempts, POLICY.backoff_rate) == (2.0, 2, 2.0)
    assert POLICY.max_delay_seconds == 8.0
    assert POLICY.jitter == "FULL"


def test_requested_waits_grow_exponentially_within_full_jitter_bounds(stack: Stack) -> None:
    schedules = _run_failing_tasks(stack, stack.resources.state_machine_arn, failures=POLICY.max_attempts)

    assert len(schedules) == RUNS
    assert all(len(schedule) == POLICY.max_attempts for schedule in schedules)
    for retry in range(1, POLICY.max_attempts + 1):
        waits = [schedule[retry - 1] for schedule in schedules]
        ceiling = POLICY.ceiling(retry)
        assert all(0 <= wait <= ceiling for wait in waits), (retry, ceiling, waits)
        assert min(waits) < 0.5 * ceiling, "full jitter draws below half the ceiling"
    second = [schedule[1] for schedule in schedules]
    assert max(second) > POLICY.ceiling(1), "the second wait's range is wider than the first's"


def test_max_delay_caps_long_schedules(stack: Stack) -> None:
    """The same file with more retries: waits past the cap stay within MaxDelaySeconds."""
    document = json.loads(read_definition())
    retries = 5
    for retrier in document["States"][PROCESS_STATE]["Retry"]:
        if RETRYABLE_ERROR in retrier["ErrorEquals"]:
            retrier["MaxAttempts"] = retries
    definition = render(
        workflow_substitutions(
            stack.resources.function_arns, stack.resources.table, stack.resources.dead_letter_queue_url
        ),
        definition=json.dumps(document),
    )
    arn = stack.clients.sfn.create_state_machine(
        name="long-retries", definition=definition, roleArn=_role(stack), type="EXPRESS"
    )["stateMachineArn"]

    schedules = _run_failing_tasks(stack, arn, failures=retries)

    assert POLICY.max_delay_seconds is not None
    late = [wait for schedule in schedules for wait in schedule[3:]]
    uncapped = POLICY.interval_seconds * POLICY.backoff_rate**3
    assert uncapped > POLICY.max_delay_seconds
    assert all(wait <= POLICY.max_delay_seconds for wait in late)
    assert max(late) > POLICY.ceiling(2), "the cap, not the third ceiling, bounds the late waits"


def _role(stack: Stack) -> str:
    description = stack.clients.sfn.describe_state_machine(stateMachineArn=stack.resources.state_machine_arn)
    return description["roleArn"]
