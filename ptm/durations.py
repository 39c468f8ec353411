"""Durations as operators type them: ``30s``, ``10m``, ``2h``, ``3d``, or a compound ``1h30m``."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNIT_SECONDS = (86400, 3600, 60, 1)


def parse_duration(raw: str) -> int | None:
    """The duration in seconds, or None when ``raw`` is not one (a bare number is seconds)."""
    text = raw.strip()
    if text.isdigit():
        return int(text)
    match = _DURATION.match(text)
    if match is None or not any(match.groups()):
        return None
    return sum(int(part) * unit for part, unit in zip(match.groups(), _UNIT_SECONDS, strict=True) if part)
