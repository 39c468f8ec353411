"""The ASL file, its substitutions and the retry policy it declares.

``statemachine/process_task.asl.json`` is the single source of truth: CDK deploys it with
``DefinitionSubstitutions``, the tests and the local stack render the very same file here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
ASL_PATH = REPO_ROOT / "statemachine" / "process_task.asl.json"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")

PROCESS_STATE = "ProcessTask"
RETRYABLE_ERROR = "TaskFailedError"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
DEFAULT_TASK_TIMEOUT_SECONDS = 60


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


@cache
def _document() -> dict[str, Any]:
    """The ASL file parsed, once per process (read-only: its callers copy what they change)."""
    document: dict[str, Any] = json.loads(read_definition())
    return document


def _state(state: str) -> dict[str, Any]:
    document = _document()
    found: dict[str, Any] = document["States"][state]
    return found


def base_document() -> dict[str, Any]:
    """A copy of the ASL file, parsed: the definition of a stage that registers no task type."""
    copied: dict[str, Any] = json.loads(json.dumps(_document()))
    return copied


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


def state_timeout_seconds(state: str) -> int:
    """A Task state's ``TimeoutSeconds`` (the States Language's default is 60)."""
    return int(_state(state).get("TimeoutSeconds", DEFAULT_TASK_TIMEOUT_SECONDS))


def invoked_function_substitution(state: str) -> str | None:
    """The placeholder a ``lambda:invoke`` Task's FunctionName holds (``${Key}`` → ``Key``)."""
    definition = _state(state)
    if definition.get("Resource") != LAMBDA_INVOKE:
        return None
    found = _PLACEHOLDER.fullmatch(str(definition.get("Parameters", {}).get("FunctionName", "")))
    return found.group(1) if found else None


def retry_budget(definition: dict[str, Any]) -> tuple[int, float]:
    """A Task state's retriers at their most: (every attempt they allow, 1 + the sum of their
    MaxAttempts; every wait at its ceiling, summed)."""
    policies = [_policy(retrier["ErrorEquals"][0], retrier) for retrier in definition.get("Retry", [])]
    attempts = 1 + sum(policy.max_attempts for policy in policies)
    waits = sum(policy.ceiling(retry) for policy in policies for retry in range(1, policy.max_attempts + 1))
    return attempts, waits


def state_worst_case(definition: dict[str, Any]) -> float:
    """One Task state at its worst: every attempt its retriers allow, each cut off by the state's
    own TimeoutSeconds, and every wait at its ceiling.

    The state's timeout, not the function's, bounds a ``lambda:invoke`` attempt: Lambda's INIT
    runs outside the function's timeout (and an attempt after a timeout or a crash pays it again),
    but inside the state's."""
    attempts, waits = retry_budget(definition)
    return attempts * float(definition.get("TimeoutSeconds", DEFAULT_TASK_TIMEOUT_SECONDS)) + waits


def state_worst_cases(document: dict[str, Any] | None = None) -> dict[str, float]:
    """Each Task state's worst case, by name (docs/RELIABILITY.md shows the arithmetic), in the
    ASL file or in a generated ``document``."""
    states: dict[str, Any] = (document or _document())["States"]
    return {name: state_worst_case(state) for name, state in states.items() if state["Type"] == "Task"}


def successors(state: dict[str, Any]) -> list[str]:
    """Where a state can go next: its Next, its catchers', a Choice's rules' and Default."""
    found = [state["Next"]] if "Next" in state else []
    found += [catcher["Next"] for catcher in state.get("Catch", [])]
    found += [rule["Next"] for rule in state.get("Choices", [])]
    found += [state["Default"]] if "Default" in state else []
    return found


def worst_case_seconds(document: dict[str, Any] | None = None, start: str | None = None) -> float:
    """The longest any execution can run: the costliest path from StartAt (or ``start``) through
    every edge (Next, Catch, a Choice's), each Task state at its worst. A Task without a bound
    counts its 60 s default. Of the ASL file, or of a generated ``document``."""
    document = document or _document()
    states: dict[str, Any] = document["States"]
    costs = state_worst_cases(document)
    memo: dict[str, float] = {}

    def longest(name: str) -> float:
        if name not in memo:
            state = states[name]
            memo[name] = costs.get(name, 0.0) + max(
                (longest(successor) for successor in successors(state)), default=0.0
            )
        return memo[name]

    return longest(start or document["StartAt"])
