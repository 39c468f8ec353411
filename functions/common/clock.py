"""Wall-clock time as the ISO-8601 strings stored in task records (sortable, UTC, milliseconds)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def moment(stored: str) -> datetime:
    """A stored timestamp (``iso``'s form) read back, timezone-aware."""
    return datetime.fromisoformat(stored)
