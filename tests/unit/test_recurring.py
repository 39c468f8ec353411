"""Recurring schedules' rules as plain Python: the expressions EventBridge Scheduler accepts, when
each fires (daylight saving as the Scheduler User Guide states it), and the one task id a firing
may make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest

from functions.common.errors import InvalidScheduleError
from functions.common.recurring import (
    firing_task_id,
    parse_expression,
    parse_timezone,
    scheduled_time,
    scheduled_time_text,
)

BERLIN = parse_timezone("Europe/Berlin")


def _local(moments: list[datetime]) -> list[str]:
    return [moment.astimezone(BERLIN).isoformat() for moment in moments]


def _next(expression: str, after: datetime, count: int, anchor: datetime | None = None) -> list[datetime]:
    recurrence = parse_expression(expression)
    return list(islice(recurrence.firings(BERLIN, anchor, after), count))


def test_a_cron_rule_in_berlin_skips_the_local_time_clocks_jump_over() -> None:
    """28 March 2027, 02:00 CET → 03:00 CEST: 02:30 does not exist that day, so it does not fire
    (Scheduler: "skips" a time that does not exist)."""
    firings = _next("cron(30 2 * * ? *)", datetime(2027, 3, 26, 12, tzinfo=UTC), 3)

    assert _local(firings) == [
        "2027-03-27T02:30:00+01:00",
        "2027-03-29T02:30:00+02:00",
        "2027-03-30T02:30:00+02:00",
    ]


def test_a_cron_rule_in_berlin_fires_a_repeated_local_time_once_at_its_first_occurrence() -> None:
    """31 October 2027, 03:00 CEST → 02:00 CET: 02:30 happens twice; it fires once, the first."""
    firings = _next("cron(30 2 * * ? *)", datetime(2027, 10, 30, 12, tzinfo=UTC), 3)

    assert _local(firings) == [
        "2027-10-31T02:30:00+02:00",
        "2027-11-01T02:30:00+01:00",
        "2027-11-02T02:30:00+01:00",
    ]
    assert firings[0] == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    # Asked from within the repeated hour's second pass, the first one is not fired again.
    second_pass = datetime(2027, 10, 31, 1, 10, tzinfo=UTC)  # 02:10 CET, after 02:30 CEST fired
    assert _next("cron(30 2 * * ? *)", second_pass, 1) == [datetime(2027, 11, 1, 1, 30, tzinfo=UTC)]


def test_a_weekday_cron_keeps_its_local_hour_across_the_change() -> None:
    firings = _next("cron(0 9 ? * MON-FRI *)", datetime(2027, 3, 25, 12, tzinfo=UTC), 3)

    assert _local(firings) == [
        "2027-03-26T09:00:00+01:00",
        "2027-03-29T09:00:00+02:00",
        "2027-03-30T09:00:00+02:00",
    ]


def test_a_rate_fires_at_its_start_then_every_period_as_durations_across_a_change() -> None:
    anchor = datetime(2027, 3, 27, 12, tzinfo=UTC)
    recurrence = parse_expression("rate(1 day)")
    firings = list(islice(recurrence.firings(BERLIN, anchor, anchor, inclusive=True), 3))

    assert firings == [anchor, anchor + timedelta(days=1), anchor + timedelta(days=2)]
    assert _local(firings)[1] == "2027-03-28T14:00:00+02:00", "24 h later, not the same local hour"
    assert _next("rate(5 minutes)", anchor + timedelta(minutes=7), 1, anchor) == [
        anchor + timedelta(minutes=10)
    ]
    assert _next("rate(5 minutes)", anchor + timedelta(minutes=10), 1, anchor) == [
        anchor + timedelta(minutes=15)
    ]


def test_a_cron_rule_whose_years_are_over_fires_no_more() -> None:
    assert _next("cron(0 0 1 1 ? 2020)", datetime(2027, 1, 1, tzinfo=UTC), 2) == []


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("rate(0 minutes)", "positive whole number"),
        ("rate(5 weeks)", "is neither"),
        ("rate(-5 minutes)", "is neither"),
        ("rate(5  minutes)", "is neither"),
        ("cron(0 9 * * MON-FRI *)", "question mark"),
        ("cron(0 9 ? * MON-FRI)", "6 required"),
        ("cron(0 25 ? * * *)", "hour"),
        ("0 9 ? * MON-FRI *", "is neither"),
        ("at(2030-01-01T00:00:00)", "runAt"),
        (5, "must be a string"),
    ],
)
def test_an_expression_scheduler_would_refuse_is_refused_naming_the_field(raw: object, says: str) -> None:
    with pytest.raises(InvalidScheduleError) as refused:
        parse_expression(raw)

    assert refused.value.details == {
        "fields": {"expression": refused.value.message.removeprefix("expression: ")}
    }
    assert says in refused.value.message
    assert "rate(" in refused.value.message, "it says what AWS accepts"


@pytest.mark.parametrize("raw", ["Mars/Olympus", "", "../etc/passwd", "/UTC", 3])
def test_a_time_zone_must_be_an_iana_name(raw: object) -> None:
    with pytest.raises(InvalidScheduleError, match="timezone"):
        parse_timezone(raw)


def test_a_firing_names_one_task_whatever_form_its_time_arrives_in() -> None:
    forms = [
        "2027-03-29T07:00:00Z",
        "2027-03-29T07:00:00.000Z",
        "2027-03-29T07:00:00.250Z",
        "2027-03-29T09:00:00+02:00",
        "2027-03-29T07:00:00",
    ]
    assert {scheduled_time_text(scheduled_time(form)) for form in forms} == {"2027-03-29T07:00:00Z"}
    assert len({firing_task_id("nightly", scheduled_time(form)) for form in forms}) == 1
    one = scheduled_time("2027-03-29T07:00:00Z")
    assert firing_task_id("nightly", one) != firing_task_id("nightly", one + timedelta(minutes=1))
    assert firing_task_id("nightly", one) != firing_task_id("hourly", one)
