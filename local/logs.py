"""Function logs into the emulator's CloudWatch Logs, as Lambda writes them.

Each function's log lines (its Powertools JSON lines, and Lambda's own ``START``, ``END`` and
``REPORT`` lines around every invocation) go to ``/aws/lambda/<function name>`` in the emulator,
one stream per local stack run named as Lambda names them, so ``ptm logs`` reads the local
stack and a deployment through the same CloudWatch Logs API. The state machine's execution
events go to its ``/aws/vendedlogs/states/...`` group, one JSON line per history event, in the
shape Step Functions logs them at level ALL.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

_invocation: ContextVar[LoggingInvocation | None] = ContextVar("local_invocation", default=None)
BATCH = 200
FLUSH_SECONDS = 0.2


@dataclass(frozen=True)
class LoggingInvocation:
    """The invocation whose function's log group a line logged now belongs to."""

    function_name: str
    request_id: str


@contextmanager
def invocation_scope(function_name: str, request_id: str) -> Iterator[None]:
    """Lines logged inside belong to this function's invocation (set by the local runtime)."""
    token = _invocation.set(LoggingInvocation(function_name, request_id))
    try:
        yield
    finally:
        _invocation.reset(token)


def stream_name() -> str:
    """Lambda's stream naming: ``YYYY/MM/DD/[$LATEST]<id>``."""
    return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"


class CloudWatchLogSink(logging.Handler):
    """A logging handler for the functions' logger, plus Lambda's own lines, sent in batches by
    a background thread (a slow emulator never slows an invocation down)."""

    def __init__(self, logs: CloudWatchLogsClient, group_for: dict[str, str]) -> None:
        super().__init__()
        self._logs = logs
        self._group_for = group_for
        self._streams: dict[str, str] = {}
        self._pending: queue.SimpleQueue[tuple[str, int, str] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._send, name="log-sink", daemon=True)
        self._created: set[str] = set()
        self._lock = threading.Lock()

    def start(self) -> CloudWatchLogSink:
        for group in set(self._group_for.values()):
            self._ensure_group(group)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._pending.put(None)
        self._thread.join(timeout=5)

    def emit(self, record: logging.LogRecord) -> None:
        current = _invocation.get()
        if current is None:
            return
        try:
            self.line(current.function_name, self.format(record), int(record.created * 1000))
        except Exception:
            self.handleError(record)

    def register_group(self, source: str, group: str) -> None:
        self._group_for[source] = group
        self._ensure_group(group)

    def line(self, function_name: str, message: str, timestamp_ms: int | None = None) -> None:
        group = self._group_for.get(function_name)
        if group is not None:
            self._pending.put((group, timestamp_ms or int(time.time() * 1000), message))

    def start_line(self, function_name: str, request_id: str) -> None:
        self.line(function_name, f"START RequestId: {request_id} Version: $LATEST")

    def end_lines(
        self,
        function_name: str,
        request_id: str,
        duration_ms: float,
        memory_mb: int,
        error: dict[str, Any] | None,
    ) -> None:
        if error is not None:
            self.line(function_name, json.dumps({**error, "requestId": request_id}))
        self.line(function_name, f"END RequestId: {request_id}")
        self.line(
            function_name,
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {max(1, round(duration_ms))} ms\tMemory Size: {memory_mb} MB",
        )

    def _ensure_group(self, group: str) -> None:
        with self._lock:
            if group in self._created:
                return
            with suppress(self._logs.exceptions.ResourceAlreadyExistsException):
                self._logs.create_log_group(logGroupName=group)
            stream = self._streams.setdefault(group, stream_name())
            self._logs.create_log_stream(logGroupName=group, logStreamName=stream)
            self._created.add(group)

    def _send(self) -> None:
        done = False
        while not done:
            batch: dict[str, list[tuple[int, str]]] = {}
            deadline = time.monotonic() + FLUSH_SECONDS
            while time.monotonic() < deadline and sum(map(len, batch.values())) < BATCH:
                try:
                    item = self._pending.get(timeout=max(0.01, deadline - time.monotonic()))
                except queue.Empty:
                    continue
                if item is None:
                    done = True
                    break
                group, timestamp, message = item
                batch.setdefault(group, []).append((timestamp, message))
            for group, events in batch.items():
                self._put(group, events)

    def _put(self, group: str, events: list[tuple[int, str]]) -> None:
        try:
            self._ensure_group(group)
            self._logs.put_log_events(
                logGroupName=group,
                logStreamName=self._streams[group],
                logEvents=[
                    {"timestamp": timestamp, "message": message}
                    for timestamp, message in sorted(events, key=lambda event: event[0])
                ],
            )
        except Exception:
            logging.getLogger("ptm.local").warning("could not write %d log line(s) to %s", len(events), group)


class ExecutionLogShipper:
    """Writes each finished execution's history to the state machine's log group, one JSON line
    per event as Step Functions logs at level ALL (``id``, ``type``, ``details``,
    ``execution_arn``, ``event_timestamp``). Polls newest-first and stops at executions that
    started before the previous poll minus the Express limit, so a poll stays short however many
    executions the emulator holds."""

    def __init__(
        self,
        sfn: Any,
        state_machine_arn: str,
        group: str,
        sink: CloudWatchLogSink,
        lookback_seconds: float,
        *,
        include_execution_data: bool = True,
    ) -> None:
        self._include_data = include_execution_data
        """The stage's ``workflowExecutionData``: off, each event's input, output and parameters
        are left out, as Step Functions leaves them out of the log."""
        self._sfn = sfn
        self._state_machine_arn = state_machine_arn
        self._group = group
        self._sink = sink
        self._lookback = lookback_seconds
        self._shipped: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="execution-logs", daemon=True)

    def start(self) -> ExecutionLogShipper:
        self._sink.register_group("__state_machine__", self._group)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        last_poll = datetime.now(UTC).timestamp()
        while not self._stop.wait(1.0):
            polled = datetime.now(UTC).timestamp()
            try:
                self.ship_finished(since=last_poll - self._lookback)
            except Exception:
                continue
            last_poll = polled

    def ship_finished(self, since: float) -> int:
        shipped = 0
        for page in self._sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self._state_machine_arn
        ):
            for execution in page["executions"]:
                if execution["startDate"].timestamp() < since:
                    return shipped
                arn = execution["executionArn"]
                if execution["status"] == "RUNNING" or arn in self._shipped:
                    continue
                self._ship(arn)
                self._shipped.add(arn)
                shipped += 1
        return shipped

    def _ship(self, arn: str) -> None:
        pages = self._sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
        for page in pages:
            for event in page["events"]:
                details: Any = next(
                    (value for key, value in event.items() if key.endswith("EventDetails")), {}
                )
                if not self._include_data:
                    details = without_execution_data(details)
                line = {
                    "id": str(event["id"]),
                    "type": event["type"],
                    "details": details,
                    "previous_event_id": str(event.get("previousEventId", 0)),
                    "event_timestamp": str(int(event["timestamp"].timestamp() * 1000)),
                    "execution_arn": arn,
                }
                self._sink.line(
                    "__state_machine__",
                    json.dumps(line, default=str),
                    int(event["timestamp"].timestamp() * 1000),
                )


EXECUTION_DATA_KEYS = frozenset({"input", "output", "parameters", "inputDetails", "outputDetails"})
"""What a history event's details hold of the execution's data (its states' input, output and a
task's parameters)."""


def without_execution_data(details: Any) -> Any:
    """An event's details as Step Functions logs them with ``includeExecutionData`` false."""
    if not isinstance(details, dict):
        return details
    return {key: value for key, value in details.items() if key not in EXECUTION_DATA_KEYS}
