"""The state machine a stage deploys: the ASL file, plus one branch per registered task type.

Step Functions' Retry fields are literals (and moto cannot evaluate JSONata), so each registered
type's retry policy is a Task state of its own, made from one template (``type_states``): a first
Choice routes a registered type's task (the execution input's ``registeredType``) to its branch;
every other task takes the file's ``ProcessTask``. A branch:

- ``Claim <type>``: the process function claims the task by the very transition a built-in attempt
  claims with (holder, lease, run), for the type's lease, and reads its payload;
- ``Run <type>``: Step Functions invokes the user's function with ``{taskId, run, attempt, payload}``,
  the state's timeout the function's plus Lambda's INIT limit, retried by the type's policy (an
  error named ``PermanentTaskError`` or listed in ``permanentErrors`` fails at once; the Lambda
  service's own errors are retried apart and are not the type's attempts);
- ``Complete <type>``: the process function records the result if the claim is still this
  execution's (the very transition a built-in attempt succeeds with).

Failures join the file's failure path (``ReadCause`` → ``MarkFailed`` → ``SendToDlq``). The worst
case is computed on the generated document, per type, and synthesis refuses a type over the
Express bound with the arithmetic in one line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from functions.common.workflow import REGISTERED_TYPE_KEY
from functions.task_types.registered import PERMANENT_ERROR, Registration
from infra.workflow_definition import (
    LAMBDA_INVOKE,
    PROCESS_STATE,
    RETRYABLE_ERROR,
    base_document,
    retry_budget,
    retry_policy,
    state_worst_case,
    worst_case_seconds,
)

ROUTE_STATE = "RouteByType"
NOT_CLAIMED_STATE = "NotClaimed"
FAILURE_PATH_STATE = "ReadCause"
"""Where every branch's failure goes: the file's failure path, shared with built-in types."""
CLAIM_WORK_SECONDS = 5
"""The claim's or the result's own work inside the process function (one conditional write, and
the payload's read): a state cut off sooner is retried, and a late claim is still this
execution's."""
LAMBDA_SERVICE_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.TooManyRequestsException",
)
"""The Lambda service refused or failed the Invoke itself: the function did not run (or its run is
unknown), so these are retried apart from the type's attempts."""
DATA_LIMIT_ERROR = "States.DataLimitExceeded"
"""A state's input or output over Step Functions' 256 KiB. AWS documents that ``States.ALL`` does
not catch it, so the branch names it itself."""


def state_names(name: str) -> tuple[str, str, str]:
    """The branch's Claim, Run and Complete states."""
    return f"Claim {name}", f"Run {name}", f"Complete {name}"


def substitution(name: str) -> str:
    """The definition's ``${...}`` for the type's function ARN (CDK and the local stack fill it)."""
    return "RegisteredFunction_" + re.sub(r"[^A-Za-z0-9]", "_", name)


def _process_state(document: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = document["States"][PROCESS_STATE]
    return state


BACKOFF_FIELDS = ("IntervalSeconds", "BackoffRate", "MaxDelaySeconds", "JitterStrategy")


def _transient_backoff(document: dict[str, Any]) -> dict[str, Any]:
    """The file's transient retrier's backoff (ProcessTask's first retrier), which the branch's
    own transient retriers share."""
    retrier: dict[str, Any] = _process_state(document)["Retry"][0]
    return {field: retrier[field] for field in BACKOFF_FIELDS if field in retrier}


def _bookkeeping(document: dict[str, Any], action: dict[str, Any], init_seconds: int) -> dict[str, Any]:
    """A Task state that invokes the process function for a claim or a result: the file's
    ProcessTask's function and transient errors and backoff, a short timeout and one retry."""
    process = _process_state(document)
    transient = list(process["Retry"][0]["ErrorEquals"])
    return {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": process["Parameters"]["FunctionName"], "Payload": action},
        "TimeoutSeconds": init_seconds + CLAIM_WORK_SECONDS,
        "Retry": [{"ErrorEquals": transient, **_transient_backoff(document), "MaxAttempts": 1}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILURE_PATH_STATE}],
    }


def _run_state(document: dict[str, Any], registration: Registration, init_seconds: int) -> dict[str, Any]:
    retry = registration.retry
    policy: dict[str, Any] = {
        "ErrorEquals": ["States.ALL"],
        "IntervalSeconds": retry.interval_seconds,
        "MaxAttempts": retry.max_attempts,
        "BackoffRate": retry.backoff_rate,
        "JitterStrategy": retry.jitter,
    }
    if retry.max_delay_seconds is not None:
        policy["MaxDelaySeconds"] = retry.max_delay_seconds
    _, _, complete = state_names(registration.name)
    return {
        "Type": "Task",
        "Comment": f"The user's function for {registration.name}: at least once per (taskId, run, attempt).",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {
            "FunctionName": f"${{{substitution(registration.name)}}}",
            "Payload": {
                "taskId.$": "$.taskId",
                "run.$": "$.claim.run",
                "attempt.$": "States.MathAdd($.claim.attempt, $$.State.RetryCount)",
                "payload.$": "$.claim.payload",
            },
        },
        "ResultSelector": {"value.$": "$.Payload", "retries.$": "$$.State.RetryCount"},
        "ResultPath": "$.claim",
        "TimeoutSeconds": registration.timeout_seconds + init_seconds,
        "Retry": [
            {"ErrorEquals": [PERMANENT_ERROR, *registration.permanent_errors], "MaxAttempts": 0},
            {
                "ErrorEquals": list(LAMBDA_SERVICE_ERRORS),
                **_transient_backoff(document),
                "MaxAttempts": retry.service_error_retries,
            },
            policy,
        ],
        "Catch": [
            {"ErrorEquals": [DATA_LIMIT_ERROR], "ResultPath": "$.error", "Next": FAILURE_PATH_STATE},
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILURE_PATH_STATE},
        ],
        "Next": complete,
    }


def type_states(document: dict[str, Any], registration: Registration, init_seconds: int) -> dict[str, Any]:
    """The template: one registered type's branch (Claim, a Choice on the claim, Run, Complete)."""
    claim, run, complete = state_names(registration.name)
    run_state = _run_state(document, registration, init_seconds)
    complete_state = _bookkeeping(
        document,
        {
            "action": "complete",
            "taskId.$": "$.taskId",
            "executionArn.$": "$$.Execution.Id",
            "result.$": "$.claim.value",
            "retries.$": "$.claim.retries",
            "execution.$": "$$.Execution.Input",
        },
        init_seconds,
    )
    lease = math.ceil(state_worst_case(run_state) + state_worst_case(complete_state))
    claim_state = _bookkeeping(
        document,
        {
            "action": "claim",
            "taskId.$": "$.taskId",
            "executionArn.$": "$$.Execution.Id",
            "execution.$": "$$.Execution.Input",
            "leaseSeconds": lease,
        },
        init_seconds,
    )
    claim_state["ResultSelector"] = {
        f"{key}.$": f"$.Payload.{key}" for key in ("claimed", "run", "attempt", "payload")
    }
    claim_state["ResultPath"] = "$.claim"
    claim_state["Next"] = f"Claimed {registration.name}"
    complete_state["OutputPath"] = "$.Payload"
    complete_state["End"] = True
    return {
        claim: claim_state,
        f"Claimed {registration.name}": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.claim.claimed", "BooleanEquals": True, "Next": run}],
            "Default": NOT_CLAIMED_STATE,
        },
        run: run_state,
        complete: complete_state,
    }


@dataclass(frozen=True)
class ProcessShape:
    """The built-in path's knobs a stage may set (``processTimeoutSeconds``, ``processRetries``,
    ``processTransientRetries``): ProcessTask's timeout and its two retriers' MaxAttempts."""

    timeout_seconds: int
    """The process function's timeout; the state's is this plus Lambda's INIT limit."""
    retries: int
    """The ``TaskFailedError`` retrier's MaxAttempts: a task's own retryable failures."""
    transient_retries: int
    """The transient retrier's MaxAttempts: the Lambda service, crashes, timeouts, dependencies."""


TRANSIENT_ERROR = "Lambda.ServiceException"
"""An error only the file's transient retrier names: how the generator finds that retrier."""


def file_process_shape(process_timeout_seconds: int) -> ProcessShape:
    """The knobs as the ASL file sets them (the process function's timeout is the spec's)."""
    return ProcessShape(
        process_timeout_seconds, retry_policy().max_attempts, retry_policy(TRANSIENT_ERROR).max_attempts
    )


def _shape_process(document: dict[str, Any], process: ProcessShape, init_seconds: int) -> None:
    state = _process_state(document)
    state["TimeoutSeconds"] = process.timeout_seconds + init_seconds
    for retrier in state["Retry"]:
        if RETRYABLE_ERROR in retrier["ErrorEquals"]:
            retrier["MaxAttempts"] = process.retries
        if TRANSIENT_ERROR in retrier["ErrorEquals"]:
            retrier["MaxAttempts"] = process.transient_retries


def generate(
    registrations: Sequence[Registration], init_seconds: int, process: ProcessShape | None = None
) -> dict[str, Any]:
    """The stage's definition: the ASL file itself when no type is registered and the built-in
    path keeps the file's timeout and retries."""
    document = base_document()
    if process is not None:
        _shape_process(document, process, init_seconds)
    if not registrations:
        return document
    states: dict[str, Any] = {
        ROUTE_STATE: {
            "Type": "Choice",
            "Comment": "A registered type's task runs the type's branch; every other task, ProcessTask.",
            "Choices": [
                {
                    "And": [
                        {"Variable": f"$.{REGISTERED_TYPE_KEY}", "IsPresent": True},
                        {"Variable": f"$.{REGISTERED_TYPE_KEY}", "StringEquals": registration.name},
                    ],
                    "Next": state_names(registration.name)[0],
                }
                for registration in registrations
            ],
            "Default": document["StartAt"],
        },
        NOT_CLAIMED_STATE: {
            "Type": "Succeed",
            "Comment": "The task is finished, cancelled, or held by another live execution: nothing to run.",
        },
    }
    for registration in registrations:
        states.update(type_states(document, registration, init_seconds))
    document["States"] = {**states, **document["States"]}
    document["StartAt"] = ROUTE_STATE
    return document


@dataclass(frozen=True)
class TypeWorstCase:
    """One registered type's execution at its worst, as synthesis reports it."""

    name: str
    total: float
    claim: float
    run: float
    complete: float
    failure_path: float
    attempts: int
    state_timeout: int
    waits: float

    def arithmetic(self) -> str:
        return (
            f"claim {self.claim:g} s + run {self.attempts} invocations x {self.state_timeout} s "
            f"(timeoutSeconds + INIT) + {self.waits:g} s of waits + complete {self.complete:g} s "
            f"+ failure path {self.failure_path:g} s = {self.total:g} s"
        )


def type_worst_case(document: dict[str, Any], name: str) -> TypeWorstCase:
    """Type ``name``'s execution at its worst, on the generated ``document``."""
    claim, run, complete = state_names(name)
    states = document["States"]
    run_state = states[run]
    attempts, waits = retry_budget(run_state)
    return TypeWorstCase(
        name=name,
        total=worst_case_seconds(document, start=claim),
        claim=state_worst_case(states[claim]),
        run=state_worst_case(run_state),
        complete=state_worst_case(states[complete]),
        failure_path=worst_case_seconds(document, start=FAILURE_PATH_STATE),
        attempts=attempts,
        state_timeout=int(run_state["TimeoutSeconds"]),
        waits=waits,
    )


def process_arithmetic(document: dict[str, Any]) -> str:
    """The built-in path at its worst, in one line: ProcessTask's attempts, waits, the failure path."""
    state = _process_state(document)
    attempts, waits = retry_budget(state)
    failure = worst_case_seconds(document, start=FAILURE_PATH_STATE)
    total = worst_case_seconds(document, start=PROCESS_STATE)
    return (
        f"{attempts} invocations x {state['TimeoutSeconds']} s (processTimeoutSeconds + INIT) + {waits:g} s "
        f"of waits + failure path {failure:g} s = {total:g} s"
    )
