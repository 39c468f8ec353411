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


def retry_policies(state: str) -> list[RetryPolicy]:
    """Every retrier of ``state``, named by the first error it matches."""
    return [_policy(retrier["ErrorEquals"][0], retrier) for retrier in _state(state).get("Retry", [])]


def task_timeout_seconds(state: str) -> float:
    """A Task state's TimeoutSeconds (the States Language's default is 60)."""
    return float(_state(state).get("TimeoutSeconds", 60))
