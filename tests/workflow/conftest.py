from __future__ import annotations

import json
from typing import Any

from functions.common.models import TaskStatus
from tests.fixtures.stack import Stack


def run_task(stack: Stack, payload: dict[str, Any], name: str = "run-1") -> tuple[str, dict[str, Any]]:
    """Given a submitted task, when one execution runs it to the end, return (task id, execution)."""
    task_id = stack.submit(payload)
    execution = stack.wait_for_execution(stack.start_execution(task_id, name))
    return task_id, execution


def dead_letters(stack: Stack) -> list[dict[str, Any]]:
    return [
        json.loads(message["Body"]) for message in stack.queue_messages(stack.resources.dead_letter_queue_url)
    ]


def states_entered(stack: Stack, execution_arn: str) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in stack.history(execution_arn)
        if "stateEnteredEventDetails" in event
    ]


__all__ = ["TaskStatus", "dead_letters", "run_task", "states_entered"]
