"""Recurring schedules: create or replace one (``PUT /schedules/{name}``), read, list, pause,
resume and delete them. Each is an item of the schedules table (the one source of truth) and a
recurring EventBridge Scheduler schedule that sends its firings to the tasks queue; a firing
becomes its task in functions/usecases/firing.py."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from functions.common import json_text
from functions.common.clock import Clock, iso
from functions.common.errors import (
    ApiError,
    InvalidJsonError,
    InvalidNextTokenError,
    InvalidQueryError,
    InvalidRequestError,
    PayloadNotObjectError,
    PayloadTooLargeError,
    ScheduleNotFoundError,
)
from functions.common.recurring import (
    DEFAULT_TIMEZONE,
    NAME_PATTERN,
    NEXT_FIRINGS_SHOWN,
    Overlap,
    ScheduleState,
    parse_expression,
    parse_timezone,
    scheduled_time_text,
)
from functions.common.schedules_table import SchedulesTable, StoredSchedule
from functions.common.scheduling import RESERVED_FIELDS, parse_instant, refused
from functions.common.task_schedules import RecurringSchedules, RecurringTiming
from functions.common.tasks_table import TasksTable
from functions.task_types import TASK_TYPES
from functions.task_types.registry import TaskEnvironment
from functions.usecases.operations import parse_limit

FIELDS = ("expression", "timezone", "task", "startAt", "endAt", "overlap", "state")
MAX_BODY_BYTES = 256 * 1024
"""A schedule's body: its task (at most 200 KiB, as POST /tasks) and the rest."""


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise refused(
            "name", "must be 1-64 characters of A-Z, a-z, 0-9, '-', '_' and '.' (Scheduler's names)"
        )
    return name


@dataclass(frozen=True)
class Definition:
    """A schedule as a PUT states it, every field checked."""

    expression: str
    timezone: str
    task: dict[str, Any]
    task_text: str
    overlap: Overlap
    state: ScheduleState
    start_at: datetime | None
    end_at: datetime | None

    def item(self) -> dict[str, Any]:
        return {
            "expression": self.expression,
            "timezone": self.timezone,
            "task": self.task_text,
            "overlap": self.overlap.value,
            "state": self.state.value,
            "startAt": iso(self.start_at) if self.start_at else None,
            "endAt": iso(self.end_at) if self.end_at else None,
        }

    def timing(self, now: datetime) -> RecurringTiming:
        return RecurringTiming(
            self.expression,
            self.timezone,
            self.state.value,
            start=self.start_at if self.start_at and self.start_at > now else None,
            end=self.end_at,
        )


def _choice(field: str, raw: Any, kind: type[Overlap] | type[ScheduleState], default: Any) -> Any:
    if raw is None:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise refused(field, f"must be one of {', '.join(member.value for member in kind)}") from None


def _task(raw: Any, environment: TaskEnvironment, now: datetime) -> tuple[dict[str, Any], str]:
    """The body each firing submits, checked now exactly as POST /tasks checks a body."""
    from functions.usecases.submission import parse_body  # noqa: PLC0415 - one submission path

    if not isinstance(raw, dict):
        raise refused("task", "must be a JSON object: the body each firing submits, as to POST /tasks")
    timed = [field for field in RESERVED_FIELDS if field in raw]
    if timed:
        raise refused("task", f"{', '.join(timed)} cannot be set: a schedule's task runs when it fires")
    text = json_text.dumps(raw)
    try:
        parse_body(text.encode(), environment, now)
    except ApiError as exc:
        exc.message = f"task: {exc.message}"
        exc.details.setdefault("field", "task")
        raise
    return raw, text


def parse_definition(body: bytes, environment: TaskEnvironment, now: datetime) -> Definition:
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"the body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    try:
        document = json_text.parse(body) if body.strip() else None
    except json_text.JsonTextError as exc:
        raise InvalidJsonError(f"the body is not JSON text this API takes: {exc}") from exc
    if not isinstance(document, dict):
        raise PayloadNotObjectError("the body must be a JSON object with expression and task")
    unknown = sorted(set(document) - set(FIELDS))
    if unknown:
        raise InvalidRequestError(
            f"unknown field(s): {', '.join(unknown)}; a schedule has {', '.join(FIELDS)}",
            fields={field: "unknown field" for field in unknown},
        )
    for required in ("expression", "task"):
        if required not in document:
            raise refused(required, "is required")
    recurrence = parse_expression(document["expression"])
    timezone = document.get("timezone", DEFAULT_TIMEZONE)
    parse_timezone(timezone)
    start = parse_instant("startAt", document["startAt"]) if "startAt" in document else None
    end = parse_instant("endAt", document["endAt"]) if "endAt" in document else None
    if end is not None and end <= max(now, start or now):
        raise refused("endAt", "must be in the future and after startAt")
    task, text = _task(document["task"], environment, now)
    return Definition(
        expression=recurrence.expression,
        timezone=timezone,
        task=task,
        task_text=text,
        overlap=_choice("overlap", document.get("overlap"), Overlap, Overlap.SKIP),
        state=_choice("state", document.get("state"), ScheduleState, ScheduleState.ENABLED),
        start_at=start,
        end_at=end,
    )


def next_firings(schedule: StoredSchedule, now: datetime, count: int = NEXT_FIRINGS_SHOWN) -> list[str]:
    """The coming firings (UTC), as Scheduler computes them; none while DISABLED or past endAt."""
    if schedule.state != ScheduleState.ENABLED:
        return []
    recurrence = parse_expression(schedule.expression)
    changed = datetime.fromisoformat(schedule.anchor)
    start = datetime.fromisoformat(schedule.start_at) if schedule.start_at else None
    # A startAt already past when the schedule was last changed was not given to Scheduler (it
    # refuses one over 5 minutes old): its periods count from the change.
    anchor = start if start is not None and start > changed else changed
    after = max(now, start) if start else now
    end = datetime.fromisoformat(schedule.end_at) if schedule.end_at else None
    coming = recurrence.firings(parse_timezone(schedule.timezone), anchor, after, inclusive=True)
    return [scheduled_time_text(moment) for moment in islice(coming, count) if end is None or moment <= end]


def view(schedule: StoredSchedule, now: datetime, tasks: TasksTable | None = None) -> dict[str, Any]:
    """The schedule as the API shows it (the task as its type lets it be seen)."""
    body: dict[str, Any] = {
        "name": schedule.name,
        "expression": schedule.expression,
        "timezone": schedule.timezone,
        "task": TASK_TYPES.redacted(json_text.parse(schedule.task)),
        "overlap": schedule.overlap,
        "state": schedule.state,
        "createdAt": schedule.created_at,
        "updatedAt": schedule.updated_at,
        "nextFirings": next_firings(schedule, now),
        "skippedFirings": schedule.skipped_firings,
    }
    for field, value in (("startAt", schedule.start_at), ("endAt", schedule.end_at)):
        if value:
            body[field] = value
    if schedule.last_scheduled_time and schedule.last_task_id:
        last: dict[str, Any] = {
            "scheduledTime": schedule.last_scheduled_time,
            "taskId": schedule.last_task_id,
        }
        if tasks is not None:
            state = tasks.index.due_states([schedule.last_task_id]).get(schedule.last_task_id)
            if state is not None:
                last["status"] = state.status.value
        body["lastFiring"] = last
    if schedule.last_skipped_time:
        body["lastSkipped"] = {
            "scheduledTime": schedule.last_skipped_time,
            "reason": schedule.last_skip_reason,
        }
    return body


def put_schedule(
    name: str,
    body: bytes,
    *,
    schedules: SchedulesTable,
    scheduler: RecurringSchedules,
    environment: TaskEnvironment,
    clock: Clock,
) -> tuple[StoredSchedule, bool]:
    """Create or replace the schedule: its Scheduler schedule, then its item (at most four calls
    in a row: the api's bound, infra/spec.py). Returns (the schedule, whether it was created).

    A PUT cut short (a 503) may have changed one and not the other: the same PUT again completes
    it. Until then a firing that finds no item submits nothing; one that finds the previous item
    submits the previous task."""
    check_name(name)
    now = clock()
    definition = parse_definition(body, environment, now)
    changed = scheduler.put(name, definition.timing(now))
    return schedules.put(name, definition.item(), anchor_moved=changed, now=now)


def set_state(
    name: str, state: ScheduleState, *, schedules: SchedulesTable, scheduler: RecurringSchedules, clock: Clock
) -> StoredSchedule:
    """Pause (DISABLED) or resume (ENABLED) a schedule, its definition unchanged: three calls (the
    item, Scheduler's schedule, the item's state). A resumed schedule fires from now on: Scheduler
    does not catch up the firings it skipped while disabled."""
    stored = get_schedule(name, schedules=schedules)
    now = clock()
    start = datetime.fromisoformat(stored.start_at) if stored.start_at else None
    end = datetime.fromisoformat(stored.end_at) if stored.end_at else None
    scheduler.update(
        name,
        RecurringTiming(
            stored.expression,
            stored.timezone,
            state.value,
            start=start if start and start > now else None,
            end=end,
        ),
    )
    changed = schedules.set_state(name, state.value, now)
    if changed is None:
        raise ScheduleNotFoundError(f"schedule {name!r} was deleted meanwhile")
    return changed


def get_schedule(name: str, *, schedules: SchedulesTable) -> StoredSchedule:
    check_name(name)
    stored = schedules.get(name)
    if stored is None:
        raise ScheduleNotFoundError(f"no schedule named {name!r}")
    return stored


def delete_schedule(name: str, *, schedules: SchedulesTable, scheduler: RecurringSchedules) -> None:
    """The Scheduler schedule first (no firing after this returns), then the item. A firing
    already on its way finds no item and submits nothing. Its tasks stay."""
    check_name(name)
    existed_in_scheduler = scheduler.delete(name)
    existed = schedules.delete(name)
    if not (existed or existed_in_scheduler):
        raise ScheduleNotFoundError(f"no schedule named {name!r}")


def _token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")


def _after(token: str) -> str:
    invalid = InvalidNextTokenError("nextToken is not one this API issued")
    if len(token) > 200:
        raise invalid
    try:
        name = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise invalid from exc
    if not NAME_PATTERN.fullmatch(name):
        raise invalid
    return name


def list_schedules(
    query: Mapping[str, str], *, schedules: SchedulesTable, clock: Clock
) -> tuple[list[dict[str, Any]], str | None]:
    unknown = set(query) - {"limit", "nextToken"}
    if unknown:
        raise InvalidQueryError(f"unknown query parameter(s): {', '.join(sorted(unknown))}")
    limit = parse_limit(query.get("limit"))
    after = _after(query["nextToken"]) if "nextToken" in query else None
    items, last = schedules.list(limit, after)
    now = clock()
    return [view(item, now) for item in items], (_token(last) if last else None)
