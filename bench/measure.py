"""Measure what the cost model needs, from a real run of the local stack in this process.

N tasks go through the embedded local stack (the same handlers, ASL and table layout as on AWS,
time-scaled retries). Measured per invocation: handler duration, split into the handler's own
time and the time it spends in AWS calls (each call counted by service: the cost model replaces
the emulator's round trips with AWS's stated latencies), and the bytes each function
writes to its log stream (Powertools JSON lines and EMF metrics, as CloudWatch would ingest
them), split by log level so each stage's level can be priced. Measured per task: the DynamoDB
size of its record as it ends, succeeded or failed (which sets the write units of each status
change), whether its body lives inline. Measured per execution: its attempts, whether the Catch
path ran, its retry waits as the ASL drew them (before time scaling), its history events and
their size with and without execution data, which is what an Express workflow logging at level
ALL ships to CloudWatch Logs. Also: the custom metrics the functions publish (EMF), and the
bytes of the API's answer to a submit.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import logging
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ptm_client.transport import TasksApi

from bench.tasks import api, sample_payload, submit
from functions.common import json_text
from functions.common.models import TaskStatus
from functions.common.tasks_table import (
    COMPRESSED_PAYLOAD_ATTRIBUTE,
    PAYLOAD_ATTRIBUTE,
    item_size,
    new_record,
    payload_key,
    payload_of,
)
from functions.common.tasks_table.codec import has_inline_payload, task_from_item
from functions.common.workflow import execution_name
from infra.names import Function, StageNames
from infra.spec import ScheduleTrigger
from infra.stage_config import StageConfig
from local.emulator import free_port

if TYPE_CHECKING:
    from local.retry_clock import RecordedWait
    from local.stack import LocalStack, Running

BODY_ATTRIBUTES = (PAYLOAD_ATTRIBUTE, COMPRESSED_PAYLOAD_ATTRIBUTE)

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
    """Wall time on the local stack: the emulator's round trips included."""
    total_log_bytes: float
    """The handler's own lines plus Lambda's platform lines for each invocation."""
    log_bytes_by_level: dict[str, float] = dataclasses.field(default_factory=dict)
    """The handler's own lines by level (DEBUG, INFO, WARNING, ERROR, CRITICAL; METRICS for the
    EMF lines, which print at any level)."""
    aws_ms: float = 0.0
    """Of ``total_ms``, the time spent in AWS calls (request sent to response parsed)."""
    calls: dict[str, int] = dataclasses.field(default_factory=dict)
    """AWS calls made, by service (botocore's service name)."""

    @property
    def own_ms_per_invocation(self) -> float:
        """The handler's own time per invocation: its wall time less its AWS calls."""
        return max(0.0, self.total_ms - self.aws_ms) / self.invocations

    def calls_per_invocation(self, service: str) -> float:
        return self.calls.get(service, 0) / self.invocations

    def log_bytes_at(self, level: str) -> float:
        """Bytes per invocation with the function's log level at ``level``: the lines at that
        level or above, the metrics, and Lambda's platform lines."""
        kept = (*LEVELS[LEVELS.index(level) :], "METRICS")
        handler = sum(size for name, size in self.log_bytes_by_level.items() if name in kept)
        return handler / self.invocations + PLATFORM_LOG_BYTES

    def per_record(self) -> float:
        """Invocations per record: scales the per-invocation figures to a batch."""
        return self.invocations / max(self.records, 1)


@dataclass(frozen=True)
class ExecutionSample:
    """One measured execution."""

    attempts: int
    """Process invocations (ProcessTask's Lambda tasks scheduled)."""
    caught: bool
    """Retries exhausted or a permanent error: the Catch path (MarkFailed, SendToDlq) ran."""
    events: int
    """History events, as logged at level ALL."""
    waits: tuple[float, ...]
    """The retry waits the interpreter drew (seconds, before the local time scale)."""


@dataclass(frozen=True)
class Measured:
    tasks: int
    failure_rate: float
    functions: dict[Function, FunctionFigures]
    succeeded_record_bytes: float
    """Mean DynamoDB item size of a SUCCEEDED task's record, without its body."""
    failed_record_bytes: float
    """Mean item size of a FAILED, dead-lettered record without its body: error and cause included."""
    new_record_bytes: float
    """Mean item size of a new (QUEUED) record without its body, as ``create`` writes it."""
    inline_share: float
    """The share of the sample tasks whose body lives inline in the record."""
    payload_item_overhead_bytes: float
    """A payload item's size less the stored body's bytes (its key and attribute name)."""
    payload_compression: float
    """Stored body bytes per JSON byte of the sample payloads (``bench.tasks.sample_payload``)."""
    executions: tuple[ExecutionSample, ...]
    """The random-failure tasks' final executions and the forced dead letters'."""
    metric_names: frozenset[str]
    """The custom metrics (EMF) the functions published during the run."""
    submit_response_bytes: float
    """The body of the API's 202 answer to a submit."""
    event_bytes: float
    """Mean size of one execution-history event with its input/output, as an Express workflow
    logs it to CloudWatch Logs at level ALL (``logged_event``)."""
    event_bytes_without_data: float
    """The same without execution data (input, output and parameters left out)."""
    init_seconds: dict[Function, float] = dataclasses.field(default_factory=dict)
    """Each handler's import and setup at cold start (``bench.init_time.handler_seconds``)."""

    def describe(self) -> list[str]:
        """What the cost model reads from this measurement, printed with its report."""
        sizes = (self.succeeded_record_bytes, self.failed_record_bytes, self.new_record_bytes)
        records = " / ".join(f"{size:.0f}" for size in sizes)
        events = f"{self.event_bytes:.0f} / {self.event_bytes_without_data:.0f}"
        rows = [
            f"inputs [measured] (measured.json: {self.tasks} tasks at failure rate {self.failure_rate}): "
            f"custom metrics {', '.join(sorted(self.metric_names))}; record {records} B (succeeded / failed "
            f"/ new, no body); bodies inline {self.inline_share:.0%}, stored/JSON "
            f"{self.payload_compression:.2f}; a history event {events} B (with / without data); submit "
            f"answer {self.submit_response_bytes:.0f} B"
        ]
        for function, f in sorted(self.functions.items()):
            calls = ", ".join(
                f"{service} {f.calls_per_invocation(service):.2f}" for service in sorted(f.calls)
            )
            info, warning = (f.log_bytes_at(level) - PLATFORM_LOG_BYTES for level in ("INFO", "WARNING"))
            init = self.init_seconds.get(function, 0.0) * 1000
            rows.append(
                f"  {function.value:<10} {f.invocations:4d} invocations: own {f.own_ms_per_invocation:6.1f} "
                f"ms; AWS calls each: {calls}; log {info:4.0f} B at INFO, {warning:4.0f} at WARNING; init "
                f"{init:4.0f} ms"
            )
        return rows


FAILURE_RATE = StageConfig.failure_rate
"""The share of attempts the simulated tasks fail, measured and priced alike: a stage's default."""

MEASURED_FILE = Path(__file__).parent / "measured.json"
"""The last measurement ``python -m bench.measure`` saved: ``make cost`` prices from it."""


def save(measured: Measured, path: Path = MEASURED_FILE) -> None:
    document = dataclasses.asdict(measured) | {"metric_names": sorted(measured.metric_names)}
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")


def load(path: Path = MEASURED_FILE) -> Measured:
    raw = json.loads(path.read_text())
    return Measured(
        **raw
        | {
            "functions": {
                Function(name): FunctionFigures(**value) for name, value in raw["functions"].items()
            },
            "executions": tuple(
                ExecutionSample(**sample | {"waits": tuple(sample["waits"])}) for sample in raw["executions"]
            ),
            "metric_names": frozenset(raw["metric_names"]),
            "init_seconds": {Function(name): value for name, value in raw["init_seconds"].items()},
        }
    )


class _CountingStdout(io.TextIOBase):
    """Stands in for sys.stdout: passes writes through, counting bytes per invoking function."""

    def __init__(self, target: Any) -> None:
        self._target = target
        self.current = threading.local()
        self.bytes: dict[str, int] = defaultdict(int)
        self.by_level: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.metric_names: set[str] = set()
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        function = getattr(self.current, "function", None)
        if function is not None:
            with self._lock:
                self.bytes[function] += len(text.encode())
                for line in text.splitlines(keepends=True):
                    level = _level(line)
                    self.by_level[function][level] += len(line.encode())
                    if level == "METRICS":
                        self.metric_names.update(_metric_names(line))
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


def _metric_names(line: str) -> list[str]:
    record = json.loads(line)
    return [
        metric["Name"]
        for directive in record["_aws"].get("CloudWatchMetrics", [])
        for metric in directive.get("Metrics", [])
    ]


class _CallTimer:
    """Times every AWS call a function's handler makes (botocore's ``Endpoint.make_request``:
    request sent, response parsed), by the invoking function and service."""

    def __init__(self, current: threading.local) -> None:
        self._current = current
        self.ms: dict[str, float] = defaultdict(float)
        self.calls: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._lock = threading.Lock()
        self._original: Any = None

    def install(self) -> None:
        from botocore.endpoint import Endpoint  # noqa: PLC0415

        original, timer = Endpoint.make_request, self
        self._original = original

        def timed(endpoint: Any, operation_model: Any, request_dict: Any) -> Any:
            function = getattr(timer._current, "function", None)
            started = time.perf_counter()
            try:
                return original(endpoint, operation_model, request_dict)
            finally:
                if function is not None:
                    with timer._lock:
                        timer.ms[function] += (time.perf_counter() - started) * 1000
                        timer.calls[function][operation_model.service_model.service_name] += 1

        Endpoint.make_request = timed  # type: ignore[method-assign, assignment]

    def uninstall(self) -> None:
        from botocore.endpoint import Endpoint  # noqa: PLC0415

        if self._original is not None:
            Endpoint.make_request = self._original  # type: ignore[method-assign]
            self._original = None


LOGGED_EXECUTION_ARN = (
    f"arn:aws:states:us-east-1:123456789012:express:{StageNames('prod').state_machine}:"
    f"{execution_name(str(uuid.UUID(int=0)), 1, 1)}:{uuid.UUID(int=0)}"
)
"""An execution's ARN on AWS at prod's names: each logged event carries it."""
LOGGED_ROLE_ARN = (
    "arn:aws:iam::123456789012:role/ProcessTaskManager-prod-WorkflowStateMachineRoleXXXXXXXX-XXXXXXXXXXXX"
)


def logged_event(event: dict[str, Any], *, data: bool) -> dict[str, Any]:
    """A history event from the emulator in the shape an Express workflow logs it to CloudWatch
    Logs (Step Functions Developer Guide, "Logging using CloudWatch Logs": ``id``, ``type``,
    ``details``, ``previous_event_id``, ``event_timestamp``, ``execution_arn``, ``redrive_count``;
    ExecutionStarted's details carry the role's ARN)."""
    details: dict[str, Any] = {}
    for name, value in event.items():
        if name.endswith("EventDetails") and isinstance(value, dict):
            details = {key: item for key, item in value.items() if data or key not in EXECUTION_DATA}
    if event["type"] == "ExecutionStarted":
        details["roleArn"] = LOGGED_ROLE_ARN
    return {
        "id": str(event["id"]),
        "type": event["type"],
        "details": details,
        "previous_event_id": str(event.get("previousEventId", 0)),
        "event_timestamp": "1796358402086",
        "execution_arn": LOGGED_EXECUTION_ARN,
        "redrive_count": "0",
    }


def _post(client: TasksApi, index: int, dead_letter: bool = False) -> str:
    """About 1 KiB of JSON shaped like a real body, the size the cost model prices by default."""
    payload = sample_payload(index)
    if dead_letter:
        payload["simulate"] = {"failures": 100}
    return submit(client, payload)


def measure(
    tasks: int = 200, failure_rate: float = FAILURE_RATE, time_scale: float = 0.01, client_threads: int = 1
) -> Measured:
    counting = _CountingStdout(sys.stdout)
    original, sys.stdout = sys.stdout, counting
    try:
        # Imported here: the functions' loggers bind to sys.stdout when first imported.
        from local.options import LocalOptions  # noqa: PLC0415
        from local.stack import LocalStack  # noqa: PLC0415

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
        timer = _CallTimer(counting.current)
        timer.install()
        logging.getLogger("moto").setLevel(logging.CRITICAL)  # the Fail state's expected "error" lines
        running = stack.start()
        client = api(running.api_endpoint)
        stack.runtime.keep_invocations = True
        try:
            with ThreadPoolExecutor(client_threads) as pool:
                ids = list(pool.map(lambda index: _post(client, index), range(tasks)))
            # A few forced dead letters, so the monitor and the Catch path are measured however
            # the dice fall.
            doomed = [_post(client, index, dead_letter=True) for index in range(DEAD_LETTERS)]
            items = _wait_until_terminal(running, ids + doomed)
            _wait_for_a_sweep(stack)
            histories = _histories(running, items)
            payloads = _payload_items(running, [item for item in items if not has_inline_payload(item)])
            response_bytes = _submit_response_bytes(running.api_endpoint)
        finally:
            stack.stop()
            timer.uninstall()
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
            aws_ms=timer.ms.get(stack.names.function(function), 0.0),
            calls=dict(timer.calls.get(stack.names.function(function), {})),
        )
        for function, values in durations.items()
    }
    sample = [item for item in items if item["taskId"]["S"] in set(ids)]
    events = [event for history in histories.values() for event in history]
    bodies = [_body(item) for item in items if has_inline_payload(item)] + [_body(item) for item in payloads]
    return Measured(
        tasks=tasks,
        failure_rate=failure_rate,
        functions=figures,
        succeeded_record_bytes=statistics.fmean(
            _without_body_bytes(item) for item in items if item["status"]["S"] == "SUCCEEDED"
        ),
        failed_record_bytes=statistics.fmean(
            _without_body_bytes(item) for item in items if item["status"]["S"] == "FAILED"
        ),
        new_record_bytes=statistics.fmean(item_size(_as_new(item)) for item in sample),
        inline_share=sum(has_inline_payload(item) for item in sample) / len(sample),
        payload_item_overhead_bytes=statistics.fmean(
            item_size({"taskId": {"S": payload_key(item["taskId"]["S"], item["requestHash"]["S"])}})
            + len(COMPRESSED_PAYLOAD_ATTRIBUTE)
            for item in sample
        ),
        payload_compression=statistics.fmean(stored / json_bytes for stored, json_bytes in bodies),
        executions=_executions(histories, stack.retry_clock.waits),
        metric_names=frozenset(counting.metric_names),
        submit_response_bytes=response_bytes,
        event_bytes=statistics.fmean(_logged_bytes(event, data=True) for event in events),
        event_bytes_without_data=statistics.fmean(_logged_bytes(event, data=False) for event in events),
    )


def _logged_bytes(event: dict[str, Any], *, data: bool) -> int:
    return len(json.dumps(logged_event(event, data=data), default=str, separators=(",", ":")).encode())


def _body(item: dict[str, Any]) -> tuple[int, int]:
    """(stored bytes, JSON bytes) of the body an inline record or a payload item holds."""
    return _stored_body_bytes(item), len(json_text.dumps(payload_of(item)).encode())


def _without_body_bytes(item: dict[str, Any]) -> int:
    return item_size({name: value for name, value in item.items() if name not in BODY_ATTRIBUTES})


def _as_new(item: dict[str, Any]) -> dict[str, Any]:
    """The record as ``create`` wrote it, without its body: the same attributes a new record has."""
    task = task_from_item(item, {})
    return new_record(task.model_copy(update={"status": TaskStatus.QUEUED, "updated_at": task.created_at}))


def _submit_response_bytes(endpoint: str) -> float:
    status, body = api(endpoint).submit({"n": 1})
    if status != 202:
        raise RuntimeError(f"submit answered {status}: {body}")
    return float(len(json.dumps(body).encode()))


def _executions(
    histories: dict[str, list[dict[str, Any]]], waits: list[RecordedWait]
) -> tuple[ExecutionSample, ...]:
    """Each history with the waits its execution drew. The interpreter runs an execution's states
    in one thread of its own, so the waits group by thread; a group is matched to a history by
    count (an execution with n attempts waited n - 1 times), as the draws are alike."""
    by_thread: dict[str, list[float]] = defaultdict(list)
    for wait in waits:
        by_thread[wait.thread].append(wait.requested_seconds)
    pools: dict[int, list[tuple[float, ...]]] = defaultdict(list)
    for group in by_thread.values():
        pools[len(group)].append(tuple(group))
    samples = []
    for history in histories.values():
        attempts = sum(
            1
            for event in history
            if event["type"] == "TaskScheduled"
            and event.get("taskScheduledEventDetails", {}).get("resourceType") == "lambda"
        )
        caught = any(
            event["type"] == "TaskStateEntered"
            and event.get("stateEnteredEventDetails", {}).get("name") == "MarkFailed"
            for event in history
        )
        pool = pools.get(attempts - 1) or [()]
        samples.append(
            ExecutionSample(attempts, caught, len(history), pool.pop() if attempts > 1 and pool[0] else ())
        )
    return tuple(samples)


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
        done = [item for item in items if TaskStatus(item["status"]["S"]).settled("deadLetteredAt" in item)]
        if len(done) == len(ids):
            return done
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(ids) - len(done)} tasks not finished after {timeout} s")
        time.sleep(0.5)


def _wait_for_a_sweep(stack: LocalStack) -> None:
    """Reconcile runs on its schedule, not per task: a short run can end before its first sweep,
    and the model prices a sweep from a measured one. Wait for one (one scaled period at most)."""
    reconcile = stack.names.function(Function.RECONCILE)
    schedule = stack.config.trigger(Function.RECONCILE)
    assert isinstance(schedule, ScheduleTrigger)
    period = stack.options.scaled(schedule.every_minutes * 60)
    deadline = time.monotonic() + 2 * period + 5
    while not any(invocation.function_name == reconcile for invocation in stack.runtime.invocations):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no reconcile sweep within {2 * period + 5:.0f} s")
        time.sleep(0.05)


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


def _histories(running: Running, items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each task's final execution's history, by task id."""
    return {
        item["taskId"]["S"]: running.clients.execution_history(item["executionArn"]["S"]) for item in items
    }


def measure_all(tasks: int, failure_rate: float, init_runs: int) -> Measured:
    """A run of the local stack, and each handler's init time (fresh interpreters)."""
    from bench.init_time import handler_seconds  # noqa: PLC0415

    measured = measure(tasks=tasks, failure_rate=failure_rate)
    init = {function: handler_seconds(function, runs=init_runs) for function in Function}
    return dataclasses.replace(measured, init_seconds=init)


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure the cost model's inputs and save them.")
    parser.add_argument("--tasks", type=int, default=150, help="tasks run through the local stack")
    parser.add_argument("--failure-rate", type=float, default=FAILURE_RATE)
    parser.add_argument("--init-runs", type=int, default=3, help="fresh interpreters per handler's init")
    parser.add_argument("--out", type=Path, default=MEASURED_FILE)
    arguments = parser.parse_args()
    save(measure_all(arguments.tasks, arguments.failure_rate, arguments.init_runs), arguments.out)
    print(f"saved {arguments.out.name}: {arguments.tasks} tasks at failure rate {arguments.failure_rate}")


if __name__ == "__main__":
    main()
