"""What each scenario submits and which end states the contract allows for it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from functions.common.task_status import TaskStatus
from infra.workflow_definition import retry_policy

POLICY = retry_policy()


class Scenario(StrEnum):
    RANDOM = "random"
    SUCCESS = "success"
    RETRY = "retry"
    DLQ = "dlq"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Expectation:
    payload: Callable[[int], dict[str, Any]]
    check: Callable[[dict[str, Any]], str | None]
    """None if the final record is allowed, else the violation."""


def _succeeded(attempts: int | None) -> Callable[[dict[str, Any]], str | None]:
    def check(task: dict[str, Any]) -> str | None:
        if task["status"] != TaskStatus.SUCCEEDED:
            return f"expected SUCCEEDED, got {task['status']}"
        if attempts is not None and task.get("attempts") != attempts:
            return f"expected {attempts} attempts, got {task.get('attempts')}"
        return None

    return check


def _failed(error: str, attempts: int) -> Callable[[dict[str, Any]], str | None]:
    def check(task: dict[str, Any]) -> str | None:
        if task["status"] != TaskStatus.FAILED:
            return f"expected FAILED, got {task['status']}"
        if task.get("error") != error or task.get("attempts") != attempts:
            found = f"{task.get('error')} after {task.get('attempts')}"
            return f"expected {error} after {attempts} attempts, got {found}"
        if not task.get("deadLetteredAt"):
            return "FAILED but never recorded as dead-lettered"
        return None

    return check


def _random(task: dict[str, Any]) -> str | None:
    if task["status"] == TaskStatus.SUCCEEDED:
        return (
            None
            if 1 <= task.get("attempts", 0) <= POLICY.total_attempts
            else "attempts outside the retry policy"
        )
    if task["status"] == TaskStatus.FAILED:
        return _failed("TaskFailedError", POLICY.total_attempts)(task)
    return f"status {task['status']} is not allowed for a submitted task"


EXPECTATIONS: dict[Scenario, Expectation] = {
    Scenario.RANDOM: Expectation(lambda index: {"smoke": index}, _random),
    Scenario.SUCCESS: Expectation(lambda index: {"smoke": index, "simulate": {"failures": 0}}, _succeeded(1)),
    Scenario.RETRY: Expectation(
        lambda index: {"smoke": index, "simulate": {"failures": POLICY.max_attempts}},
        _succeeded(POLICY.total_attempts),
    ),
    Scenario.DLQ: Expectation(
        lambda index: {"smoke": index, "simulate": {"failures": POLICY.total_attempts}},
        _failed("TaskFailedError", POLICY.total_attempts),
    ),
    Scenario.PERMANENT: Expectation(
        lambda index: {"smoke": index, "simulate": {"permanent": True}}, _failed("PermanentTaskError", 1)
    ),
}


def is_settled(task: dict[str, Any]) -> bool:
    """``TaskStatus.settled``: terminal, and for FAILED also dead-lettered."""
    status = str(task.get("status"))
    return status in TaskStatus.__members__ and TaskStatus(status).settled(bool(task.get("deadLetteredAt")))
