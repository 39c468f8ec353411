"""Flow control: which limits a task is subject to, and whether a limit admits it now.

A task is subject to one limit per *subject* it has: its type (``type:<name>``), its webhook
destination host (``host:<host>``) and its caller's key (``key:<concurrencyKey>``, governed by
``key:<k>``'s own limit or else by ``key:*``, which applies to each key on its own). A limit holds
``maxConcurrency`` (slots, each a lease held by one (task, run)) and/or ``maxPerSecond`` with
``burst`` (a token bucket of execution starts). Plain Python: the state lives in the limits table
(functions/common/limits_table.py); the decision is made here.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from functions.common.errors import InvalidRequestError

CONCURRENCY_KEY_FIELD = "concurrencyKey"
"""A reserved top-level key of a submitted body (like ``delaySeconds``, never part of the payload)."""
MAX_KEY_LENGTH = 128
KEY_CHARACTERS = "A-Za-z0-9._:-"
"""A concurrency key's characters (a regular expression class's body): it fits a URL path unescaped."""
CONCURRENCY_KEY_PATTERN = f"[{KEY_CHARACTERS}]{{1,{MAX_KEY_LENGTH}}}"
_CONCURRENCY_KEY = re.compile(CONCURRENCY_KEY_PATTERN, re.ASCII)

TYPE_PREFIX, HOST_PREFIX, KEY_PREFIX = "type:", "host:", "key:"
EACH_KEY = "key:*"
"""A limit that applies to every caller key on its own ("each tenant at most N at once")."""

MAX_CONCURRENCY = 1000
"""One key's slots live in one item (a holder is at most ``HOLDER_BYTES``): 1,000 keep it under
64 KB, far below DynamoDB's 400 KB item, and its write cost bounded (docs/SCALING.md)."""
MAX_PER_SECOND = 500.0
"""A start writes the key's item once (and its release once more): 500 starts/s is DynamoDB's
~1,000 write units/s for one partition with items of 1 KB."""
MIN_PER_SECOND = 0.001
"""One start every 1,000 s at the slowest (and a number DynamoDB stores: it refuses below 1E-130)."""
MAX_BURST = 1000
PARTITION_WRITE_UNITS = 1000
"""DynamoDB's write ceiling for one partition (write units per second); one key's item is one."""
HOLDER_BYTES = 64
"""A slot's share of its key's item: the holder ``<taskId>#<run>`` (≤ 50 bytes) and its lease."""
ITEM_BASE_BYTES = 200
"""A key's item without its slots: its key, token bucket and version, and the attribute names."""
MAX_LIMITS = 1000
"""Every limit lives in one configuration item, read with one call (and cached)."""
RATE_CEILINGS = ((12, 500.0), (60, 100.0), (300, 25.0), (MAX_CONCURRENCY, 7.0))
"""(slots up to, starts per second up to): a limit with both keeps its key's item within one
partition's write units (``Limit.write_units_per_second``; tests/unit/test_flow_control.py
checks each tier), in steps the OpenAPI document states as they are checked."""
KEY_PATTERN = (
    r"^(type:[A-Za-z0-9._-]{1,64}|host:([a-z0-9.-]{1,253}|\[?[0-9a-f:.]{2,45}\]?)"
    rf"|key:(\*|{CONCURRENCY_KEY_PATTERN}))$"
)
"""A limit key, as ``limit_key`` checks it (and the OpenAPI document states it)."""
_KEY = re.compile(KEY_PATTERN, re.ASCII)


class LimitError(InvalidRequestError):
    code = "INVALID_LIMIT"


def concurrency_key(raw: Any) -> str:
    """A body's ``concurrencyKey``, or InvalidRequestError naming the field."""
    if not isinstance(raw, str) or not _CONCURRENCY_KEY.fullmatch(raw):
        problem = f"must be 1-{MAX_KEY_LENGTH} characters of {KEY_CHARACTERS}"
        raise InvalidRequestError(
            f"{CONCURRENCY_KEY_FIELD}: {problem}", fields={CONCURRENCY_KEY_FIELD: problem}
        )
    return raw


def limit_key(raw: str) -> str:
    """``type:<name>``, ``host:<host>`` (lower case, as URLs' hosts are compared), ``key:<key>``
    or ``key:*``; LimitError otherwise (nothing is normalised: a key is stored as it was sent)."""
    if not _KEY.fullmatch(raw):
        raise LimitError(
            f"limit key {raw[:300]!r}: expected type:<task type>, host:<lower-case host>, "
            "key:<concurrencyKey> or key:*"
        )
    return raw


class Limit(BaseModel):
    """A limit as ``PUT /limits/{key}`` takes it and the configuration item stores it."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, populate_by_name=True, defer_build=True
    )

    max_concurrency: int | None = Field(default=None, alias="maxConcurrency", ge=1, le=MAX_CONCURRENCY)
    max_per_second: float | None = Field(
        default=None, alias="maxPerSecond", ge=MIN_PER_SECOND, le=MAX_PER_SECOND
    )
    burst: int | None = Field(default=None, ge=1, le=MAX_BURST)

    @model_validator(mode="before")
    @classmethod
    def _rates_as_floats(cls, data: Any) -> Any:
        """A rate given as an integer or as an exact decimal (the API's JSON reading) is a float."""
        rate = data.get("maxPerSecond") if isinstance(data, dict) else None
        if isinstance(rate, int | Decimal) and not isinstance(rate, bool):
            return {**data, "maxPerSecond": float(rate)}
        return data

    @model_validator(mode="after")
    def _coherent(self) -> Limit:
        if self.max_concurrency is None and self.max_per_second is None:
            raise ValueError("give maxConcurrency, maxPerSecond or both")
        if self.burst is not None and self.max_per_second is None:
            raise ValueError("burst is the token bucket's size: give it with maxPerSecond")
        if self.max_per_second is not None and self.max_concurrency is not None:
            ceiling = next(rate for slots, rate in RATE_CEILINGS if self.max_concurrency <= slots)
            if self.max_per_second > ceiling:
                raise ValueError(
                    f"with maxConcurrency {self.max_concurrency}, maxPerSecond is at most {ceiling:g}: "
                    f"{self.max_per_second:g} starts/s x 2 writes x {self.item_write_units()} write unit(s) "
                    f"(the key's item, {self.max_concurrency} slots full) would near one DynamoDB "
                    f"partition's {PARTITION_WRITE_UNITS} write units/s; lower either, or spread the "
                    "work over several keys"
                )
        return self

    def item_write_units(self) -> int:
        """Write units of one write of the key's item when every slot is held (1 KB each)."""
        return max(1, math.ceil(((self.max_concurrency or 0) * HOLDER_BYTES + ITEM_BASE_BYTES) / 1024))

    def write_units_per_second(self) -> float:
        """At ``maxPerSecond``: each start's acquire and its release write the item."""
        return 2 * (self.max_per_second or 0) * self.item_write_units()

    @property
    def bucket_size(self) -> float:
        """``burst``, by default one second's worth of starts (at least one)."""
        if self.burst is not None:
            return float(self.burst)
        return float(max(1, math.ceil(self.max_per_second or 1)))

    def to_api(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


def parse_limit(document: Any) -> Limit:
    """A ``PUT /limits/{key}`` body, or LimitError naming each field that is wrong."""
    if not isinstance(document, dict):
        raise LimitError('the body must be a JSON object such as {"maxConcurrency": 5}')
    nulls = {field: "a number, or leave it out" for field, value in document.items() if value is None}
    if nulls:
        raise LimitError(f"invalid limit: {', '.join(nulls)}: null", fields=nulls)
    try:
        return Limit.model_validate(document)
    except ValidationError as exc:
        problems = {
            ".".join(str(part) for part in error["loc"]) or "body": str(error["msg"])
            for error in exc.errors(include_url=False, include_context=False, include_input=False)
        }
        listed = "; ".join(f"{where}: {what}" for where, what in problems.items())
        raise LimitError(f"invalid limit: {listed}", fields=problems) from exc


def subjects(type_name: str, host: str | None, key: str | None) -> tuple[str, ...]:
    """What a task is subject to, each a key of the limits table's state items."""
    found = [TYPE_PREFIX + type_name]
    if host is not None:
        found.append(HOST_PREFIX + host)
    if key is not None:
        found.append(KEY_PREFIX + key)
    return tuple(found)


def implied_subjects(registered_type: str | None, default_type: str) -> tuple[str, ...]:
    """What a record without ``limitSubjects`` is subject to: its type alone (a record stores its
    subjects only when they are more, so a plain task's record stays as small as before)."""
    return (TYPE_PREFIX + (registered_type or default_type),)


def governing(subject: str, limits: Mapping[str, Limit]) -> Limit | None:
    """The limit a subject obeys: its own, or for a caller key without one, ``key:*``'s."""
    own = limits.get(subject)
    if own is not None or not subject.startswith(KEY_PREFIX):
        return own
    return limits.get(EACH_KEY)


@dataclass
class SlotState:
    """A subject's state item: live and expired slot leases by holder, and its token bucket."""

    holders: dict[str, float] = field(default_factory=dict)
    """``<taskId>#<run>`` → lease expiry (epoch seconds)."""
    tokens: float | None = None
    refilled_at: float | None = None
    version: int = 0
    """0: no item yet (the first write creates it)."""

    def live(self, now: float) -> dict[str, float]:
        """The holders whose lease has not ended at ``now`` (a lease ends at its instant)."""
        return {name: until for name, until in self.holders.items() if until > now}


@dataclass(frozen=True)
class Decision:
    admitted: bool
    state: SlotState
    """What to write when admitted (expired leases dropped, the holder added, a token taken)."""
    wait_seconds: float = 0.0
    """When refused: how long the limiter expects the wait to be at least (0: unknown)."""
    changed: bool = True
    """False when the holder already held a live slot: nothing to write."""


def holder_of(task_id: str, run: int) -> str:
    return f"{task_id}#{run}"


def admit(limit: Limit, state: SlotState, holder: str, now: float, lease_until: float) -> Decision:
    """Whether ``limit`` admits ``holder`` now. A holder that already holds a live slot (a
    duplicate start of the same run) is admitted on it: never a second slot, never a token."""
    live = state.live(now)
    if holder in live:
        return Decision(True, state, changed=False)
    if limit.max_concurrency is not None and len(live) >= limit.max_concurrency:
        return Decision(False, state)
    tokens = None
    if limit.max_per_second is not None:
        size = limit.bucket_size
        last = state.refilled_at if state.refilled_at is not None else now
        held = state.tokens if state.tokens is not None else size
        tokens = min(size, held + max(0.0, now - last) * limit.max_per_second)
        if tokens < 1:
            return Decision(False, state, wait_seconds=(1 - tokens) / limit.max_per_second)
        tokens -= 1
    holders = {**live, holder: lease_until} if limit.max_concurrency is not None else live
    return Decision(True, SlotState(holders, tokens, now if tokens is not None else None, state.version))


MIN_RECHECK_SECONDS = 1
"""SQS delays are whole seconds."""
MAX_RECHECK_SECONDS = 900
"""SQS's longest message delay."""
RECHECK_GROWTH = 0.25
"""A waiting task looks again after at least a quarter of the time it has waited so far."""


def expected_rechecks(wait_seconds: float) -> int:
    """How many times a task that waits ``wait_seconds`` for a limit is looked at again, each
    delay at the middle of its jitter (docs/SCALING.md, ``make cost``)."""
    waited, checks = 0.0, 0
    while waited < wait_seconds:
        base = max(float(MIN_RECHECK_SECONDS), waited * RECHECK_GROWTH)
        waited += min(MAX_RECHECK_SECONDS, math.ceil(base * 1.25))
        checks += 1
    return checks


def recheck_delay(waited_seconds: float, expected_seconds: float, rng: random.Random | None = None) -> int:
    """The SQS delay of a deferred task's message: at least what the limiter expects, growing
    with the wait so far (a backlog behind a limit does not spin), jittered by up to half again
    so that tasks deferred together do not come back together."""
    base = max(float(MIN_RECHECK_SECONDS), expected_seconds, waited_seconds * RECHECK_GROWTH)
    jittered = base * (1 + 0.5 * (rng or random).random())
    return max(MIN_RECHECK_SECONDS, min(MAX_RECHECK_SECONDS, math.ceil(jittered)))
