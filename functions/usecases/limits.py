"""The limits routes: set, read, list and delete flow-control limits at runtime (no deploy).

A change reaches every dispatcher within ``LIMITS_CACHE_SECONDS`` (each caches the limits that
long). A limit counts only the tasks that took a slot under it: executions already running when
it is set (or set again after a delete) do not count until they end; a lowered limit admits no
task until fewer than it are in flight, and stops none that runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.common import json_text
from functions.common.errors import InvalidJsonError, LimitNotFoundError
from functions.common.flow_control import EACH_KEY, KEY_PREFIX, Limit, governing, limit_key, parse_limit
from functions.common.limits_table import LimitsTable


def _view(key: str, limit: Limit, in_flight: int | None, governed_by: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {"key": key, **limit.to_api()}
    if governed_by is not None:
        view["governedBy"] = governed_by
    if in_flight is not None and limit.max_concurrency is not None:
        view["inFlight"] = in_flight
    return view


def _in_flight(table: LimitsTable, keys: list[str], now: datetime) -> dict[str, int]:
    moment = now.timestamp()
    states = table.states(keys) if keys else {}
    return {key: len(state.live(moment)) for key, state in states.items()}


def put_limit(raw_key: str, body: bytes, *, table: LimitsTable, now: datetime) -> tuple[dict[str, Any], bool]:
    """Set (or replace) a limit: its view and whether it is new."""
    key = limit_key(raw_key)
    try:
        document = json_text.parse(body) if body.strip() else None
    except json_text.JsonTextError as exc:
        raise InvalidJsonError(f"the body is not JSON text this API takes: {exc}") from exc
    limit = parse_limit(document)
    existed = key in table.limits()
    table.put_limit(key, limit, now)
    return _view(key, limit, None), not existed


def list_limits(*, table: LimitsTable, now: datetime) -> list[dict[str, Any]]:
    """Every limit, by key, with its tasks in flight (``key:*``: per key, ``GET /limits/key:<k>``)."""
    limits = table.limits()
    counted = _in_flight(
        table, [key for key, limit in limits.items() if key != EACH_KEY and limit.max_concurrency], now
    )
    return [_view(key, limits[key], counted.get(key)) for key in sorted(limits)]


def get_limit(raw_key: str, *, table: LimitsTable, now: datetime) -> dict[str, Any]:
    """One key's limit: its own, or for a caller key without one, ``key:*``'s (``governedBy``)."""
    key = limit_key(raw_key)
    limits = table.limits()
    limit = governing(key, limits) if key != EACH_KEY else limits.get(EACH_KEY)
    if limit is None:
        raise LimitNotFoundError(f"no limit governs {key}")
    by = EACH_KEY if key.startswith(KEY_PREFIX) and key not in limits else None
    counted = _in_flight(table, [key], now) if key != EACH_KEY and limit.max_concurrency else {}
    return _view(key, limit, counted.get(key), by)


def delete_limit(raw_key: str, *, table: LimitsTable, now: datetime) -> None:
    key = limit_key(raw_key)
    if not table.delete_limit(key, now):
        raise LimitNotFoundError(f"no limit is set on {key}")
