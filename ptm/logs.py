"""Reading the functions' and the workflow's logs: the same CloudWatch Logs calls against a
deployment and against the local stack (whose runtime writes them to the emulator)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from infra.names import Function
from ptm.durations import parse_duration

ALIASES: dict[str, str] = {
    # The Node.js version's function names (serverless logs -f <name>).
    "submitTask": Function.API.value,
    "processTask": Function.PROCESS.value,
    "dlqMonitor": Function.MONITOR.value,
    "submit": Function.API.value,
}
SOURCES = (*(function.value for function in Function), "workflow")


class LogsUsageError(ValueError):
    """A function name or duration ``ptm logs`` does not know; the message lists what it does."""


def resolve_source(name: str) -> str:
    """A function of this project, one of the Node.js version's names, or ``workflow``."""
    resolved = ALIASES.get(name, name)
    if resolved not in SOURCES:
        known = ", ".join([*SOURCES, *ALIASES])
        raise LogsUsageError(f"no function {name!r}: one of {known}")
    return resolved


def parse_since(raw: str) -> float:
    """``30s``, ``10m``, ``2h``, ``1d`` (or ``1h30m``) as seconds."""
    seconds = parse_duration(raw)
    if seconds is None:
        raise LogsUsageError(f"--since {raw!r}: use a number and s, m, h or d (e.g. 10m)")
    return seconds


@dataclass(frozen=True)
class LogLine:
    source: str
    timestamp_ms: int
    message: str
    event_id: str


def read(
    logs: Any,
    groups: dict[str, str],
    *,
    start_ms: int,
    task_id: str | None = None,
) -> list[LogLine]:
    """Every line since ``start_ms`` in the given groups (by source), oldest first; with
    ``task_id``, only the lines that name the task (a term match, checked again here)."""
    lines: list[LogLine] = []
    for source, group in groups.items():
        arguments: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
        if task_id is not None:
            arguments["filterPattern"] = f'"{task_id}"'
        try:
            pages = logs.get_paginator("filter_log_events").paginate(**arguments)
            for page in pages:
                for event in page.get("events", []):
                    message = str(event["message"])
                    if task_id is not None and task_id not in message:
                        continue
                    lines.append(LogLine(source, int(event["timestamp"]), message, str(event["eventId"])))
        except logs.exceptions.ResourceNotFoundException:
            continue  # a function that never ran has no log group yet
    return sorted(lines, key=lambda line: (line.timestamp_ms, line.event_id))


def follow(
    fetch: Callable[[int], list[LogLine]], start_ms: int, *, interval: float = 1.0, rounds: int | None = None
) -> Iterator[LogLine]:
    """Poll for new lines (every ``interval`` s) until interrupted, or for ``rounds`` polls;
    each line once."""
    seen: set[str] = set()
    done = 0
    while rounds is None or done < rounds:
        for line in fetch(start_ms):
            if line.event_id not in seen:
                seen.add(line.event_id)
                start_ms = max(start_ms, line.timestamp_ms)
                yield line
        done += 1
        if rounds is None or done < rounds:
            time.sleep(interval)


_SKIPPED_KEYS = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "correlation_id",
        "xray_trace_id",
        "stackTrace",
    }
)


def render(message: str) -> str:
    """One line a person reads: a function's JSON line as ``LEVEL message key=value…``, a
    workflow event as ``Type state error``, anything else (START, END, REPORT) as it is."""
    try:
        document = json.loads(message)
    except ValueError:
        return message.rstrip()
    if not isinstance(document, dict):
        return message.rstrip()
    if "level" in document and "message" in document:
        extras = " ".join(f"{key}={value}" for key, value in document.items() if key not in _SKIPPED_KEYS)
        return f"{document['level']:<7} {document['message']}  {extras}".rstrip()
    if "type" in document and "execution_arn" in document:
        details = document.get("details") or {}
        parts = [str(document["type"]), str(details.get("name", "")), str(details.get("error", ""))]
        name = str(document["execution_arn"]).split(":")[-2]
        return f"{'  '.join(part for part in parts if part)}  ({name})"
    if "errorType" in document:
        return f"ERROR   {document['errorType']}: {document.get('errorMessage', '')}"
    return message.rstrip()
