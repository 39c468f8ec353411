"""Recurring schedules, as plain Python: what a ``PUT /schedules/{name}`` may say, when such a
schedule fires, and the one task id each firing may make.

EventBridge Scheduler evaluates the schedule on AWS (one recurring schedule per schedule); this
module is what the API validates with, what ``GET /schedules/{name}`` computes the next firings
with, and what the local stack fires on. Its rules are EventBridge Scheduler's, as its User Guide
states them (schedule-types):

- ``rate(value unit)``: a positive whole number and ``minute(s)``, ``hour(s)`` or ``day(s)``;
  it fires at its start (``startAt``, else when it is created) and then every period, counted as
  durations (a day is 24 h, across a daylight-saving change too). The timezone does not apply.
- ``cron(minutes hours day-of-month month day-of-week year)``: AWS's six fields, ``?`` in one of
  the day fields, evaluated in ``timezone`` (IANA). A local time that does not exist (the hour
  skipped when clocks go forward) does not fire; a local time that happens twice (the hour
  repeated when clocks go back) fires once, at its first occurrence.
- Targets are invoked within the minute of the firing (60-second precision); a firing's
  *scheduled time* (``<aws.scheduler.scheduled-time>``) is the nominal one, and it alone names
  the firing's task: ``firing_task_id``.

Cron expressions are parsed and evaluated by aws-croniter (PyPI), imported on first use so the
functions that never read a cron expression do not pay for it at cold start.
"""

from __future__ import annotations

import re
import uuid
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from functions.common.scheduling import refused

if TYPE_CHECKING:
    from aws_croniter import AwsCroniter

NAME_MAX_LENGTH = 64
NAME_PATTERN = re.compile(rf"^[0-9A-Za-z_.-]{{1,{NAME_MAX_LENGTH}}}$", re.ASCII)
"""A schedule's name: EventBridge Scheduler's (1-64 of ``[0-9a-zA-Z-_.]``), so that it names the
Scheduler schedule as it is, and fits a URL path unescaped."""
EXPRESSION_FIELD = "expression"
TIMEZONE_FIELD = "timezone"
DEFAULT_TIMEZONE = "UTC"
NEXT_FIRINGS_SHOWN = 5
"""How many coming firings ``GET /schedules/{name}`` lists."""
FIRING_NAMESPACE = uuid.UUID("0b8f7c7e-3d0e-4b55-9a2c-6d1f5e4a8c21")

_RATE = re.compile(r"^rate\((\d{1,9}) (minute|minutes|hour|hours|day|days)\)$", re.ASCII)
_CRON = re.compile(r"^cron\((.+)\)$", re.ASCII)
_UNITS = {"minute": 60, "hour": 3600, "day": 86_400}
ACCEPTED_FORMS = (
    "rate(value unit) with a positive whole number and minute(s), hour(s) or day(s), e.g. "
    "rate(5 minutes); or cron(minutes hours day-of-month month day-of-week year), AWS's six "
    "fields with ? in one of the day fields, e.g. cron(0 9 ? * MON-FRI *)"
)


class Overlap(StrEnum):
    SKIP = "skip"
    """A firing while the schedule's previous task is still QUEUED or RUNNING submits nothing."""
    ALLOW = "allow"
    """Every firing submits its task."""


class ScheduleState(StrEnum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


@dataclass(frozen=True)
class Recurrence:
    """A parsed schedule expression: a fixed period (rate) or a cron rule."""

    expression: str
    period: timedelta | None
    cron: AwsCroniter | None

    def firings(
        self, zone: zoneinfo.ZoneInfo, anchor: datetime | None, after: datetime, inclusive: bool = False
    ) -> Iterator[datetime]:
        """The firing times (UTC) from ``after`` on (``inclusive``: ``after`` itself too), for ever:
        a rate's every period from ``anchor``; a cron rule's local times in ``zone``."""
        if self.period is not None:
            yield from _rate_firings(self.period, anchor or after, after, inclusive)
        else:
            assert self.cron is not None
            yield from _cron_firings(self.cron, zone, after, inclusive)


def _rate_firings(
    period: timedelta, anchor: datetime, after: datetime, inclusive: bool
) -> Iterator[datetime]:
    if after < anchor or (inclusive and after == anchor):
        first = anchor
    else:
        steps = (after - anchor) // period
        first = anchor + steps * period
        if first < after or not inclusive:
            first += period
    moment = first
    while True:
        yield moment
        moment += period


def _cron_firings(
    cron: AwsCroniter, zone: zoneinfo.ZoneInfo, after: datetime, inclusive: bool
) -> Iterator[datetime]:
    """aws-croniter counts in UTC; a local wall time is handed to it as if it were UTC, and each
    answer read back as a wall time in ``zone``: one that does not exist is skipped, one that
    happens twice is its first occurrence (fold 0), once."""
    wall = after.astimezone(zone).replace(tzinfo=UTC)
    candidate = wall
    first = True
    while True:
        (found,) = cron.get_next(candidate, n=1, inclusive=inclusive and first) or [None]
        if found is None:
            return  # its years are over
        candidate, first = found, False
        local = candidate.replace(tzinfo=zone, fold=0)
        moment = local.astimezone(UTC)
        if moment.astimezone(zone).replace(tzinfo=None) != candidate.replace(tzinfo=None):
            continue  # clocks went forward over it: that local time never happens
        if moment < after or (moment == after and not inclusive):
            continue  # the repeated hour's second pass, after its first occurrence fired
        yield moment


def parse_expression(raw: Any) -> Recurrence:
    """A ``rate(...)`` or ``cron(...)`` expression, or InvalidScheduleError naming the field."""
    if not isinstance(raw, str):
        raise refused(EXPRESSION_FIELD, f"must be a string: {ACCEPTED_FORMS}")
    if raw.startswith("at("):
        raise refused(
            EXPRESSION_FIELD,
            "at(...) is a one-time schedule: submit the task with runAt; here rate(...) or cron(...)",
        )
    rate = _RATE.match(raw)
    if rate is not None:
        value, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if value < 1:
            raise refused(
                EXPRESSION_FIELD, "a rate's value must be a positive whole number, e.g. rate(5 minutes)"
            )
        return Recurrence(raw, timedelta(seconds=value * _UNITS[unit]), None)
    cron = _CRON.match(raw)
    if cron is None:
        raise refused(EXPRESSION_FIELD, f"{raw!r} is neither; EventBridge Scheduler accepts {ACCEPTED_FORMS}")
    from aws_croniter import AwsCroniter  # noqa: PLC0415 - only the schedule routes read cron

    try:
        return Recurrence(raw, None, AwsCroniter(cron.group(1)))
    except Exception as exc:  # aws-croniter raises its own exception classes, and ValueError
        raise refused(EXPRESSION_FIELD, f"{exc}; EventBridge Scheduler accepts {ACCEPTED_FORMS}") from None


def parse_timezone(raw: Any) -> zoneinfo.ZoneInfo:
    problem = "must be an IANA time zone name, e.g. UTC or Europe/Berlin"
    if not isinstance(raw, str) or not raw or raw.startswith(("/", ".")) or ".." in raw:
        raise refused(TIMEZONE_FIELD, problem)
    try:
        return zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise refused(TIMEZONE_FIELD, f"{raw!r} is not a time zone; {problem}") from None


def scheduled_time(raw: str) -> datetime:
    """A firing's scheduled time as Scheduler hands it over (``<aws.scheduler.scheduled-time>``,
    ISO 8601 in UTC), in UTC."""
    moment = datetime.fromisoformat(raw.replace("z", "Z"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def scheduled_time_text(moment: datetime) -> str:
    """The form a scheduled time is stored and shown in, and names its firing by: to the second
    (Scheduler's precision is a minute), ``2027-03-28T09:00:00Z``, whatever form it came in."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def firing_task_id(name: str, moment: datetime) -> str:
    """The one task id a firing may create: derived from the schedule's name and the firing's
    scheduled time, so Scheduler's retries, an SQS duplicate or a replay of the same firing meet
    the task the first one made (a conditional put), never make a second."""
    return str(uuid.uuid5(FIRING_NAMESPACE, f"{name}\n{scheduled_time_text(moment)}"))
