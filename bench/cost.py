"""Cost per 1M tasks on AWS, from the synthesized template, the ASL's retry policy, a run of the
local stack and stated assumptions; next to the SQS-retry design (SQS + Lambda retries, no
state machine). Prices, each with its source page, live in bench/prices.json.

Usage: python -m bench.cost [--failure-rate 0.3] [--payload-kb 1] [--tasks-per-second 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.measure import Measured, measure
from functions.common.tasks_table import COMPRESS_FROM_BYTES
from infra.spec import (
    DISPATCH_BATCH_SIZE,
    FUNCTIONS,
    MONITOR_BATCH_SIZE,
    Function,
    QueueTrigger,
    ScheduleTrigger,
    trigger_of,
)
from infra.stage_config import PRODUCTION_TASK_RETENTION_DAYS
from infra.workflow_definition import retry_policy

PRICES: dict[str, float] = {
    name: float(entry["usd"])
    for name, entry in json.loads((Path(__file__).parent / "prices.json").read_text())["prices"].items()
}
MILLION = 1_000_000
GB = 1e9
SECONDS_A_MONTH = 30 * 24 * 3600
TTL_DELETION_LAG_DAYS = 2.0
"""Assumed: how long after expiry DynamoDB's TTL deletes an item ("typically within a few days")."""

# Assumptions (docs/BENCHMARKS.md gives the reasoning for each).
EXPRESS_BILLED_GB = 0.0625
"""Express bills 64 MB per execution."""
EXPRESS_STEP_SECONDS = 0.1
"""... in 100 ms steps."""
EXPRESS_OVERHEAD_SECONDS = 0.1
"""Per execution, the service's own time around the Lambda invocations and the DynamoDB/SQS
task states (a DynamoDB or SQS state takes ~10-30 ms)."""
XRAY_RESERVOIR_PER_SECOND = 1.0
XRAY_RATE = 0.05
"""Lambda and Step Functions sample 1 request a second and 5 % of the rest, per traced source."""
XRAY_SAMPLING_SOURCE = "https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html"
"""X-Ray sampling is parent-based: a service that receives a request carrying an upstream
sampling decision keeps it, whatever its own rules say."""
POLLERS = 5
"""An SQS event source starts with five pollers; each fills its batch within the window."""
EMPTY_RECEIVES_A_MONTH = POLLERS * SECONDS_A_MONTH / 20
"""Idle pollers long-poll (20 s): ~648,000 empty ReceiveMessage calls a month per queue."""
COLD_START_FLOOR = 0.01
"""AWS: INITs (cold starts) occur in under 1 % of invocations of production workloads."""
IDLE_RECLAIM_SECONDS = 300.0
"""An execution environment idle this long is assumed reclaimed (AWS does not document it)."""
RUNTIME_INIT_MS = 150.0
"""The Python runtime's own start, before the handler module's imports (bench/init_time.py
measures those)."""
ITEM_OVERHEAD_BYTES = 100
"""DynamoDB's per-item storage overhead (and per index entry)."""
INDEX_ENTRY_BYTES = 200
"""A keys-only index entry: taskId, phaseShard, createdAt and the overhead."""
ACCESS_LOG_VALUE_BYTES = {
    "requestId": 16,
    "sourceIp": 13,
    "requestTime": 26,
    "httpMethod": 4,
    "routeKey": 16,
    "path": 45,
    "status": 3,
    "protocol": 8,
    "responseLength": 3,
    "integrationLatency": 2,
    "responseLatency": 2,
}
"""Typical values of the access log's fields; one not listed is counted empty ("-")."""


@dataclass(frozen=True)
class PricedDeployment:
    """What the template deploys (read by ``synthesize``), and the options the model adds."""

    memory_mb: dict[Function, int]
    workflow_log_level: str
    execution_data: bool
    function_log_level: str
    access_log_format: str
    capacity: str = "on-demand"
    """``provisioned``: table and index capacity provisioned, auto-scaled to ``utilization``."""
    utilization: float = 0.7


@dataclass(frozen=True)
class Load:
    tasks_per_second: float = 10.0
    failure_rate: float = 0.3
    payload_bytes: float = 1024.0
    replay_share: float = 0.01
    """Submissions a client sends again with the same Idempotency-Key (refused writes)."""
    duplicate_share: float = 0.01
    """Tasks whose message SQS delivers twice (a second execution whose claim is refused)."""
    gets_per_task: float = 0.0
    """GET /tasks/{id} a client makes per task (priced apart: "what moves it")."""
    retention_days: float = PRODUCTION_TASK_RETENTION_DAYS
    """taskRetentionDays (infra/stage_config.py): a finished task's items are deleted by TTL."""

    @property
    def months_stored(self) -> float:
        """How long each task's items stay stored: the retention plus TTL's deletion lag (an
        assumption: AWS says "typically within a few days"; the model takes 2). At a steady rate
        the table then holds this many months of tasks, so the storage line per 1M tasks is a
        steady state. With retention 0 (keep for ever) it grows by one month every month: the
        figure prints the first year's average."""
        if self.retention_days <= 0:
            return 6.5
        return (self.retention_days + TTL_DELETION_LAG_DAYS) * 86_400 / SECONDS_A_MONTH

    payload_compression: float | None = None
    """Stored bytes per JSON byte of a payload compressed in its item (``COMPRESS_FROM_BYTES`` or
    more): None takes the ratio measured on the sample bodies; 1.0 prices a body that does not
    compress."""


@dataclass(frozen=True)
class Mix:
    """Expected events per task at a failure rate, from the ASL's retry policy."""

    failure_rate: float
    attempts: float
    exhausted: float

    @classmethod
    def at(cls, failure_rate: float) -> Mix:
        policy = retry_policy()
        attempts = sum(failure_rate**k for k in range(policy.total_attempts))
        return cls(failure_rate, attempts, failure_rate**policy.total_attempts)

    @property
    def failed_attempts(self) -> float:
        return self.attempts - (1 - self.exhausted)

    def history_events(self) -> float:
        """Events of one execution: 6 for a first-time success, 4 per retry, 10 more for the
        Catch path (MarkFailed, SendToDlq, Failed)."""
        return 6 + 4 * (self.attempts - 1) + self.exhausted * 10

    def logged_events(self, level: str) -> float:
        if level == "ALL":
            return self.history_events()
        if level == "ERROR":
            return self.failed_attempts + self.exhausted  # each TaskFailed, and ExecutionFailed
        if level == "FATAL":
            return self.exhausted
        return 0.0

    def mean_wait_seconds(self) -> float:
        """The retry waits an execution spends, on average: Express bills them. With FULL
        jitter each wait is uniform on [0, its ceiling], so its mean is half the ceiling."""
        policy = retry_policy()
        return sum(
            self.failure_rate**retry * policy.ceiling(retry) / 2 for retry in range(1, policy.total_attempts)
        )


def write_units(bytes_: float) -> int:
    """Write units of one write: per started 1 KB of the item (the larger of before and after)."""
    return max(1, math.ceil(bytes_ / 1024))


@dataclass(frozen=True)
class Sizes:
    record: float
    """A record as it ends SUCCEEDED: every write of a successful task is at most this."""
    failed_record: float
    """A FAILED record with its error and cause."""
    payload_item: float


def stored_payload_bytes(payload_bytes: float, compression: float) -> float:
    """The payload item's body: compressed from ``COMPRESS_FROM_BYTES`` of JSON, as written."""
    return payload_bytes * min(compression, 1.0) if payload_bytes >= COMPRESS_FROM_BYTES else payload_bytes


def sizes(measured: Measured, load: Load) -> Sizes:
    compression = (
        measured.payload_compression if load.payload_compression is None else load.payload_compression
    )
    return Sizes(
        record=measured.succeeded_record_bytes,
        failed_record=measured.failed_record_bytes,
        payload_item=measured.payload_item_overhead_bytes
        + stored_payload_bytes(load.payload_bytes, compression),
    )


def writes_per_task(item: Sizes, mix: Mix, load: Load) -> dict[str, float]:
    """Write units per task, by write. The byPhase index holds keys only and QUEUED + RUNNING
    share the ACTIVE phase: an index entry is written when a task enters (1) and moved when it
    leaves ACTIVE (delete + put: 2); claims and attempt errors do not touch it. A conditional
    write that is refused still consumes the units of the item's size."""
    record, failed = write_units(item.record), write_units(item.failed_record)
    return {
        "submit: payload + record + index entry": write_units(item.payload_item) + record + 1,
        "claims (one per attempt)": mix.attempts * record,
        "attempt errors (lastError)": mix.failed_attempts * record,
        "success (+ index move)": (1 - mix.exhausted) * (record + 2),
        "MarkFailed (+ index move) and dead-lettered": mix.exhausted * (failed + 2 + failed),
        "the payload item's expiry (retention)": write_units(item.payload_item)
        if load.retention_days > 0
        else 0.0,
        "refused replays and duplicate claims": load.replay_share * (write_units(item.payload_item) + record)
        + load.duplicate_share * record,
    }


def sampled_share(requests_per_second: float) -> float:
    """The share of a source's requests X-Ray records: the reservoir, then the fixed rate."""
    if requests_per_second <= 0:
        return 0.0
    sampled = min(requests_per_second, XRAY_RESERVOIR_PER_SECOND) + XRAY_RATE * max(
        0.0, requests_per_second - XRAY_RESERVOIR_PER_SECOND
    )
    return sampled / requests_per_second


def trace_roots(sources: list[tuple[float, float]]) -> float:
    """Traces X-Ray records, from the services that make the sampling decision: each source is
    (requests, requests per second). Only roots count. An execution is started by dispatch, whose
    StartExecution carries the invocation's trace header (botocore adds ``X-Amzn-Trace-Id`` from
    ``_X_AMZN_TRACE_ID`` inside Lambda), so it joins a sampled batch's trace or is not traced;
    the process invocations it makes inherit the same decision (``XRAY_SAMPLING_SOURCE``)."""
    return sum(requests * sampled_share(rate) for requests, rate in sources)


def batch_size(messages_per_second: float, window_seconds: float, largest: int) -> float:
    """Messages per invocation of an SQS-triggered function: each of the pollers fills its
    batch for up to the window, so at low rates batches hold one or two messages."""
    return min(float(largest), max(1.0, messages_per_second * max(window_seconds, 0.2) / POLLERS))


def cold_start_share(invocations_per_second: float) -> float:
    """Invocations that start an execution environment (and pay INIT): every one that follows
    an idle gap longer than IDLE_RECLAIM_SECONDS (Poisson arrivals), and at least the 1 % AWS
    reports for production workloads."""
    if invocations_per_second <= 0:
        return 1.0
    return min(1.0, max(COLD_START_FLOOR, math.exp(-invocations_per_second * IDLE_RECLAIM_SECONDS)))


def express_billed_seconds(seconds: float) -> float:
    return math.ceil(seconds / EXPRESS_STEP_SECONDS - 1e-9) * EXPRESS_STEP_SECONDS


def request_unit_prices(deployment: PricedDeployment) -> tuple[float, float]:
    """$ per 1M write units and per 1M read units: on-demand, or provisioned capacity used at
    ``utilization`` (a unit-hour serves 3,600 units an hour when fully used)."""
    if deployment.capacity == "provisioned":
        hours_per_million = MILLION / 3600 / deployment.utilization
        return hours_per_million * PRICES["dynamodb_wcu_hour"], hours_per_million * PRICES[
            "dynamodb_rcu_hour"
        ]
    return PRICES["dynamodb_write_request_unit"], PRICES["dynamodb_read_request_unit"]


def access_log_bytes(log_format: str) -> float:
    """One access-log line: the format with each $context variable at a typical length."""
    rendered = re.sub(
        r"\$context\.([A-Za-z.]+)",
        lambda match: "x" * ACCESS_LOG_VALUE_BYTES.get(match.group(1).rsplit(".", 1)[-1], 1),
        log_format,
    )
    return len(rendered.encode()) + 1


def storage_bytes_per_task(item: Sizes) -> float:
    """What one task keeps stored: its record, its payload item and its index entry."""
    return item.record + item.payload_item + 2 * ITEM_OVERHEAD_BYTES + INDEX_ENTRY_BYTES


@dataclass(frozen=True)
class InitTimes:
    """Seconds of import and setup per function at cold start (bench/init_time.py)."""

    seconds: dict[Function, float]


def _lambda(
    deployment: PricedDeployment,
    function: Function,
    *,
    invocations: float,
    ms: float,
    log_bytes: float,
    rate: float,
    init: InitTimes,
) -> dict[str, float]:
    gb = deployment.memory_mb[function] / 1024
    init_seconds = init.seconds.get(function, 0.0) + RUNTIME_INIT_MS / 1000
    colds = invocations * cold_start_share(rate)
    return {
        "Lambda requests": invocations * PRICES["lambda_request"] / MILLION,
        "Lambda duration": invocations * gb * ms / 1000 * PRICES["lambda_gb_second_arm64"],
        "Lambda INIT": colds * gb * init_seconds * PRICES["lambda_gb_second_arm64"],
        "CloudWatch Logs": invocations * log_bytes / GB * PRICES["cloudwatch_logs_ingestion_gb"],
    }


WORKFLOW_LOGS = "CloudWatch Logs: workflow"
"""The state machine's history events (level ALL: what the console draws Express graphs from),
apart from the functions' and the API's log lines (``CloudWatch Logs``)."""
FEATURE_FLOOR_LINES = (
    "API Gateway",
    "Step Functions",
    "DynamoDB writes",
    "SQS",
    "Lambda requests",
    WORKFLOW_LOGS,
)
"""The lines no setting of this design removes while it keeps its features: a request per task,
an execution per task (its retry waits included), the writes of a listable, claimable record
with its payload, lastError and result, the queue's requests, one invocation per step, and the
history events the console's graphs need."""


def feature_floor(parts: dict[str, float]) -> float:
    """What a design's ``FEATURE_FLOOR_LINES`` add up to: its cost before any Lambda time,
    function log line, trace or month of storage."""
    return sum(parts.get(line, 0.0) for line in FEATURE_FLOOR_LINES)


def _add(total: dict[str, float], part: dict[str, float]) -> None:
    for key, value in part.items():
        total[key] = total.get(key, 0.0) + value


def _api_front(
    deployment: PricedDeployment, measured: Measured, load: Load, init: InitTimes
) -> dict[str, float]:
    """What both designs pay at the front, per 1M tasks: an API Gateway request per submit,
    replay and GET, its access-log line, and the api function that serves it."""
    requests = MILLION * (1 + load.replay_share + load.gets_per_task)
    api = measured.functions[Function.API]
    total = {
        "API Gateway": requests * PRICES["api_gateway_http_request"] / MILLION,
        "CloudWatch Logs": requests
        * access_log_bytes(deployment.access_log_format)
        / GB
        * PRICES["cloudwatch_logs_ingestion_gb"],
    }
    _add(
        total,
        _lambda(
            deployment,
            Function.API,
            invocations=requests,
            ms=api.ms_per_invocation,
            log_bytes=api.log_bytes_at(deployment.function_log_level),
            rate=load.tasks_per_second,
            init=init,
        ),
    )
    return total


def _storage(bytes_per_task: float, load: Load) -> float:
    """Table storage and its continuous backup for 1M tasks, kept ``load.months_stored``."""
    return (
        MILLION
        * bytes_per_task
        / GB
        * load.months_stored
        * (PRICES["dynamodb_storage_gb_month"] + PRICES["dynamodb_pitr_gb_month"])
    )


def this_design(
    deployment: PricedDeployment, measured: Measured, load: Load, init: InitTimes
) -> dict[str, float]:
    """Dollars per 1M tasks, by line item."""
    n, mix, rate = MILLION, Mix.at(load.failure_rate), load.tasks_per_second
    tasks_a_month = rate * SECONDS_A_MONTH
    level = deployment.function_log_level
    fig = measured.functions
    item = sizes(measured, load)
    total: dict[str, float] = {}

    _add(total, _api_front(deployment, measured, load, init))

    # Dispatch: batches as full as the rate and window allow.
    trigger = FUNCTIONS[Function.DISPATCH].trigger
    assert isinstance(trigger, QueueTrigger)
    batch = batch_size(rate, trigger.batching_window_seconds, DISPATCH_BATCH_SIZE)
    batches = n * (1 + load.duplicate_share) / batch
    ms, log_bytes = fig[Function.DISPATCH].per_batch(batch, level)
    _add(
        total,
        _lambda(
            deployment,
            Function.DISPATCH,
            invocations=batches,
            ms=ms,
            log_bytes=log_bytes,
            rate=rate / batch,
            init=init,
        ),
    )

    process = fig[Function.PROCESS]
    invocations = n * (mix.attempts + load.duplicate_share)
    _add(
        total,
        _lambda(
            deployment,
            Function.PROCESS,
            invocations=invocations,
            ms=process.ms_per_invocation,
            log_bytes=process.log_bytes_at(level),
            rate=rate * mix.attempts,
            init=init,
        ),
    )
    dead_rate = rate * mix.exhausted
    monitor_batch = batch_size(dead_rate, 0, MONITOR_BATCH_SIZE)
    dead_batches = n * mix.exhausted / monitor_batch
    ms, log_bytes = fig[Function.MONITOR].per_batch(monitor_batch, level)
    _add(
        total,
        _lambda(
            deployment,
            Function.MONITOR,
            invocations=dead_batches,
            ms=ms,
            log_bytes=log_bytes,
            rate=dead_rate,
            init=init,
        ),
    )
    # Reconcile: a fixed sweep every period (the spec's), spread over the month's tasks.
    period = trigger_of(Function.RECONCILE, ScheduleTrigger).every_minutes * 60
    sweeps = SECONDS_A_MONTH / period * n / tasks_a_month
    reconcile = fig[Function.RECONCILE]
    _add(
        total,
        _lambda(
            deployment,
            Function.RECONCILE,
            invocations=sweeps,
            ms=reconcile.ms_per_invocation,
            log_bytes=reconcile.log_bytes_at(level),
            rate=1 / period,
            init=init,
        ),
    )

    # SQS: send; a receive and a delete per batch; the DLQ's share; idle pollers on both queues.
    sqs = (
        n
        + 2 * batches
        + n * mix.exhausted * (1 + 2 / monitor_batch)
        + 2 * EMPTY_RECEIVES_A_MONTH * n / tasks_a_month
    )
    total["SQS"] = sqs * PRICES["sqs_request"] / MILLION

    write_price, read_price = request_unit_prices(deployment)
    total["DynamoDB writes"] = n * sum(writes_per_task(item, mix, load).values()) * write_price / MILLION
    reads = (
        1
        + load.duplicate_share  # the dispatcher's BatchGetItem, strongly consistent, per message
        + 0.5 * mix.attempts  # the payload, eventually consistent, per attempt
        + 2 * load.gets_per_task  # GET: the record and the payload, strongly consistent
    )
    total["DynamoDB reads"] = n * reads * read_price / MILLION
    total["DynamoDB storage + PITR"] = _storage(storage_bytes_per_task(item), load)

    seconds = (
        mix.attempts * process.ms_per_invocation / 1000 + mix.mean_wait_seconds() + EXPRESS_OVERHEAD_SECONDS
    )
    executions = n * (1 + load.duplicate_share)
    total["Step Functions"] = executions * (
        PRICES["sfn_express_request"] / MILLION
        + EXPRESS_BILLED_GB * express_billed_seconds(seconds) * PRICES["sfn_express_gb_second"]
    )
    event_bytes = measured.event_bytes if deployment.execution_data else measured.event_bytes_without_data
    total[WORKFLOW_LOGS] = (
        executions
        * mix.logged_events(deployment.workflow_log_level)
        * event_bytes
        / GB
        * PRICES["cloudwatch_logs_ingestion_gb"]
    )
    total["X-Ray"] = (
        trace_roots(
            [
                (n, rate),  # the api function: the HTTP API has no tracing, so it decides
                (batches, rate / batch),  # a dispatch batch (SQS starts a new trace)
                (dead_batches, dead_rate / monitor_batch),  # a monitor batch, likewise
                (sweeps, 1 / period),  # a scheduled sweep
            ]
        )
        * PRICES["xray_trace_recorded"]
        / MILLION
    )
    return total


def sqs_retry_design(
    deployment: PricedDeployment, measured: Measured, load: Load, init: InitTimes
) -> dict[str, float]:
    """The SQS-retry design: API → SQS → one worker Lambda that retries through SQS redelivery,
    one record per task (payload included) without an index. Its worker is priced like our
    process function, its logs at the same level."""
    n, mix, rate = MILLION, Mix.at(load.failure_rate), load.tasks_per_second
    level = deployment.function_log_level
    item = write_units(measured.succeeded_record_bytes + load.payload_bytes + 10)
    total = _api_front(deployment, measured, load, init)
    batch = batch_size(rate, 1, DISPATCH_BATCH_SIZE)
    # Failed messages come back alone after their visibility timeout: batches shrink to ~1.
    worker_invocations = n / batch + n * (mix.attempts - 1)
    process = measured.functions[Function.PROCESS]
    _add(
        total,
        _lambda(
            deployment,
            Function.PROCESS,
            invocations=worker_invocations,
            ms=process.ms_per_invocation,
            log_bytes=process.log_bytes_at(level),
            rate=rate,
            init=init,
        ),
    )
    total["SQS"] = (n + 2 * n / batch + n * (mix.attempts - 1) * 2) * PRICES["sqs_request"] / MILLION
    write_price, read_price = request_unit_prices(deployment)
    total["DynamoDB writes"] = n * (item + mix.attempts * item + item) * write_price / MILLION
    total["DynamoDB reads"] = n * load.gets_per_task * read_price / MILLION
    total["DynamoDB storage + PITR"] = _storage(
        measured.succeeded_record_bytes + load.payload_bytes + ITEM_OVERHEAD_BYTES, load
    )
    worker_rate = rate * worker_invocations / n
    total["X-Ray"] = (
        trace_roots([(n, rate), (worker_invocations, worker_rate)]) * PRICES["xray_trace_recorded"] / MILLION
    )
    return total


def synthesize(**context: str) -> PricedDeployment:
    """The template ``cdk synth`` would write (cdk-nag included), read for sizes and settings."""
    from aws_cdk import App  # noqa: PLC0415 - CDK loads only for this script

    from infra.app import build  # noqa: PLC0415

    settings = json.loads(Path("cdk.json").read_text())["context"]
    app = App(context={**settings, **context}, outdir=tempfile.mkdtemp())
    stack = build(app)
    document: dict[str, Any] = app.synth().get_stack_by_name(stack.stack_name).template
    memory: dict[Function, int] = {}
    level, data, function_level, access_format = "ALL", True, "INFO", "{}"
    for resource in document["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Function":
            function = Function(properties["FunctionName"].rsplit("-", 1)[-1])
            memory[function] = int(properties["MemorySize"])
            function_level = properties["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"]
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            level = properties["LoggingConfiguration"]["Level"]
            data = bool(properties["LoggingConfiguration"]["IncludeExecutionData"])
        if resource["Type"] == "AWS::ApiGatewayV2::Stage":
            access_format = properties["AccessLogSettings"]["Format"]
    return PricedDeployment(memory, level, data, function_level, access_format)


def init_times(runs: int = 3) -> InitTimes:
    """Each handler's import and setup time, the median of ``runs`` fresh interpreters
    (bench/init_time)."""
    from bench.init_time import handler_seconds  # noqa: PLC0415

    return InitTimes({function: handler_seconds(function, runs=runs) for function in Function})


def _print(title: str, parts: dict[str, float]) -> float:
    total = sum(parts.values())
    print(f"\n{title}: ${total:,.2f} per 1M tasks")
    for name, dollars in sorted(parts.items(), key=lambda item: -item[1]):
        print(f"  {name:<26} ${dollars:8.2f}  {dollars / total:6.1%}")
    return total


def _lines(base: dict[str, float], other: dict[str, float]) -> str:
    moves = sorted(
        ((name, other.get(name, 0.0) - base.get(name, 0.0)) for name in base | other),
        key=lambda pair: pair[1],
    )
    return ", ".join(f"{name} {delta:+.2f}" for name, delta in moves if abs(delta) >= 0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--failure-rate", type=float, default=0.3)
    parser.add_argument("--payload-kb", type=float, default=1.0)
    parser.add_argument("--tasks-per-second", type=float, default=Load.tasks_per_second)
    parser.add_argument("--measure-tasks", type=int, default=150, help="tasks run to measure the inputs")
    parser.add_argument("--init-runs", type=int, default=3, help="fresh interpreters per handler's init time")
    args = parser.parse_args()
    load = Load(
        tasks_per_second=args.tasks_per_second,
        failure_rate=args.failure_rate,
        payload_bytes=args.payload_kb * 1024,
    )
    measured = measure(tasks=args.measure_tasks, failure_rate=args.failure_rate)
    init = init_times(args.init_runs)
    dev, prod = synthesize(stage="dev"), synthesize(stage="prod")
    steady = dataclasses.replace(prod, capacity="provisioned")
    print(
        f"prices: us-east-1 list prices (bench/prices.json, each with its source); "
        f"payload {args.payload_kb} KiB; load {load.tasks_per_second:g} tasks/s "
        f"({load.tasks_per_second * SECONDS_A_MONTH / 1e6:.1f}M a month)"
    )
    print(
        f"\nmeasured on the local stack ({measured.tasks} tasks at failure rate {measured.failure_rate}, one "
        "client; durations include the emulator's own latency, so they are upper bounds):"
    )
    for function, figures in sorted(measured.functions.items()):
        print(
            f"  {function.value:<10} {figures.invocations:5d} invocations "
            f"{figures.ms_per_invocation:7.1f} ms  log bytes each: "
            f"{figures.log_bytes_at('INFO'):6.0f} at INFO, "
            f"{figures.log_bytes_at('WARNING'):6.0f} at WARNING; init {init.seconds[function] * 1000:5.0f} ms"
        )
    item = sizes(measured, load)
    mix = Mix.at(load.failure_rate)
    print(
        f"  items: record {item.record:.0f} B (failed {item.failed_record:.0f} B), payload item "
        f"{item.payload_item:.0f} B; execution history {measured.events_per_task:.2f} events per task "
        f"(model {mix.history_events():.2f}), {measured.event_bytes:.0f} B per event with execution data, "
        f"{measured.event_bytes_without_data:.0f} B without"
    )
    print("  write units per task (model):")
    for name, units in writes_per_task(item, mix, load).items():
        print(f"    {name:<46} {units:5.2f}")
    print(f"    {'total':<46} {sum(writes_per_task(item, mix, load).values()):5.2f}")

    designs = {
        "dev defaults": this_design(dev, measured, load, init),
        "prod defaults": this_design(prod, measured, load, init),
        "prod, steady-load option (provisioned capacity, auto-scaled at 70 %)": this_design(
            steady, measured, load, init
        ),
        "SQS-retry design without a state machine (prod log level)": sqs_retry_design(
            prod, measured, load, init
        ),
    }
    for title, parts in designs.items():
        _print(f"{title}, failure rate {load.failure_rate}", parts)

    base = designs["prod defaults"]
    steady_parts = designs["prod, steady-load option (provisioned capacity, auto-scaled at 70 %)"]
    print(
        f"\nFloor with every feature kept ({', '.join(FEATURE_FLOOR_LINES)}), before any Lambda time, "
        f"function log, trace or storage: prod ${feature_floor(base):.2f}, steady-load option "
        f"${feature_floor(steady_parts):.2f}"
    )
    print("\nWhat moves prod defaults (one thing at a time):")
    levers = {
        "dev's settings (INFO logs, execution data, same memory)": designs["dev defaults"],
        "steady-load option": steady_parts,
        "workflow execution data on": this_design(
            dataclasses.replace(prod, execution_data=True), measured, load, init
        ),
        "function logs at INFO": this_design(
            dataclasses.replace(prod, function_log_level="INFO"), measured, load, init
        ),
        "1 task/s": this_design(prod, measured, dataclasses.replace(load, tasks_per_second=1), init),
        "100 tasks/s": this_design(prod, measured, dataclasses.replace(load, tasks_per_second=100), init),
        "payload 4 KiB": this_design(prod, measured, dataclasses.replace(load, payload_bytes=4096), init),
        "a payload that does not compress": this_design(
            prod, measured, dataclasses.replace(load, payload_compression=1.0), init
        ),
        "failure rate 0": this_design(prod, measured, dataclasses.replace(load, failure_rate=0.0), init),
        "a client GET per task": this_design(
            prod, measured, dataclasses.replace(load, gets_per_task=1), init
        ),
        "taskRetentionDays=7 (other stages' default)": this_design(
            prod, measured, dataclasses.replace(load, retention_days=7), init
        ),
        "taskRetentionDays=0 (kept for ever; first year's average)": this_design(
            prod, measured, dataclasses.replace(load, retention_days=0), init
        ),
    }
    for name, parts in sorted(levers.items(), key=lambda pair: sum(pair[1].values())):
        print(f"  {name:<58} ${sum(parts.values()) - sum(base.values()):+6.2f}  ({_lines(base, parts)})")
    print(
        f"\nprod defaults: ${sum(base.values()):.2f} per 1M tasks "
        f"({load.failure_rate:.0%} failure, {args.payload_kb:g} KiB payload)"
    )


if __name__ == "__main__":
    main()
