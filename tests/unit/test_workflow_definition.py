from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from functions.common.workflow import console_start_ms
from infra.names import Function
from infra.spec import workflow_substitutions
from infra.workflow_definition import (
    ASL_PATH,
    placeholders,
    read_definition,
    render,
    retry_policy,
)

README = Path(__file__).resolve().parents[2] / "README.md"
SUBSTITUTIONS = workflow_substitutions(dict.fromkeys(Function, "arn:fn"), "table", "https://q")


def test_the_asl_is_json_with_exactly_the_documented_placeholders() -> None:
    json.loads(ASL_PATH.read_text())
    assert placeholders(read_definition()) == set(SUBSTITUTIONS)


def test_render_fills_every_placeholder() -> None:
    rendered = json.loads(render(SUBSTITUTIONS))
    assert rendered["States"]["MarkFailed"]["Parameters"]["TableName"] == "table"
    assert "${" not in json.dumps(rendered)


@pytest.mark.parametrize("substitutions", [{}, {**SUBSTITUTIONS, "Extra": "x"}])
def test_render_refuses_missing_or_unknown_substitutions(substitutions: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="do not match"):
        render(substitutions)


def test_every_next_names_a_state_and_every_state_is_reachable() -> None:
    states = json.loads(read_definition())["States"]
    targets = {
        target
        for state in states.values()
        for target in [
            state.get("Next"),
            state.get("Default"),
            *(catcher["Next"] for catcher in state.get("Catch", [])),
            *(rule["Next"] for rule in state.get("Choices", [])),
        ]
        if target
    }
    assert targets <= states.keys()
    assert states.keys() - targets == {"ProcessTask"}


def test_backoff_ceilings_follow_the_policy() -> None:
    policy = retry_policy()
    assert [policy.ceiling(n) for n in (1, 2, 3, 4, 5)] == [2.0, 4.0, 8.0, 8.0, 8.0]


def test_readme_documents_the_retry_policy_in_the_file() -> None:
    policy = retry_policy()
    row = re.search(r"\| `TaskFailedError` \|" + r" ([^|]+?) \|" * 5, README.read_text())
    assert row is not None, "README retry table row for TaskFailedError"
    documented = row.groups()
    assert documented == (
        f"{policy.interval_seconds:g} s",
        str(policy.max_attempts),
        f"{policy.backoff_rate:g}",
        f"{policy.max_delay_seconds:g} s",
        policy.jitter,
    )


def test_readme_documents_the_transient_retrier_and_every_error_it_names() -> None:
    """The row after TaskFailedError's: the transient retrier's numbers, and each error name it
    retries that is not one of Lambda's own service errors (those are summed up as such)."""
    document = json.loads(read_definition())
    [transient] = [
        retrier
        for retrier in document["States"]["ProcessTask"]["Retry"]
        if "DependencyUnavailableError" in retrier["ErrorEquals"]
    ]
    row = re.search(
        r"\| `TaskFailedError` \|[^\n]*\n\| ([^|]+?) \|" + r" ([^|]+?) \|" * 5, README.read_text()
    )
    assert row is not None, "README retry table row after TaskFailedError's"
    names, *numbers = row.groups()
    assert numbers == [
        f"{transient['IntervalSeconds']:g} s",
        str(transient["MaxAttempts"]),
        f"{transient['BackoffRate']:g}",
        f"{transient['MaxDelaySeconds']:g} s",
        transient["JitterStrategy"],
    ]
    own = {"Lambda.Unknown"} | {name for name in transient["ErrorEquals"] if not name.startswith("Lambda.")}
    assert {name for name in own if f"`{name}`" not in names} == set()


def test_the_console_start_date_is_at_most_one_express_lifetime_before_the_last_write() -> None:
    fresh = console_start_ms("2026-11-29T10:00:00.000Z", "2026-11-29T10:00:03.000Z")
    redriven = console_start_ms("2026-11-01T00:00:00.000Z", "2026-11-29T10:00:03.000Z")

    assert fresh == 1_795_946_400_000  # createdAt: the execution cannot have started earlier
    assert redriven == 1_795_946_403_000 - 5 * 60 * 1000


def test_lambda_crashes_timeouts_and_out_of_memory_are_retried_as_transient() -> None:
    """Lambda's errorType becomes the Step Functions error name (docs/contributing/FIDELITY.md)."""
    document = json.loads(read_definition())
    [transient] = [
        retrier
        for retrier in document["States"]["ProcessTask"]["Retry"]
        if "DependencyUnavailableError" in retrier["ErrorEquals"]
    ]
    for name in ("Sandbox.Timedout", "Runtime.ExitError", "Runtime.OutOfMemory", "Lambda.Unknown"):
        assert name in transient["ErrorEquals"]


def test_an_attempt_that_overruns_the_process_states_timeout_is_retried_as_transient() -> None:
    """ProcessTask's TimeoutSeconds fails an attempt with States.Timeout when a cold start's INIT
    (outside the function's own timeout) pushes it past the state's bound: as transient as a
    function timeout. Pinned in a workflow too (tests/workflow/test_lambda_fidelity.py)."""
    [retrier] = [
        retrier
        for retrier in json.loads(read_definition())["States"]["ProcessTask"]["Retry"]
        if "States.Timeout" in retrier["ErrorEquals"]
    ]
    assert "Sandbox.Timedout" in retrier["ErrorEquals"]


def test_the_lambda_services_own_errors_are_retried_as_transient() -> None:
    """Step Functions' advice for ``lambda:invoke``: retry the Lambda service's exceptions,
    throttling included (docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html).
    moto's Lambda never throttles, so no workflow test can raise them."""
    document = json.loads(read_definition())
    retried = {
        name for retrier in document["States"]["ProcessTask"]["Retry"] for name in retrier["ErrorEquals"]
    }
    assert {
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.TooManyRequestsException",
    } <= retried


def test_every_dynamodb_write_of_the_workflow_retries_throttling_and_server_errors() -> None:
    """DynamoDB throttles and fails with 5xx transiently; moto does neither, so no workflow test can
    show a MarkFailed or a reopen lost to one. Each such state retries them (or everything)."""
    transient = {
        "DynamoDB.ProvisionedThroughputExceededException",
        "DynamoDB.ThrottlingException",
        "DynamoDB.RequestLimitExceeded",
        "DynamoDB.InternalServerErrorException",
    }
    states = json.loads(read_definition())["States"]
    writes = {
        name: state
        for name, state in states.items()
        if state.get("Resource", "").startswith("arn:aws:states:::dynamodb:")
    }
    assert set(writes) == {"MarkFailed", "ReopenForDeadLetter"}
    for name, state in writes.items():
        retried = {error for retrier in state.get("Retry", []) for error in retrier["ErrorEquals"]}
        assert "States.ALL" in retried or transient <= retried, name


@pytest.mark.parametrize(
    ("state", "transient"),
    [
        ("MarkFailed", {"States.Timeout"}),
        ("SendToDlq", {"SQS.SdkClientException", "SQS.AmazonSQSException", "States.Timeout"}),
        ("ReopenForDeadLetter", {"States.Timeout"}),
    ],
)
def test_the_catch_paths_service_calls_retry_their_transient_failures_and_their_own_timeout(
    state: str, transient: set[str]
) -> None:
    """A service call of the Catch path that times out (its 3 s TimeoutSeconds) or fails in the
    SDK or the service is tried again before the task is left to reconcile; moto's SQS and
    DynamoDB never fail so, so the definition is the pin."""
    retried = {
        error
        for retrier in json.loads(read_definition())["States"][state].get("Retry", [])
        for error in retrier["ErrorEquals"]
    }
    assert "States.ALL" in retried or transient <= retried


def test_every_task_state_but_the_work_is_bounded_and_catches_everything() -> None:
    """A Task state without a bound or a catch-all could end an execution with its task RUNNING
    and no one to tell; the work itself is caught by ProcessTask's own States.ALL."""
    states = json.loads(read_definition())["States"]
    for name, state in states.items():
        if state["Type"] != "Task":
            continue
        assert "TimeoutSeconds" in state, name
        assert any("States.ALL" in catcher["ErrorEquals"] for catcher in state.get("Catch", [])), name
