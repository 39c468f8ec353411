"""The limiter's decisions (functions/common/flow_control.py), each condition on its own: plain
Python, no AWS."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from functions.common.errors import InvalidRequestError
from functions.common.flow_control import (
    EACH_KEY,
    HOLDER_BYTES,
    ITEM_BASE_BYTES,
    MAX_CONCURRENCY,
    MAX_KEY_LENGTH,
    MAX_PER_SECOND,
    MAX_RECHECK_SECONDS,
    MIN_PER_SECOND,
    PARTITION_WRITE_UNITS,
    RATE_CEILINGS,
    Limit,
    LimitError,
    SlotState,
    admit,
    concurrency_key,
    expected_rechecks,
    governing,
    implied_subjects,
    limit_key,
    parse_limit,
    recheck_delay,
    subjects,
)
from infra.limits import TIMINGS, limit_lease_seconds
from infra.names import Function
from infra.spec import FUNCTIONS
from infra.workflow_definition import REPO_ROOT

NOW = 1_000_000.0
DASH = "\N{EN DASH}"
"""The docs' range dash."""
LEASE = NOW + 330


def _limit(**fields: object) -> Limit:
    return parse_limit(fields)


def test_a_concurrency_limit_admits_until_its_live_slots_are_full() -> None:
    limit = _limit(maxConcurrency=2)
    one = admit(limit, SlotState(), "a#1", NOW, LEASE)
    assert one.admitted
    assert one.state.holders == {"a#1": LEASE}
    two = admit(limit, one.state, "b#1", NOW, LEASE)
    assert two.admitted
    assert set(two.state.holders) == {"a#1", "b#1"}
    three = admit(limit, two.state, "c#1", NOW, LEASE)
    assert not three.admitted
    assert three.wait_seconds == 0  # unknown: a slot frees when a task ends


def test_an_expired_lease_is_no_slot_and_is_dropped_by_the_next_acquire() -> None:
    limit = _limit(maxConcurrency=1)
    dead = SlotState({"dead#1": NOW - 1}, version=3)
    decision = admit(limit, dead, "new#1", NOW, LEASE)
    assert decision.admitted
    assert decision.state.holders == {"new#1": LEASE}
    assert decision.state.version == 3  # written back only if still the version read
    at_its_end = SlotState({"dead#1": NOW})
    assert admit(limit, at_its_end, "new#1", NOW, LEASE).admitted  # a lease ends at its instant


def test_a_holder_with_a_live_slot_is_admitted_on_it_without_a_write_or_a_token() -> None:
    limit = _limit(maxConcurrency=1, maxPerSecond=1)
    held = SlotState({"a#1": LEASE}, tokens=0.0, refilled_at=NOW)
    decision = admit(limit, held, "a#1", NOW, LEASE)
    assert decision.admitted
    assert not decision.changed
    expired = SlotState({"a#1": NOW - 1}, tokens=0.0, refilled_at=NOW)
    assert not admit(limit, expired, "a#1", NOW, LEASE).admitted  # its old lease: a new start
    other_run = admit(limit, held, "a#2", NOW, LEASE)
    assert not other_run.admitted  # a redrive's run is another holder


def test_a_rate_limit_is_a_token_bucket_of_burst_starts_refilled_at_the_rate() -> None:
    limit = _limit(maxPerSecond=2, burst=3)
    state = SlotState()
    for _ in range(3):
        decision = admit(limit, state, "x", NOW, LEASE)
        assert decision.admitted
        state = decision.state
    assert state.holders == {}  # a rate-only limit holds no slot
    refused = admit(limit, state, "x", NOW, LEASE)
    assert not refused.admitted
    assert refused.wait_seconds == pytest.approx(0.5)
    later = admit(limit, state, "x", NOW + 0.5, LEASE)
    assert later.admitted
    assert later.state.tokens == pytest.approx(0.0)
    idle = admit(limit, state, "x", NOW + 60, LEASE)
    assert idle.state.tokens == pytest.approx(2.0)  # refilled to the burst, no further


def test_both_limits_must_admit() -> None:
    limit = _limit(maxConcurrency=5, maxPerSecond=1, burst=1)
    first = admit(limit, SlotState(), "a#1", NOW, LEASE)
    assert first.admitted
    assert not admit(limit, first.state, "b#1", NOW, LEASE).admitted  # slots free, no token
    full = SlotState({f"h{i}#1": LEASE for i in range(5)}, tokens=1.0, refilled_at=NOW)
    assert not admit(limit, full, "b#1", NOW, LEASE).admitted  # a token, no slot


def test_the_default_burst_is_one_second_of_starts_and_at_least_one() -> None:
    assert _limit(maxPerSecond=5).bucket_size == 5
    assert _limit(maxPerSecond=0.2).bucket_size == 1
    assert _limit(maxPerSecond=2.5).bucket_size == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"burst": 3}, "body"),
        ({"maxConcurrency": 0}, "maxConcurrency"),
        ({"maxConcurrency": 1001}, "maxConcurrency"),
        ({"maxConcurrency": 1.5}, "maxConcurrency"),
        ({"maxConcurrency": "5"}, "maxConcurrency"),
        ({"maxConcurrency": True}, "maxConcurrency"),
        ({"maxPerSecond": 0}, "maxPerSecond"),
        ({"maxPerSecond": 501}, "maxPerSecond"),
        ({"maxPerSecond": True}, "maxPerSecond"),
        ({"maxPerSecond": 1, "burst": 0}, "burst"),
        ({"maxConcurrency": 1, "other": 1}, "other"),
        ({"maxConcurrency": 1, "maxPerSecond": None}, "maxPerSecond"),
        ({"maxPerSecond": 0.0009}, "maxPerSecond"),
    ],
)
def test_a_limit_out_of_range_is_refused_naming_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(LimitError) as refused:
        parse_limit(body)
    assert field in dict(refused.value.details["fields"])  # type: ignore[call-overload]


def test_each_rate_ceiling_keeps_the_key_s_item_within_a_partition_s_write_units() -> None:
    previous = 0
    for slots, rate in RATE_CEILINGS:
        for concurrency in (previous + 1, slots):
            fits = parse_limit({"maxConcurrency": concurrency, "maxPerSecond": rate})
            assert fits.write_units_per_second() <= PARTITION_WRITE_UNITS, (concurrency, rate)
        if rate < MAX_PER_SECOND:  # above it, the field's own maximum refuses first
            with pytest.raises(LimitError, match=rf"with maxConcurrency {slots}, maxPerSecond is at most"):
                parse_limit({"maxConcurrency": slots, "maxPerSecond": rate + 0.5})
        previous = slots
    assert previous == MAX_CONCURRENCY
    assert parse_limit({"maxPerSecond": MAX_PER_SECOND}).write_units_per_second() == PARTITION_WRITE_UNITS


def test_a_rate_read_as_an_exact_decimal_is_kept() -> None:
    assert parse_limit({"maxPerSecond": Decimal("0.1")}).max_per_second == 0.1
    with pytest.raises(LimitError):
        parse_limit({"maxConcurrency": Decimal("5.0")})


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(LimitError, match="JSON object"):
        parse_limit([1])


@pytest.mark.parametrize(
    "key",
    [
        "type:webhook",
        "type:word-count",
        "host:hooks.example.com",
        "host:::1",
        "key:acme",
        "key:t.1:_-",
        "key:*",
    ],
)
def test_limit_keys(key: str) -> None:
    assert limit_key(key) == key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "webhook",
        "type:",
        "host:Hooks.Example.com",
        "host:a b",
        "key:",
        "key:a/b",
        "key:" + "k" * 129,
        "tenant:a",
        "key:**",
    ],
)
def test_a_limit_key_outside_the_grammar_is_refused_as_sent(key: str) -> None:
    with pytest.raises(LimitError):
        limit_key(key)


@pytest.mark.parametrize("raw", ["", "a b", "a/b", "k" * 129, 5, None, "é"])
def test_a_concurrency_key_outside_the_grammar_is_a_400_naming_the_field(raw: object) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        concurrency_key(raw)
    assert "concurrencyKey" in dict(refused.value.details["fields"])  # type: ignore[call-overload]
    assert concurrency_key("k" * 128) == "k" * 128


def test_a_task_is_subject_to_its_type_its_host_and_its_key() -> None:
    assert subjects("webhook", "hooks.example.com", "acme") == (
        "type:webhook",
        "host:hooks.example.com",
        "key:acme",
    )
    assert subjects("simulated", None, None) == implied_subjects(None, "simulated") == ("type:simulated",)
    assert implied_subjects("word-count", "simulated") == ("type:word-count",)


def test_a_key_without_its_own_limit_obeys_key_star_on_its_own() -> None:
    each, own = _limit(maxConcurrency=5), _limit(maxConcurrency=1)
    limits = {EACH_KEY: each, "key:acme": own, "type:webhook": own}
    assert governing("key:acme", limits) is own
    assert governing("key:globex", limits) is each
    assert governing("type:webhook", limits) is own
    assert governing("type:simulated", limits) is None  # key:* governs keys only
    assert governing("host:h", {EACH_KEY: each}) is None


def test_a_recheck_waits_at_least_what_the_limiter_expects_and_grows_with_the_wait() -> None:
    rng = random.Random(7)
    assert 1 <= recheck_delay(0, 0, rng) <= 2
    assert 10 <= recheck_delay(0, 10, rng) <= 15
    assert 100 <= recheck_delay(400, 0, rng) <= 150  # a quarter of the wait so far
    assert recheck_delay(100_000, 0, rng) == MAX_RECHECK_SECONDS
    spread = {recheck_delay(400, 0, random.Random(seed)) for seed in range(50)}
    assert len(spread) > 10  # jittered: tasks deferred together come back apart


def test_the_docs_state_the_limiter_s_numbers_as_the_code_declares_them() -> None:
    """Each figure the README, SCALING and RELIABILITY state of flow control is the constant's (a
    changed constant fails here, not in a reader's deployment)."""
    dispatch, express = FUNCTIONS[Function.DISPATCH].timeout_seconds, TIMINGS.express_limit_seconds
    lease = limit_lease_seconds()
    assert lease == dispatch + express
    readme, scaling, reliability = (
        (REPO_ROOT / path).read_text() for path in ("README.md", "docs/SCALING.md", "docs/RELIABILITY.md")
    )
    tiers = RATE_CEILINGS
    readme_tiers = "; ".join(f"≤ {slots}: {rate:g}/s" for slots, rate in tiers)
    scaling_tiers = ", ".join(
        f"≤ {slots:,} slots {rate:g}{' starts' if index == 0 else ''}/s"
        for index, (slots, rate) in enumerate(tiers)
    )
    first_minute, ten_minutes, an_hour = (expected_rechecks(seconds) for seconds in (60, 600, 3600))
    rechecks = (
        f"{first_minute} rechecks in its first\n  minute, {ten_minutes} in ten minutes, {an_hour} in an hour"
    )
    for text, stated in (
        (readme, f"(1{DASH}{MAX_KEY_LENGTH} of `A-Z a-z 0-9 . _ : -`"),
        (readme, f"`maxConcurrency` (1{DASH}{MAX_CONCURRENCY})"),
        (readme, f"`maxPerSecond` ({MIN_PER_SECOND:g}{DASH}{MAX_PER_SECOND:g})"),
        (readme, f"(`maxConcurrency` {readme_tiers})"),
        (readme, f"at most every {TIMINGS.limits_cache_seconds} s"),
        (readme, f"a lease of {lease} s (the dispatcher's {dispatch} s timeout"),
        (readme, f"plus the Express limit of {express} s"),
        (scaling, f"`HOLDER_BYTES` = {HOLDER_BYTES} B each"),
        (scaling, f"`slots \N{MULTIPLICATION SIGN} {HOLDER_BYTES} + {ITEM_BASE_BYTES}` bytes"),
        (scaling, scaling_tiers),
        (scaling, rechecks),
        (scaling, f"at most once per {TIMINGS.limits_cache_seconds} s each"),
        (reliability, f"**{lease} s** = the dispatcher's {dispatch} s timeout"),
        (reliability, f"the Express limit of {express} s"),
    ):
        assert stated in text, stated
