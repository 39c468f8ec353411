"""When a task runs: the contract's ``delaySeconds`` and ``runAt``, and how each delay reaches the
dispatcher on time (plain Python; the API's validation and both deliveries use it).

- A task with a delay is ``SCHEDULED`` with its ``runAt`` until the dispatcher promotes it to
  ``QUEUED`` (conditionally, once ``runAt`` has passed) and starts its execution.
- Up to ``SQS_MAX_DELAY_SECONDS`` ahead, its message carries SQS ``DelaySeconds``: delivered
  no earlier than ``runAt`` (rounded up to the second).
- Further ahead, a one-time EventBridge Scheduler schedule sends the message. Scheduler invokes a
  target "with 60 second precision": a schedule for 1:00 fires between 1:00:00 and 1:00:59
  (docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html). Set at the minute of
  ``runAt``, it could fire up to 59 s after it; so it is set at the minute *before*, fires 1 to
  120 s early, and the dispatcher sends the early message back with the seconds still to wait
  (``message_delay``). On either path a task starts no earlier than ``runAt``, and after it by
  the SQS delay's rounding up to the second plus the dispatch latency.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.common.errors import InvalidScheduleError

DELAY_FIELD = "delaySeconds"
RUN_AT_FIELD = "runAt"
RESERVED_FIELDS = (DELAY_FIELD, RUN_AT_FIELD)
"""Top-level keys of a submitted body that say when the task runs: never part of its payload."""

MAX_DELAY_SECONDS = 365 * 24 * 3600
"""How far ahead a task may be scheduled: 365 days (31,536,000 s)."""
SQS_MAX_DELAY_SECONDS = 900
"""SQS's longest message delay, 15 minutes (SendMessage ``DelaySeconds``: 0 to 900)."""
SCHEDULER_PRECISION_SECONDS = 60
"""EventBridge Scheduler invokes a target within the minute it is set for (schedule-types)."""

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)$", re.ASCII
)
"""RFC 3339's date-time (section 5.6): ASCII digits only, an offset of hours 00-23 and minutes
00-59 (Python would read ``+00:99`` as a 99-minute offset and move the time)."""


def refused(field: str, problem: str) -> InvalidScheduleError:
    return InvalidScheduleError(f"{field}: {problem}", fields={field: problem})


def parse_instant(field: str, raw: Any) -> datetime:
    """An RFC 3339 date-time with an offset, in UTC (finer than microseconds: rounded down to
    them), or InvalidScheduleError naming ``field``."""
    if not isinstance(raw, str) or not _RFC3339.match(raw):
        raise refused(field, "must be an RFC 3339 date-time with an offset, e.g. 2030-01-31T09:30:00Z")
    text = raw.upper()
    fraction = re.search(r"\.(\d+)", text)
    if fraction:  # Python parses at most microseconds; a finer time is rounded down to them
        text = text.replace(fraction.group(0), "." + fraction.group(1)[:6].ljust(6, "0"))
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        raise refused(field, f"{raw!r} is not a valid date-time") from None


def _run_at(raw: Any, now: datetime) -> datetime:
    moment = parse_instant(RUN_AT_FIELD, raw)
    if moment <= now:
        raise refused(RUN_AT_FIELD, "is in the past; omit it to run the task now")
    if moment > now + timedelta(seconds=MAX_DELAY_SECONDS):
        raise refused(RUN_AT_FIELD, "is more than 365 days ahead")
    return moment


def _delay(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise refused(DELAY_FIELD, "must be a whole number of seconds (a JSON integer)")
    if not 0 <= raw <= MAX_DELAY_SECONDS:
        raise refused(DELAY_FIELD, f"must be from 0 to {MAX_DELAY_SECONDS} seconds (365 days)")
    return int(raw)


def _to_millisecond(moment: datetime) -> datetime:
    """Rounded up to the millisecond, as records store times: never earlier than asked."""
    extra = moment.microsecond % 1000
    return moment + timedelta(microseconds=1000 - extra) if extra else moment


def split_schedule(body: Mapping[str, Any], now: datetime) -> tuple[dict[str, Any], datetime | None]:
    """The body without its reserved keys (the payload), and when the task runs (None: now).
    ``delaySeconds: 0`` runs the task now. Raises InvalidScheduleError naming the field."""
    payload = {key: value for key, value in body.items() if key not in RESERVED_FIELDS}
    if DELAY_FIELD in body and RUN_AT_FIELD in body:
        raise InvalidScheduleError(
            f"give {DELAY_FIELD} or {RUN_AT_FIELD}, not both",
            fields={DELAY_FIELD: "given with runAt", RUN_AT_FIELD: "given with delaySeconds"},
        )
    if RUN_AT_FIELD in body:
        return payload, _to_millisecond(_run_at(body[RUN_AT_FIELD], now))
    if DELAY_FIELD in body:
        delay = _delay(body[DELAY_FIELD])
        return payload, _to_millisecond(now + timedelta(seconds=delay)) if delay else None
    return payload, None


def message_delay(run_at: datetime, now: datetime) -> int:
    """The SQS delay that holds a message until ``run_at``: the seconds left, rounded up (from
    whole milliseconds, the precision times are stored in), at most SQS's 900 (a message sent
    that long early comes back and is delayed again)."""
    milliseconds = (run_at - now) // timedelta(milliseconds=1)
    return max(0, min(SQS_MAX_DELAY_SECONDS, math.ceil(milliseconds / 1000)))


def uses_scheduler(run_at: datetime, now: datetime) -> bool:
    """Whether ``run_at`` is too far ahead for an SQS delay: a Scheduler schedule sends it."""
    return (run_at - now).total_seconds() > SQS_MAX_DELAY_SECONDS


def at_expression(run_at: datetime) -> str:
    """The one-time schedule for ``run_at``: ``at(...)`` in UTC, at the start of the minute before
    ``run_at``'s, so that it fires before ``run_at`` whatever second of its minute it fires at."""
    minute = run_at.astimezone(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    return f"at({minute.strftime('%Y-%m-%dT%H:%M:%S')})"
