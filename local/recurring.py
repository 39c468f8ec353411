"""EventBridge Scheduler's recurring schedules, fired on this machine: moto stores them and never
fires them (docs/contributing/FIDELITY.md). The one-time schedules' firing is local/fidelity.py's."""

from __future__ import annotations

import datetime
import threading
import time
from dataclasses import dataclass
from typing import Any

from functions.common.recurring import parse_expression, parse_timezone, scheduled_time_text
from local.fidelity import FiredSchedules, moto_schedules, send_to_queue

SCHEDULED_TIME_PLACEHOLDER = "<aws.scheduler.scheduled-time>"
"""The context attribute a recurring schedule's target input carries: Scheduler puts the firing's
scheduled time there (functions/common/task_schedules.py's FIRING_INPUT)."""


@dataclass
class _Recurring:
    """What the firer knows of one recurring schedule: the version it computed its firings from,
    the next one, and the firings whose target could not be reached yet."""

    version: float
    upcoming: Any
    due: datetime.datetime | None
    pending: list[datetime.datetime]


class RecurringFirer:
    """Fires the recurring (rate and cron) schedules of this process's moto, as EventBridge
    Scheduler does, on a clock that runs ``1 / time_scale`` times as fast as the wall clock from
    when the firer started (``time_scale`` 1: the wall clock itself).

    The firing times are functions/common/recurring.py's (the API's ``nextFirings`` too): a rate
    fires when created (or changed) and every period after; a cron rule at its local times in its
    time zone, a local time that does not exist skipped, a repeated one fired once. A DISABLED
    schedule's firings pass without a message, so enabling it again fires no backlog (as
    Scheduler: it does not catch up). A target that cannot be reached is tried again on each tick
    until ``MaximumEventAgeInSeconds`` (on the scaled clock) has passed, then dropped."""

    def __init__(self, time_scale: float = 1.0, started: float | None = None) -> None:
        self.time_scale = time_scale
        self.started = time.time() if started is None else started
        self._known: dict[str, _Recurring] = {}
        self._lock = threading.Lock()

    def clock(self, real: float | None = None) -> datetime.datetime:
        """The scaled clock at ``real`` (epoch seconds; default: now)."""
        real = time.time() if real is None else real
        scale = self.time_scale or 1.0
        return datetime.datetime.fromtimestamp(self.started + (real - self.started) / scale, datetime.UTC)

    def _plan(self, schedule: Any) -> _Recurring:
        recurrence = parse_expression(schedule.schedule_expression)
        changed = self.clock(float(schedule.last_modified_date))
        start = _instant(schedule.start_date)
        anchor = start or changed
        upcoming = recurrence.firings(
            parse_timezone(schedule.schedule_expression_timezone or "UTC"),
            anchor,
            max(changed, start) if start else changed,
            inclusive=True,
        )
        return _Recurring(float(schedule.last_modified_date), upcoming, next(upcoming, None), [])

    def fire(self, real: float | None = None) -> FiredSchedules:
        now = self.clock(real)
        fired: list[str] = []
        problems: list[str] = []
        with self._lock:
            seen: set[str] = set()
            for account, region, schedule in _recurring_schedules():
                seen.add(schedule.arn)
                known = self._known.get(schedule.arn)
                if known is None or known.version != float(schedule.last_modified_date):
                    pending = known.pending if known else []
                    known = self._known[schedule.arn] = self._plan(schedule)
                    known.pending = pending
                end = _instant(schedule.end_date)
                while known.due is not None and known.due <= now:
                    if schedule.state == "ENABLED" and (end is None or known.due <= end):
                        known.pending.append(known.due)
                    known.due = next(known.upcoming, None)
                target = schedule.target
                max_age = int(target.get("RetryPolicy", {}).get("MaximumEventAgeInSeconds", 86_400))
                still: list[datetime.datetime] = []
                for moment in known.pending:
                    when = scheduled_time_text(moment)
                    firing = dict(
                        target, Input=str(target.get("Input", "")).replace(SCHEDULED_TIME_PLACEHOLDER, when)
                    )
                    problem = send_to_queue(account, region, firing)
                    if problem is None:
                        fired.append(f"{schedule.arn}@{when}")
                        continue
                    dropped = (now - moment).total_seconds() > max_age
                    problems.append(f"{schedule.arn}@{when}: {problem}" + (" (dropped)" if dropped else ""))
                    if not dropped:
                        still.append(moment)
                known.pending = still
            for arn in set(self._known) - seen:  # deleted: nothing more fires
                del self._known[arn]
        return FiredSchedules(fired, problems)


def _instant(value: Any) -> datetime.datetime | None:
    """A schedule's StartDate or EndDate as moto keeps it (a datetime or epoch seconds)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    return datetime.datetime.fromtimestamp(float(value), datetime.UTC)


def _recurring_schedules() -> list[tuple[str, str, Any]]:
    return [
        (account, region, schedule)
        for account, region, _backend, schedule in moto_schedules()
        if schedule.schedule_expression.startswith(("rate(", "cron("))
    ]
