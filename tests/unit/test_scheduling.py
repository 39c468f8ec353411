"""When a task runs: the contract's delaySeconds/runAt rules and the delivery arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.common.errors import InvalidScheduleError
from functions.common.scheduling import (
    MAX_DELAY_SECONDS,
    SQS_MAX_DELAY_SECONDS,
    at_expression,
    message_delay,
    split_schedule,
    uses_scheduler,
)

NOW = datetime(2026, 12, 4, 10, 0, 0, 250_000, tzinfo=UTC)


def test_the_reserved_keys_leave_the_payload_and_say_when_it_runs() -> None:
    assert split_schedule({"n": 1}, NOW) == ({"n": 1}, None)
    assert split_schedule({"n": 1, "delaySeconds": 0}, NOW) == ({"n": 1}, None)
    assert split_schedule({"n": 1, "delaySeconds": 90}, NOW) == ({"n": 1}, NOW + timedelta(seconds=90))
    payload, run_at = split_schedule({"type": "simulated", "runAt": "2026-12-05T11:30:00+01:00"}, NOW)
    assert payload == {"type": "simulated"}
    assert run_at == datetime(2026, 12, 5, 10, 30, tzinfo=UTC)
    assert run_at is not None
    assert run_at.tzinfo is UTC
    # Nested keys of the same name are the payload's own.
    assert split_schedule({"inner": {"delaySeconds": 5}}, NOW) == ({"inner": {"delaySeconds": 5}}, None)


def test_a_run_at_finer_than_a_millisecond_is_rounded_up_never_down() -> None:
    _, run_at = split_schedule({"runAt": "2026-12-04T10:00:01.123456789Z"}, NOW)
    assert run_at == datetime(2026, 12, 4, 10, 0, 1, 124_000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"runAt": "2026-12-04T09:59:59Z"}, "runAt", "in the past"),
        ({"runAt": "2026-12-04T10:00:00.250Z"}, "runAt", "in the past"),
        ({"runAt": "2027-12-05T10:00:00Z"}, "runAt", "more than 365 days ahead"),
        ({"delaySeconds": -1}, "delaySeconds", "from 0 to 31536000"),
        ({"delaySeconds": MAX_DELAY_SECONDS + 1}, "delaySeconds", "from 0 to 31536000"),
        ({"delaySeconds": 1.5}, "delaySeconds", "whole number"),
        ({"delaySeconds": 10.0}, "delaySeconds", "whole number"),
        ({"delaySeconds": True}, "delaySeconds", "whole number"),
        ({"delaySeconds": "60"}, "delaySeconds", "whole number"),
        ({"delaySeconds": None}, "delaySeconds", "whole number"),
        ({"runAt": "2026-12-05T10:00:00"}, "runAt", "RFC 3339"),
        ({"runAt": "2026-12-05"}, "runAt", "RFC 3339"),
        ({"runAt": "20261205T100000Z"}, "runAt", "RFC 3339"),
        ({"runAt": "2026-12-05 10:00:00Z"}, "runAt", "RFC 3339"),
        ({"runAt": 1796400000}, "runAt", "RFC 3339"),
        ({"runAt": "2026-02-30T10:00:00Z"}, "runAt", "not a valid date-time"),
        ({"runAt": "2026-12-05T24:00:00Z"}, "runAt", "not a valid date-time"),
        ({"runAt": "2026-12-05T10:00:00+00:99"}, "runAt", "RFC 3339"),
        ({"runAt": "2026-12-05T10:00:00+00:60"}, "runAt", "RFC 3339"),
        ({"runAt": "2026-12-05T10:00:00-00:60"}, "runAt", "RFC 3339"),
        ({"runAt": "2026-12-05T10:00:00+24:00"}, "runAt", "RFC 3339"),
        ({"runAt": "\u0662\u0660\u0662\u0666-12-05T10:00:00Z"}, "runAt", "RFC 3339"),
    ],
)
def test_a_refused_schedule_names_its_field(body: dict[str, Any], field: str, problem: str) -> None:
    with pytest.raises(InvalidScheduleError) as refused:
        split_schedule(body, NOW)
    assert refused.value.code == "INVALID_SCHEDULE"
    assert refused.value.status_code == 400
    fields = refused.value.details["fields"]
    assert isinstance(fields, dict)
    assert list(fields) == [field]
    assert problem in refused.value.message


def test_both_keys_at_once_are_refused_naming_both() -> None:
    with pytest.raises(InvalidScheduleError) as refused:
        split_schedule({"delaySeconds": 5, "runAt": "2026-12-05T10:00:00Z"}, NOW)
    fields = refused.value.details["fields"]
    assert isinstance(fields, dict)
    assert set(fields) == {"delaySeconds", "runAt"}


def test_the_edges_of_the_range_are_accepted() -> None:
    assert split_schedule({"delaySeconds": MAX_DELAY_SECONDS}, NOW)[1] == NOW + timedelta(days=365)
    at_the_limit = (NOW + timedelta(days=365)).isoformat()
    assert split_schedule({"runAt": at_the_limit}, NOW)[1] == NOW + timedelta(days=365)


def test_the_delivery_is_an_sqs_delay_up_to_fifteen_minutes_and_a_schedule_beyond() -> None:
    assert not uses_scheduler(NOW + timedelta(seconds=SQS_MAX_DELAY_SECONDS), NOW)
    assert uses_scheduler(NOW + timedelta(seconds=SQS_MAX_DELAY_SECONDS, milliseconds=1), NOW)
    assert message_delay(NOW + timedelta(seconds=2, milliseconds=1), NOW) == 3, "rounded up: never early"
    assert message_delay(NOW + timedelta(seconds=2), NOW) == 2
    # A delay's runAt is rounded up to the millisecond: that fraction adds no second.
    assert message_delay(NOW + timedelta(seconds=2, microseconds=999), NOW) == 2
    assert message_delay(NOW - timedelta(seconds=5), NOW) == 0
    assert message_delay(NOW + timedelta(hours=2), NOW) == SQS_MAX_DELAY_SECONDS


@pytest.mark.parametrize("second", [0, 1, 30, 59])
def test_a_schedule_fires_before_its_run_at_whatever_second_of_its_minute_it_fires_at(second: int) -> None:
    """Scheduler fires a schedule for 1:00 between 1:00:00 and 1:00:59: set for the minute before
    runAt's, its latest firing is still before runAt, and its earliest at most 2 minutes early."""
    run_at = datetime(2026, 12, 9, 8, 15, second, 1000, tzinfo=UTC)
    expression = at_expression(run_at)
    fires_from = datetime.fromisoformat(expression[3:-1]).replace(tzinfo=UTC)
    fires_by = fires_from + timedelta(seconds=59, microseconds=999_999)
    assert fires_by < run_at
    assert run_at - fires_from <= timedelta(minutes=2)
    assert message_delay(run_at, fires_from) <= SQS_MAX_DELAY_SECONDS


def test_a_delay_of_n_seconds_is_an_sqs_delay_of_n_seconds_whatever_the_clock_s_microseconds() -> None:
    now = datetime(2026, 12, 4, 10, 0, 0, 123_456, tzinfo=UTC)
    _, run_at = split_schedule({"delaySeconds": 7}, now)
    assert run_at is not None
    assert run_at >= now + timedelta(seconds=7)
    assert message_delay(run_at, now) == 7
