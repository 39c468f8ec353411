"""The limits table on moto's DynamoDB: the configuration item, slots written back only over the
version read (several subjects all or none), releases that make a stale acquire read again, and
the dispatcher's cache with its staleness bound."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from functions.common import flow_control
from functions.common.flow_control import Limit, LimitError, SlotState, parse_limit
from functions.common.limits_table import KEY, AcquireConflictError, LimitsTable
from functions.usecases.limiting import LimitsCache, acquire

NOW = datetime(2026, 12, 7, tzinfo=UTC)
T = NOW.timestamp()


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[LimitsTable]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # moto's mock answers AWS's own endpoints
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="limits",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
        )
        yield LimitsTable(client, "limits")


def test_limits_are_set_replaced_read_and_deleted_in_one_item(table: LimitsTable) -> None:
    assert table.limits() == {}
    table.put_limit("key:*", parse_limit({"maxConcurrency": 5}), NOW)
    table.put_limit("host:h", parse_limit({"maxPerSecond": 2.5, "burst": 4}), NOW)
    table.put_limit("key:*", parse_limit({"maxConcurrency": 3}), NOW)
    assert table.limits() == {
        "key:*": parse_limit({"maxConcurrency": 3}),
        "host:h": parse_limit({"maxPerSecond": 2.5, "burst": 4}),
    }
    assert table.delete_limit("key:*", NOW)
    assert not table.delete_limit("key:*", NOW)
    assert list(table.limits()) == ["host:h"]


def test_no_more_limits_than_one_item_holds(table: LimitsTable, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("functions.common.limits_table.MAX_LIMITS", 2)
    limit = parse_limit({"maxConcurrency": 1})
    table.put_limit("key:a", limit, NOW)
    table.put_limit("key:b", limit, NOW)
    table.put_limit("key:b", parse_limit({"maxConcurrency": 2}), NOW)  # a replacement fits
    with pytest.raises(LimitError, match="2 limits exist already"):
        table.put_limit("key:c", limit, NOW)


def test_a_write_over_a_changed_version_is_a_conflict_and_writes_nothing(table: LimitsTable) -> None:
    table.write({"key:a": SlotState({"x#1": T + 60})})
    read = table.states(["key:a"])["key:a"]
    assert read.version == 1
    table.write({"key:a": SlotState({"x#1": T + 60, "y#1": T + 60}, version=1)})
    with pytest.raises(AcquireConflictError):
        table.write({"key:a": SlotState({"x#1": T + 60, "z#1": T + 60}, version=1)})  # stale
    with pytest.raises(AcquireConflictError):
        table.write({"key:new": SlotState({"z#1": T + 60}), "key:a": SlotState({}, version=1)})
    states = table.states(["key:a", "key:new"])
    assert set(states["key:a"].holders) == {"x#1", "y#1"}
    assert states["key:new"].version == 0  # all or none: the new subject was not written either


def test_a_release_removes_only_its_holder_and_makes_an_earlier_read_stale(table: LimitsTable) -> None:
    table.write({"key:a": SlotState({"x#1": T + 60, "y#1": T + 60})})
    before = table.states(["key:a"])["key:a"]
    table.release(["key:a", "key:none"], "x#1")
    table.release(["key:a"], "x#1")  # again: nothing to give back
    after = table.states(["key:a", "key:none"])
    assert after["key:a"].holders == {"y#1": T + 60}
    assert after["key:none"].version == 0  # a release creates no item
    with pytest.raises(AcquireConflictError):
        table.write({"key:a": SlotState({**before.holders, "z#1": T + 60}, version=before.version)})


def test_an_acquire_across_subjects_is_all_or_none_and_names_the_subject_that_refused(
    table: LimitsTable,
) -> None:
    limits = {"key:a": parse_limit({"maxConcurrency": 1}), "type:t": parse_limit({"maxConcurrency": 5})}
    first = acquire(table, limits, ("type:t", "key:a"), holder="one#1", now=T, lease_seconds=60)
    assert first.admitted
    assert set(first.held) == {"type:t", "key:a"}
    second = acquire(table, limits, ("type:t", "key:a"), holder="two#1", now=T, lease_seconds=60)
    assert (second.admitted, second.waiting_for) == (False, "key:a")
    assert set(table.states(["type:t"])["type:t"].holders) == {"one#1"}  # the type's slot: not taken either


def test_an_acquire_that_meets_another_writer_reads_again(
    table: LimitsTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    limits = {"key:a": parse_limit({"maxConcurrency": 2})}
    real_states = table.states
    interleaved: list[str] = []

    def states_then_a_rival(self: LimitsTable, subjects: object) -> dict[str, SlotState]:
        found = real_states(subjects)  # type: ignore[arg-type]
        if not interleaved:
            interleaved.append("rival")
            rival = found["key:a"]
            table.write({"key:a": SlotState({**rival.holders, "rival#1": T + 60}, version=rival.version)})
        return found

    monkeypatch.setattr(LimitsTable, "states", states_then_a_rival)
    admitted = acquire(table, limits, ("key:a",), holder="me#1", now=T, lease_seconds=60)
    assert admitted.admitted
    assert set(real_states(["key:a"])["key:a"].holders) == {"rival#1", "me#1"}


def test_an_acquire_contended_every_time_waits_instead_of_looping(
    table: LimitsTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    def always_conflicts(self: LimitsTable, decided: object) -> None:
        raise AcquireConflictError("busy")

    monkeypatch.setattr(LimitsTable, "write", always_conflicts)
    refused = acquire(
        table,
        {"key:a": parse_limit({"maxConcurrency": 2})},
        ("key:a",),
        holder="me#1",
        now=T,
        lease_seconds=60,
    )
    assert (refused.admitted, refused.waiting_for) == (False, "key:a")


def test_the_dispatchers_cache_sees_a_change_within_its_period_and_not_before(table: LimitsTable) -> None:
    clock = [0.0]
    cache = LimitsCache(table, ttl_seconds=10, monotonic=lambda: clock[0])
    assert cache.get() == {}
    table.put_limit("key:a", parse_limit({"maxConcurrency": 1}), NOW)
    clock[0] = 9.9
    assert cache.get() == {}  # stale within the period
    clock[0] = 10.0
    assert cache.get() == {"key:a": parse_limit({"maxConcurrency": 1})}


def test_a_stored_limit_reads_back_as_it_was_set(table: LimitsTable) -> None:
    limit = Limit.model_validate({"maxPerSecond": 0.1, "burst": flow_control.MAX_BURST})
    table.put_limit("type:t", limit, NOW)
    assert table.limits()["type:t"] == limit


def test_a_new_subject_is_created_once_a_second_creation_is_a_conflict(table: LimitsTable) -> None:
    table.write({"key:b": SlotState({"x#1": T + 60})})
    with pytest.raises(AcquireConflictError):
        table.write({"key:b": SlotState({"y#1": T + 60})})
    assert set(table.states(["key:b"])["key:b"].holders) == {"x#1"}


def test_a_duplicate_acquire_writes_nothing_and_a_rate_only_limit_holds_no_slot(table: LimitsTable) -> None:
    limits = {"key:a": parse_limit({"maxConcurrency": 1}), "type:t": parse_limit({"maxPerSecond": 5})}
    first = acquire(table, limits, ("type:t", "key:a"), holder="one#1", now=T, lease_seconds=60)
    assert first.held == ("key:a",)  # nothing to give back on a rate-only limit
    versions = {subject: state.version for subject, state in table.states(limits).items()}
    again = acquire(
        table, {"key:a": limits["key:a"]}, ("key:a",), holder="one#1", now=T + 1, lease_seconds=60
    )
    assert again.admitted
    assert table.states(["key:a"])["key:a"].version == versions["key:a"]
