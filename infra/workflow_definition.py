"""The ASL file, its substitutions and the retry policy it declares.

``statemachine/process_task.asl.json`` is the single source of truth: CDK deploys it with
``DefinitionSubstitutions``, the tests and the local stack render the very same file here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
ASL_PATH = REPO_ROOT / "statemachine" / "process_task.asl.json"
SUBSTITUTION_KEYS = frozenset({"ProcessFunctionArn", "TasksTableName", "DeadLetterQueueUrl"})
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")

PROCESS_STATE = "ProcessTask"
RETRYABLE_ERROR = "TaskFailedError"


def read_definition() -> str:
    return ASL_PATH.read_text(encoding="utf-8")


def placeholders(definition: str) -> set[str]:
    return set(_PLACEHOLDER.findall(definition))


def render(substitutions: Mapping[str, str], definition: str | None = None) -> str:
    """Fill every ``${Key}``; refuse unknown or missing keys, as CloudFormation would."""
    text = read_definition() if definition is None else definition
    wanted = placeholders(text)
    if wanted != set(substitutions):
        raise ValueError(f"substitutions {sorted(substitutions)} do not match placeholders {sorted(wanted)}")
    return _PLACEHOLDER.sub(lambda match: substitutions[match.group(1)], text)


@dataclass(frozen=True)
class RetryPolicy:
    error: str
    interval_seconds: float
    max_attempts: int
    backoff_rate: float
    max_delay_seconds: float | None
    jitter: str

    def ceiling(self, retry: int) -> float:
        """The longest wait before retry number ``retry`` (1-based): interval·rate^(n-1), capped."""
        wait = self.interval_seconds * self.backoff_rate ** (retry - 1)
        return min(wait, self.max_delay_seconds) if self.max_delay_seconds is not None else wait

    @property
    def total_attempts(self) -> int:
        return self.max_attempts + 1


def _state(state: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(read_definition())
    found: dict[str, Any] = document["States"][state]
    return found


def _policy(error: str, retrier: dict[str, Any]) -> RetryPolicy:
    """A retrier, with the defaults the States Language specifies."""
    return RetryPolicy(
        error=error,
        interval_seconds=float(retrier.get("IntervalSeconds", 1)),
        max_attempts=int(retrier.get("MaxAttempts", 3)),
        backoff_rate=float(retrier.get("BackoffRate", 2.0)),
        max_delay_seconds=float(retrier["MaxDelaySeconds"]) if "MaxDelaySeconds" in retrier else None,
        jitter=str(retrier.get("JitterStrategy", "NONE")),
    )


def retry_policy(error: str = RETRYABLE_ERROR, state: str = PROCESS_STATE) -> RetryPolicy:
    """The retrier of ``state`` that matches ``error``, read from the ASL file."""
    for retrier in _state(state).get("Retry", []):
        if error in retrier["ErrorEquals"]:
            return _policy(error, retrier)
    raise KeyError(f"no retrier for {error} in state {state}")


def _state_worst_case(definition: dict[str, Any], lambda_timeout_seconds: float) -> float:
    """One Task state at its worst: every attempt its retriers allow (1 + the sum of their
    MaxAttempts), each running to its bound, and every wait at its ceiling."""
    policies = [_policy(retrier["ErrorEquals"][0], retrier) for retrier in definition.get("Retry", [])]
    attempts = 1 + sum(policy.max_attempts for policy in policies)
    bound = float(definition.get("TimeoutSeconds", 60))
    if definition.get("Resource") == "arn:aws:states:::lambda:invoke":
        bound = min(bound, lambda_timeout_seconds)
    waits = sum(policy.ceiling(retry) for policy in policies for retry in range(1, policy.max_attempts + 1))
    return attempts * bound + waits


def worst_case_seconds(lambda_timeout_seconds: float) -> float:
    """The longest any execution can run: the costliest path from StartAt through Next and Catch
    edges, each Task state at its worst. A Task without a bound counts its 60 s default."""
    states: dict[str, Any] = json.loads(read_definition())["States"]
    memo: dict[str, float] = {}

    def longest(name: str) -> float:
        if name not in memo:
            state = states[name]
            cost = _state_worst_case(state, lambda_timeout_seconds) if state["Type"] == "Task" else 0.0
            successors = [state["Next"]] if "Next" in state else []
            successors += [catcher["Next"] for catcher in state.get("Catch", [])]
            memo[name] = cost + max((longest(successor) for successor in successors), default=0.0)
        return memo[name]

    return longest(json.loads(read_definition())["StartAt"])
