"""What operators do with tasks: list them by status, cancel one, redrive a failed one."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from functions.common.clock import Clock
from functions.common.errors import (
    DependencyMisconfiguredError,
    DependencyUnavailableError,
    InvalidNextTokenError,
    InvalidQueryError,
    TaskNotCancellableError,
    TaskNotFoundError,
    TaskNotRedrivableError,
    TransitionRefusedError,
)
from functions.common.models import Task, TaskStatus, TaskSummary
from functions.common.recurring import NAME_PATTERN
from functions.common.status_shards import SHARDS
from functions.common.task_schedules import TaskSchedules
from functions.common.tasks_queue import TasksQueue
from functions.common.tasks_table import ShardCursors, TasksTable

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page:
    items: list[TaskSummary]
    next_token: str | None


def encode_token(status: TaskStatus, cursors: ShardCursors) -> str:
    """Opaque to clients: the listing's status and where each index shard stands, base64url."""
    body = {"s": status.value, "c": {str(shard): cursor for shard, cursor in sorted(cursors.items())}}
    return base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")


MAX_TOKEN_CHARS = 4096
"""Longer than any token this API issues (one cursor per index shard; a unit test checks it):
a longer one is refused before it is decoded."""
_SHARD = re.compile(r"[0-9]{1,2}", re.ASCII)
_CREATED_AT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z", re.ASCII)
"""A record's createdAt as ``functions.common.clock.iso`` writes it: the index's sort key."""
_TASK_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)
"""A task id as submission makes it (a UUID, random or derived from the Idempotency-Key)."""


def _token_body(token: str) -> Any:
    """The JSON a token holds, or INVALID_NEXT_TOKEN for anything this API never issued."""
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidNextTokenError("nextToken is not one this API issued")
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidNextTokenError("nextToken is not one this API issued") from exc


def decode_token(token: str, status: TaskStatus) -> ShardCursors:
    """The cursors a token holds, every part checked against what this API issues before any
    reaches DynamoDB (a key DynamoDB refuses would be a ValidationException: a 500 and the
    misconfiguration alarm, for a caller's typo)."""
    invalid = InvalidNextTokenError("nextToken is not one this API issued")
    body = _token_body(token)
    if not (isinstance(body, dict) and set(body) == {"s", "c"} and isinstance(body["c"], dict)):
        raise invalid
    cursors: ShardCursors = {}
    for shard, cursor in body["c"].items():
        if not (_SHARD.fullmatch(shard) and int(shard) < SHARDS):
            raise invalid
        valid_cursor = cursor is None or (
            isinstance(cursor, list)
            and len(cursor) == 2
            and isinstance(cursor[0], str)
            and isinstance(cursor[1], str)
            and _CREATED_AT.fullmatch(cursor[0]) is not None
            and _TASK_ID.fullmatch(cursor[1]) is not None
        )
        if not valid_cursor:
            raise invalid
        cursors[int(shard)] = None if cursor is None else (cursor[0], cursor[1])
    if body["s"] != status.value:
        raise InvalidNextTokenError("nextToken belongs to a listing of another status")
    return cursors


_LIMIT = re.compile(r"[0-9]{1,3}", re.ASCII)
"""ASCII digits only (a superscript two or Arabic-Indic digits are digits to ``str.isdigit``),
short enough to convert."""


def parse_status(raw: str | None) -> TaskStatus:
    choices = ", ".join(status.value for status in TaskStatus)
    if raw is None:
        raise InvalidQueryError(f"status is required: one of {choices}")
    try:
        return TaskStatus(raw)
    except ValueError:
        raise InvalidQueryError(f"status {raw[:40]!r} is not one of {choices}") from None


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not _LIMIT.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidQueryError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


_SCHEDULED_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", re.ASCII)
"""A firing's scheduledTime as functions/common/recurring.py writes it: the bySchedule sort key."""


def encode_schedule_token(schedule: str, cursor: tuple[str, str]) -> str:
    body = {"h": schedule, "k": list(cursor)}
    return base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_schedule_token(token: str, schedule: str) -> tuple[str, str]:
    invalid = InvalidNextTokenError("nextToken is not one this API issued")
    body = _token_body(token)
    if not (isinstance(body, dict) and set(body) == {"h", "k"} and isinstance(body["k"], list)):
        raise invalid
    cursor = body["k"]
    if not (
        len(cursor) == 2
        and all(isinstance(part, str) for part in cursor)
        and _SCHEDULED_TIME.fullmatch(cursor[0])
        and _TASK_ID.fullmatch(cursor[1])
    ):
        raise invalid
    if body["h"] != schedule:
        raise InvalidNextTokenError("nextToken belongs to a listing of another schedule")
    return cursor[0], cursor[1]


def _list_schedule_tasks(query: dict[str, str], table: TasksTable) -> Page:
    schedule = query["schedule"]
    if "status" in query:
        raise InvalidQueryError("give status or schedule, not both")
    if not NAME_PATTERN.fullmatch(schedule):
        raise InvalidQueryError("schedule must be a schedule's name: 1-64 of A-Z, a-z, 0-9, '-', '_', '.'")
    limit = parse_limit(query.get("limit"))
    after = decode_schedule_token(query["nextToken"], schedule) if "nextToken" in query else None
    items, cursor = table.index.list_by_schedule(schedule, limit, after)
    return Page(items, encode_schedule_token(schedule, cursor) if cursor is not None else None)


def list_tasks(query: dict[str, str], *, table: TasksTable) -> Page:
    unknown = set(query) - {"status", "schedule", "limit", "nextToken"}
    if unknown:
        raise InvalidQueryError(f"unknown query parameter(s): {', '.join(sorted(unknown))}")
    if "schedule" in query:
        return _list_schedule_tasks(query, table)
    status = parse_status(query.get("status"))
    limit = parse_limit(query.get("limit"))
    start = decode_token(query["nextToken"], status) if "nextToken" in query else None
    items, cursors = table.index.list_by_status(status, limit, start)
    return Page(items, encode_token(status, cursors) if cursors is not None else None)


def cancel_task(
    task_id: str, *, table: TasksTable, schedules: TaskSchedules, clock: Clock
) -> tuple[Task, Exception | None]:
    """QUEUED or SCHEDULED → CANCELLED, then a scheduled task's schedule is deleted. Returns the
    task and, when its schedule could not be deleted, why (the cancel stands either way: a
    schedule that fires finds the task CANCELLED, and dispatch skips it)."""
    try:
        task = table.cancel(task_id, clock())
    except TransitionRefusedError as refused:
        raise _refusal(
            task_id, refused, TaskNotCancellableError, "only a QUEUED or SCHEDULED task can be cancelled"
        ) from refused
    if task.run_at is not None:
        try:
            schedules.delete(task_id)
        except (DependencyUnavailableError, DependencyMisconfiguredError) as exc:
            return task, exc
    return task, None


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
