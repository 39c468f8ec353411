"""Measure what the cost model needs, from a real run of the local stack in this process.

N tasks go through the embedded local stack (the same handlers, ASL and table layout as on AWS,
time-scaled retries). Measured per invocation: handler duration and the bytes each function
writes to its log stream (Powertools JSON lines and EMF metrics, as CloudWatch would ingest
them), split by log level so each stage's level can be priced. Measured per task: the DynamoDB
size of its record as it ends, succeeded or failed (which sets the write units of each status
change), and of its payload item. Measured per execution: history events and their size with
and without execution data, which is what an Express workflow logging at level ALL ships to
CloudWatch Logs.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import statistics
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.tasks import api, sample_payload, submit
from functions.common.tasks_table import (
    COMPRESSED_PAYLOAD_ATTRIBUTE,
    PAYLOAD_ATTRIBUTE,
    item_size,
    payload_key,
    payload_of,
)
from infra.spec import Function
from local.emulator import free_port
from ptm.client import TasksApi

if TYPE_CHECKING:
    from local.stack import Running

DEAD_LETTERS = 5
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
EXECUTION_DATA = frozenset({"input", "output", "parameters", "inputDetails", "outputDetails"})
PLATFORM_LOG_BYTES = 330
"""Lambda's own START, END and REPORT lines per invocation (not written by the handler)."""


@dataclass(frozen=True)
class FunctionFigures:
    invocations: int
    records: int
    """SQS records handled (dispatch, monitor); equals invocations for the others."""
    total_ms: float
    total_log_bytes: float
    """The handler's own lines plus Lambda's platform lines for each invocation."""
    log_bytes_by_level: dict[str, float] = dataclasses.field(default_factory=dict)
    """The handler's own lines by level (DEBUG, INFO, WARNING, ERROR, CRITICAL; METRICS for the
    EMF lines, which print at any level)."""

    @property
    def ms_per_invocation(self) -> float:
        return self.total_ms / self.invocations

    @property
    def log_bytes_per_invocation(self) -> float:
        return self.total_log_bytes / self.invocations

    def log_bytes_at(self, level: str) -> float:
        """Bytes per invocation with the function's log level at ``level``: the lines at that
        level or above, the metrics, and Lambda's platform lines."""
        kept = (*LEVELS[LEVELS.index(level) :], "METRICS")
        handler = sum(size for name, size in self.log_bytes_by_level.items() if name in kept)
        return handler / self.invocations + PLATFORM_LOG_BYTES

    def per_batch(self, batch_size: float, level: str = "INFO") -> tuple[float, float]:
        """(ms, log bytes at ``level``) of one invocation with ``batch_size`` records, scaled from
        the measured per-record figures: an upper bound, as the fixed part is counted per record."""
        records = max(self.records, 1)
        handler_bytes = (self.log_bytes_at(level) - PLATFORM_LOG_BYTES) * self.invocations
        return (
            self.total_ms / records * batch_size,
            handler_bytes / records * batch_size + PLATFORM_LOG_BYTES,
        )


@dataclass(frozen=True)
class Measured:
    tasks: int
    failure_rate: float
    functions: dict[Function, FunctionFigures]
    succeeded_record_bytes: float
    """Mean DynamoDB item size of a SUCCEEDED task's record (the payload is not in it)."""
    failed_record_bytes: float
    """Mean item size of a FAILED, dead-lettered record: its error and cause included."""
    payload_item_overhead_bytes: float
    """A payload item's size less the stored body's bytes (its key and attribute names)."""
    payload_compression: float
    """Stored body bytes per JSON byte of the sample payloads (``bench.tasks.sample_payload``)."""
    events_per_task: float
    """Execution-history events of the random-failure tasks' final executions."""
    event_bytes: float
    """Mean size of one execution-history event with its input/output, as logged at ALL."""
    event_bytes_without_data: float
    """The same without execution data (input, output and parameters left out)."""


class _CountingStdout(io.TextIOBase):
    """Stands in for sys.stdout: passes writes through, counting bytes per invoking function."""

    def __init__(self, target: Any) -> None:
        self._target = target
        self.current = threading.local()
        self.bytes: dict[str, int] = defaultdict(int)
        self.by_level: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        function = getattr(self.current, "function", None)
        if function is not None:
            with self._lock:
                self.bytes[function] += len(text.encode())
                for line in text.splitlines(keepends=True):
                    self.by_level[function][_level(line)] += len(line.encode())
        return len(text)

    def flush(self) -> None:
        self._target.flush()


def _level(line: str) -> str:
    try:
        record = json.loads(line)
    except ValueError:
        return "INFO"
    if not isinstance(record, dict):
        return "INFO"
    return "METRICS" if "_aws" in record else str(record.get("level", "INFO"))


def _without_data(event: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {key: value for key, value in details.items() if key not in EXECUTION_DATA}
        if name.endswith("EventDetails") and isinstance(details, dict)
        else details
        for name, details in event.items()
    }


def _post(client: TasksApi, index: int, dead_letter: bool = False) -> str:
    """About 1 KiB of JSON shaped like a real body, the size the cost model prices by default."""
    payload = sample_payload(index)
    if dead_letter:
        payload["simulate"] = {"failures": 100}
    return submit(client, payload)


def measure(
    tasks: int = 200, failure_rate: float = 0.3, time_scale: float = 0.01, client_threads: int = 1
) -> Measured:
    counting = _CountingStdout(sys.stdout)
    original, sys.stdout = sys.stdout, counting
    try:
        # Imported here: the functions' loggers bind to sys.stdout when first imported.
        from local.stack import LocalOptions, LocalStack  # noqa: PLC0415

        options = LocalOptions(
            api_port=free_port(),
            emulator_port=free_port(),
            time_scale=time_scale,
            failure_rate=failure_rate,
            failure_seed="cost-model",
            verbose=True,
            quiet_tasks=True,
            function_logs=False,
        )
        stack = LocalStack(options, emit=lambda _: None)
        records: dict[str, int] = defaultdict(int)

        def before(name: str, event: Any) -> None:
            counting.current.function = name
            if isinstance(event, dict) and isinstance(event.get("Records"), list):
                records[name] += len(event["Records"])

        stack.runtime.hooks.append(before)
        stack.runtime.after_hooks.append(lambda *_: setattr(counting.current, "function", None))
        logging.getLogger("moto").setLevel(logging.CRITICAL)  # the Fail state's expected "error" lines
        running = stack.start()
        client = api(running.api_endpoint)
        stack.runtime.keep_invocations = True
        try:
            with ThreadPoolExecutor(client_threads) as pool:
                ids = list(pool.map(lambda index: _post(client, index), range(tasks)))
            # A few forced dead letters, so the monitor is measured however the dice fall.
            doomed = [_post(client, index, dead_letter=True) for index in range(DEAD_LETTERS)]
            items = _wait_until_terminal(running, ids + doomed)
            histories = _histories(running, [item for item in items if item["taskId"]["S"] in set(ids)])
            payloads = _payload_items(running, items)
        finally:
            stack.stop()
    finally:
        sys.stdout = original

    durations: dict[Function, list[float]] = defaultdict(list)
    for invocation in stack.runtime.invocations:
        durations[stack.functions[invocation.function_name]].append(invocation.duration_ms)
    figures = {
        function: FunctionFigures(
            invocations=len(values),
            records=records.get(stack.names.function(function), len(values)),
            total_ms=sum(values),
            total_log_bytes=counting.bytes[stack.names.function(function)] + PLATFORM_LOG_BYTES * len(values),
            log_bytes_by_level=dict(counting.by_level[stack.names.function(function)]),
        )
        for function, values in durations.items()
    }
    events = [event for history in histories for event in history]
    return Measured(
        tasks=tasks,
        failure_rate=failure_rate,
        functions=figures,
        succeeded_record_bytes=statistics.fmean(
            item_size(item) for item in items if item["status"]["S"] == "SUCCEEDED"
        ),
        failed_record_bytes=statistics.fmean(
            item_size(item) for item in items if item["status"]["S"] == "FAILED"
        ),
        payload_item_overhead_bytes=statistics.fmean(
            item_size(item) - _stored_body_bytes(item) for item in payloads
        ),
        payload_compression=statistics.fmean(
            _stored_body_bytes(item) / len(json.dumps(payload_of(item), separators=(",", ":")).encode())
            for item in payloads
        ),
        events_per_task=len(events) / len(histories),
        event_bytes=statistics.fmean(len(json.dumps(event, default=str)) for event in events),
        event_bytes_without_data=statistics.fmean(
            len(json.dumps(_without_data(event), default=str)) for event in events
        ),
    )


def _wait_until_terminal(running: Running, ids: list[str], timeout: float = 300) -> list[dict[str, Any]]:
    dynamodb, table = running.clients.dynamodb, running.resources.table
    deadline = time.monotonic() + timeout
    while True:
        items = [
            item
            for start in range(0, len(ids), 100)
            for item in dynamodb.batch_get_item(
                RequestItems={
                    table: {"Keys": [{"taskId": {"S": task_id}} for task_id in ids[start : start + 100]]}
                }
            )["Responses"][table]
        ]
        # Done once it succeeded, or failed and was then recorded by the monitor.
        done = [
            item
            for item in items
            if item["status"]["S"] == "SUCCEEDED"
            or (item["status"]["S"] == "FAILED" and "deadLetteredAt" in item)
        ]
        if len(done) == len(ids):
            return done
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(ids) - len(done)} tasks not finished after {timeout} s")
        time.sleep(0.5)


def _stored_body_bytes(item: dict[str, Any]) -> int:
    return sum(
        item_size({name: item[name]}) - len(name)
        for name in (PAYLOAD_ATTRIBUTE, COMPRESSED_PAYLOAD_ATTRIBUTE)
        if name in item
    )


def _payload_items(running: Running, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    dynamodb, table = running.clients.dynamodb, running.resources.table
    return [
        dynamodb.get_item(
            TableName=table,
            Key={"taskId": {"S": payload_key(record["taskId"]["S"], record["requestHash"]["S"])}},
        )["Item"]
        for record in records
    ]


def _histories(running: Running, items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [running.clients.execution_history(item["executionArn"]["S"]) for item in items]
