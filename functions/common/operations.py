"""What operators do with tasks: list them by status, cancel one, redrive a failed one."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from functions.common.clock import Clock
from functions.common.errors import (
    DependencyUnavailableError,
    InvalidNextTokenError,
    InvalidQueryError,
    TaskNotCancellableError,
    TaskNotFoundError,
    TaskNotRedrivableError,
    TransitionRefusedError,
)
from functions.common.models import Task, TaskStatus, TaskSummary
from functions.common.tasks_queue import TasksQueue
from functions.common.tasks_table import PageKey, TasksTable

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
_KEY_ATTRIBUTES = frozenset({"taskId", "status", "createdAt"})


@dataclass(frozen=True)
class Page:
    items: list[TaskSummary]
    next_token: str | None


def encode_token(key: PageKey) -> str:
    """Opaque to clients: the index position, base64url-encoded."""
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: str, status: TaskStatus) -> PageKey:
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidNextTokenError("nextToken is not one this API issued") from exc
    valid = (
        isinstance(key, dict)
        and set(key) == _KEY_ATTRIBUTES
        and all(
            isinstance(value, dict) and set(value) == {"S"} and isinstance(value["S"], str)
            for value in key.values()
        )
    )
    if not valid:
        raise InvalidNextTokenError("nextToken is not one this API issued")
    if key["status"]["S"] != status.value:
        raise InvalidNextTokenError(
            f"nextToken belongs to a listing of {key['status']['S']}, not {status.value}"
        )
    return dict(key)


def parse_status(raw: str | None) -> TaskStatus:
    choices = ", ".join(status.value for status in TaskStatus)
    if raw is None:
        raise InvalidQueryError(f"status is required: one of {choices}")
    try:
        return TaskStatus(raw)
    except ValueError:
        raise InvalidQueryError(f"status {raw!r} is not one of {choices}") from None


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidQueryError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def list_tasks(query: dict[str, str], *, table: TasksTable) -> Page:
    unknown = set(query) - {"status", "limit", "nextToken"}
    if unknown:
        raise InvalidQueryError(f"unknown query parameter(s): {', '.join(sorted(unknown))}")
    status = parse_status(query.get("status"))
    limit = parse_limit(query.get("limit"))
    start = decode_token(query["nextToken"], status) if "nextToken" in query else None
    items, next_key = table.list_by_status(status, limit, start)
    return Page(items, encode_token(next_key) if next_key else None)


def cancel_task(task_id: str, *, table: TasksTable, clock: Clock) -> Task:
    try:
        return table.cancel(task_id, clock())
    except TransitionRefusedError as refused:
        raise _refusal(
            task_id, refused, TaskNotCancellableError, "only a QUEUED task can be cancelled"
        ) from refused


def redrive_task(task_id: str, *, table: TasksTable, queue: TasksQueue, clock: Clock) -> tuple[Task, bool]:
    """FAILED → QUEUED and enqueued for a new run. Returns (task, enqueued); a failed send is
    repaired by the reconcile sweep, as for a new submission."""
    try:
        task = table.redrive(task_id, clock())
    except TransitionRefusedError as refused:
        raise _refusal(
            task_id, refused, TaskNotRedrivableError, "only a FAILED task can be redriven"
        ) from refused
    try:
        queue.enqueue(task.task_id, task.runs)
    except DependencyUnavailableError:
        return task, False
    return task, True


def _refusal(
    task_id: str,
    refused: TransitionRefusedError,
    conflict: type[TaskNotCancellableError | TaskNotRedrivableError],
    rule: str,
) -> Exception:
    if refused.current_status is None:
        return TaskNotFoundError(f"no task with id {task_id!r}")
    return conflict(f"task is {refused.current_status}; {rule}", currentStatus=str(refused.current_status))


def summaries_to_api(page: Page) -> dict[str, Any]:
    body: dict[str, Any] = {"items": [item.to_api() for item in page.items]}
    if page.next_token:
        body["nextToken"] = page.next_token
    return body
