"""What ``ptm info`` says about the dispatch switch, and how ``ptm pause`` waits for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.common.mapping_switch import MappingState
from functions.usecases.reconciliation import SWEEP_LIMIT
from ptm.dispatch import PauseReport, settle

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
WEEK = 7 * 86_400


def test_a_running_dispatch_states_the_queues_retention() -> None:
    report = PauseReport(MappingState("Enabled", NOW - timedelta(days=3)), WEEK, NOW)

    assert report.lines() == ["dispatch runs (Enabled)", "the tasks queue keeps a message 7 d 0 h"]
    assert report.as_json() == {
        "state": "Enabled",
        "paused": False,
        "stoppedByLambda": False,
        "reason": None,
        "pausedSince": None,
        "queueRetentionSeconds": WEEK,
    }


def test_a_pause_says_since_when_and_when_its_messages_start_to_expire() -> None:
    since = NOW - timedelta(hours=2, minutes=5)
    report = PauseReport(MappingState("Disabled", since), WEEK, NOW)

    first, warning = report.lines()
    assert (
        first == "dispatch PAUSED (Disabled) since 2026-12-04 09:55:00 UTC (2 h 5 min ago): "
        "new tasks wait in the queue"
    )
    assert warning.startswith(
        "warning: the tasks queue keeps a message 7 d 0 h: from 2026-12-11 09:55 UTC (in 6 d 21 h)"
    )
    assert f"{SWEEP_LIMIT} a sweep" in warning
    body = report.as_json()
    assert (body["paused"], body["pausedSince"]) == (True, since.isoformat())
    assert body["messagesExpireFrom"] == (since + timedelta(days=7)).isoformat()


def test_a_pause_longer_than_the_retention_says_messages_have_expired() -> None:
    since = NOW - timedelta(days=8)
    (_, warning) = PauseReport(MappingState("Disabling", since), WEEK, NOW).lines()

    assert "(1 d 0 h ago) SQS deletes" in warning


def test_settle_reads_until_lambda_reaches_the_target_state() -> None:
    states = iter([MappingState("Disabling", NOW), MappingState("Disabled", NOW)])
    slept: list[float] = []

    result = settle(
        lambda: MappingState("Disabling", NOW), lambda: next(states), "Disabled", 60, sleep=slept.append
    )

    assert result.state == "Disabled"
    assert len(slept) == 2


@pytest.mark.parametrize(
    ("state", "reason", "paused", "by_lambda", "holds"),
    [
        ("Enabled", "USER_INITIATED", False, False, False),
        ("Enabling", "USER_INITIATED", False, False, False),
        ("Disabling", "USER_INITIATED", True, False, True),
        ("Disabled", "USER_INITIATED", True, False, True),
        ("Disabled", "User initiated", True, False, True),  # as the emulator words it
        ("Disabled", "", True, False, True),  # no reason given: an operator's, no alarm on a guess
        ("Disabled", "LAMBDA_INITIATED", False, True, True),
        ("Disabled", "PROBLEM: Function call failed", False, True, True),
        ("Updating", "USER_INITIATED", False, False, True),  # e.g. a paused mapping's settings changed
    ],
)
def test_each_documented_mapping_state_and_who_changed_it(
    state: str, reason: str, paused: bool, by_lambda: bool, holds: bool
) -> None:
    """The states GetEventSourceMapping documents (Creating, Enabling, Enabled, Disabling,
    Disabled, Updating, Deleting) and its StateTransitionReason (a user or Lambda)."""
    dispatch = MappingState(state, NOW, reason)

    assert (dispatch.paused, dispatch.stopped_by_lambda, dispatch.holds_messages) == (
        paused,
        by_lambda,
        holds,
    )


def test_a_mapping_lambda_disabled_is_reported_as_an_incident_not_a_pause() -> None:
    report = PauseReport(MappingState("Disabled", NOW - timedelta(minutes=5), "LAMBDA_INITIATED"), WEEK, NOW)

    first = report.lines()[0]
    assert first.startswith("warning: dispatch STOPPED BY LAMBDA (Disabled: LAMBDA_INITIATED) since")
    assert "ptm resume" in first
    assert (report.as_json()["paused"], report.as_json()["stoppedByLambda"]) == (False, True)
