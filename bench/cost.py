"""Cost per 1M tasks on AWS, from the synthesized template, the ASL's retry policy, a run of the
local stack and stated assumptions; next to the Node.js version's design (SQS redelivery
retries, no state machine). Prices, each with its source page, live in bench/prices.json.

It prices AWS, not the emulator: each function's duration is its handler's own time measured
on the local stack (the emulator's round trips taken out) plus a stated AWS latency per call it
made; each measured execution is billed in whole 100 ms steps; the events per execution are
counted, not derived. Every input is printed with its label: measured, from the template, or
assumed (with its source).

Usage: python -m bench.cost [--failure-rate 0.3] [--payload-kb 1] [--tasks-per-second 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.measure import PLATFORM_LOG_BYTES, ExecutionSample, FunctionFigures, Measured, measure
from functions.common.tasks_table import COMPRESS_FROM_BYTES, COMPRESSED_PAYLOAD_ATTRIBUTE
from functions.common.tasks_table.codec import INLINE_RESERVE_BYTES, WRITE_UNIT_BYTES
from infra.names import Function
from infra.spec import DISPATCH_BATCH_SIZE, MONITOR_BATCH_SIZE, QueueTrigger, ScheduleTrigger, trigger_of
from infra.stage_config import PRODUCTION_TASK_RETENTION_DAYS
from infra.synth import synthesized_templates
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
"""... in 100 ms steps, each execution rounded up on its own."""
AWS_CALL_MS: dict[str, float] = {"dynamodb": 5.0, "sqs": 15.0, "stepfunctions": 25.0}
"""Assumed: one AWS call's round trip from a Lambda function in the same region, by service."""
AWS_CALL_SOURCES: dict[str, str] = {
    "dynamodb": "AWS Knowledge Center, 'DynamoDB high latency': GetItem/PutItem average in single-digit "
    "milliseconds (https://repost.aws/knowledge-center/dynamodb-high-latency)",
    "sqs": "SQS Developer Guide: typical SendMessage/ReceiveMessage/DeleteMessage latencies are tens of "
    "milliseconds (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/)",
    "stepfunctions": "no published figure: StartExecution of an Express workflow taken as 25 ms",
}
OTHER_CALL_MS = 20.0
"""Assumed: a call to a service not listed above."""
LAMBDA_TASK_OVERHEAD_MS = 25.0
"""Assumed (no published figure): what a ``lambda:invoke`` Task state adds to the execution's
billed time beyond the function's own duration (the invoke's round trip, the state's entry and
exit)."""
INTEGRATION_MS: dict[str, float] = {
    "MarkFailed": AWS_CALL_MS["dynamodb"] * 2,
    "SendToDlq": AWS_CALL_MS["sqs"],
}
"""Assumed: the Catch path's DynamoDB and SQS Task states, each a service call from Step Functions."""
LOG_ARCHIVE_RATIO = 0.15
"""Assumed: stored (archived) log bytes per ingested byte; CloudWatch bills archived logs
compressed, and JSON log lines compress to ~15 %."""
RESPONSE_OVERHEAD_BYTES = 400
"""Assumed: what an API answer adds to its JSON body on the wire (API Gateway's headers, TLS
records, TCP/IP)."""
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
    """What the template deploys (read by ``priced``), and the options the model adds."""

    memory_mb: dict[Function, int]
    workflow_log_level: str
    execution_data: bool
    function_log_level: str
    access_log_format: str
    system_log_level: str = "INFO"
    """Lambda's own START/END/REPORT lines: written at INFO, dropped at WARN."""
    alarm_metrics: int = 0
    """The metrics the template's alarms read (a metric-math alarm bills each)."""
    dashboards: int = 0
    log_retention_days: int = 30
    workflow_log_class: str = "STANDARD"
    """``INFREQUENT_ACCESS`` prices the workflow's events at the IA class's ingestion price."""
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
    dispatch_window_seconds: float = trigger_of(Function.DISPATCH, QueueTrigger).batching_window_seconds
    """The dispatcher's MaximumBatchingWindow (the spec's)."""
    short_delay_share: float = 0.05
    """Tasks submitted with a delay of up to 15 minutes (an SQS delay): the share is assumed."""
    long_delay_share: float = 0.05
    """Tasks delayed further (a Scheduler schedule, whose early message the dispatcher sends
    back once): the share is assumed."""
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

    retry_wait_scale: float = 1.0
    """Multiplies every retry wait (0.5: the ASL's IntervalSeconds halved)."""
    inline: bool | None = None
    """Whether a body lives in its record: None applies the table's rule (``fits_inline``)."""
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

    def classes(self) -> dict[tuple[int, bool], float]:
        """Each kind of execution, (attempts, caught), with its probability: a success after k
        attempts, or the Catch path once every attempt failed."""
        total = retry_policy().total_attempts
        p = self.failure_rate
        kinds = {(k, False): p ** (k - 1) * (1 - p) for k in range(1, total + 1)}
        kinds[(total, True)] = p**total
        return kinds

    def logged_events(self, level: str, events_at_all: float) -> float:
        if level == "ALL":
            return events_at_all
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
    """A record as it ends SUCCEEDED (its body included when inline): every write of a
    successful task is at most this."""
    failed_record: float
    """A FAILED record with its error and cause."""
    payload_item: float
    """The payload item (when the body is not inline)."""
    inline: bool = False
    """The body lives in the record: no payload item, no expiry update, no payload read."""


def stored_payload_bytes(payload_bytes: float, compression: float) -> float:
    """The payload item's body: compressed from ``COMPRESS_FROM_BYTES`` of JSON, as written."""
    return payload_bytes * min(compression, 1.0) if payload_bytes >= COMPRESS_FROM_BYTES else payload_bytes


def sizes(measured: Measured, load: Load) -> Sizes:
    """Item sizes at ``load``'s payload: inline when the new record with its stored body and
    ``INLINE_RESERVE_BYTES`` fits one write unit (the table's rule), unless ``load.inline`` says."""
    compression = (
        measured.payload_compression if load.payload_compression is None else load.payload_compression
    )
    body = stored_payload_bytes(load.payload_bytes, compression) + len(COMPRESSED_PAYLOAD_ATTRIBUTE)
    inline = (
        measured.new_record_bytes + body + INLINE_RESERVE_BYTES <= WRITE_UNIT_BYTES
        if load.inline is None
        else load.inline
    )
    extra = body if inline else 0.0
    return Sizes(
        record=measured.succeeded_record_bytes + extra,
        failed_record=measured.failed_record_bytes + extra,
        payload_item=measured.payload_item_overhead_bytes + body - len(COMPRESSED_PAYLOAD_ATTRIBUTE),
        inline=inline,
    )


def writes_per_task(item: Sizes, mix: Mix, load: Load) -> dict[str, float]:
    """Write units per task, by write. The byPhase index holds keys only and QUEUED + RUNNING
    share the ACTIVE phase: an index entry is written when a task enters (1) and moved when it
    leaves ACTIVE (delete + put: 2); claims and attempt errors do not touch it. A conditional
    write that is refused still consumes the units of the item's size."""
    record, failed = write_units(item.record), write_units(item.failed_record)
    payload = 0 if item.inline else write_units(item.payload_item)
    return {
        "submit: record (+ payload item) + index entry": payload + record + 1,
        "claims (one per attempt)": mix.attempts * record,
        "attempt errors (lastError)": mix.failed_attempts * record,
        "success (+ index move)": (1 - mix.exhausted) * (record + 2),
        "MarkFailed (+ index move) and dead-lettered": mix.exhausted * (failed + 2 + failed),
        "the payload item's expiry (retention)": payload if load.retention_days > 0 else 0.0,
        "refused replays and duplicate claims": load.replay_share * (payload + record)
        + load.duplicate_share * record,
        # A scheduled task: its byRunAt entry (1), then the promotion (1) that moves its byPhase
        # entry SCHEDULED -> ACTIVE (2) and deletes the byRunAt one (1).
        "scheduled: due-index entry, promotion (+ index moves)": (
            load.short_delay_share + load.long_delay_share
        )
        * (1 + record + 2 + 1),
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


def workflow_ingestion_price(deployment: PricedDeployment) -> float:
    """$ per GB ingested into the workflow's log group, by its log class."""
    infrequent = deployment.workflow_log_class == "INFREQUENT_ACCESS"
    return PRICES["cloudwatch_logs_ingestion_ia_gb" if infrequent else "cloudwatch_logs_ingestion_gb"]


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
    """What one task keeps stored: its record, its payload item (unless inline) and its index entry."""
    if item.inline:
        return item.record + ITEM_OVERHEAD_BYTES + INDEX_ENTRY_BYTES
    return item.record + item.payload_item + 2 * ITEM_OVERHEAD_BYTES + INDEX_ENTRY_BYTES


def lambda_ms(figures: FunctionFigures) -> float:
    """One invocation's duration on AWS: the handler's own time measured on the local stack,
    plus ``AWS_CALL_MS`` for each AWS call it made (in place of the emulator's round trip)."""
    calls = sum(
        count / figures.invocations * AWS_CALL_MS.get(service, OTHER_CALL_MS)
        for service, count in figures.calls.items()
    )
    return figures.own_ms_per_invocation + calls


def batch_ms(figures: FunctionFigures, batch: float) -> float:
    """One invocation with ``batch`` records: the per-record share of an invocation, times the
    batch (an upper bound: the fixed part is counted per record)."""
    return lambda_ms(figures) * figures.per_record() * batch


def execution_seconds(sample: ExecutionSample, process_ms: float, wait_scale: float = 1.0) -> float:
    """A measured execution's time on AWS: its attempts at the process function's AWS duration
    plus each Lambda task's overhead, the waits it drew, and the Catch path's states if it ran."""
    attempts = sample.attempts * (process_ms + LAMBDA_TASK_OVERHEAD_MS) / 1000
    catch = sum(INTEGRATION_MS.values()) / 1000 if sample.caught else 0.0
    return attempts + sum(sample.waits) * wait_scale + catch


@dataclass(frozen=True)
class ExecutionFigures:
    """Per execution at a failure rate: billed seconds and history events, as expected."""

    billed_seconds: float
    events: float
    unobserved: tuple[tuple[int, bool], ...]
    """Kinds of execution the run did not produce, estimated instead (mean waits, +3 events a retry)."""


def executions(
    measured: Measured, process_ms: float, failure_rate: float, wait_scale: float = 1.0
) -> ExecutionFigures:
    """The measured executions grouped by kind (attempts, caught); each one billed in whole 100 ms
    steps on its own, then each kind weighted by its probability at ``failure_rate``."""
    by_kind: dict[tuple[int, bool], list[ExecutionSample]] = {}
    for sample in measured.executions:
        by_kind.setdefault((sample.attempts, sample.caught), []).append(sample)
    policy = retry_policy()
    billed = events = 0.0
    unobserved = []
    base_events = statistics.fmean(sample.events for sample in by_kind.get((1, False), measured.executions))
    for kind, probability in Mix(failure_rate, 0, 0).classes().items():
        if probability == 0:
            continue
        samples = by_kind.get(kind)
        if samples:
            kind_billed = statistics.fmean(
                express_billed_seconds(execution_seconds(sample, process_ms, wait_scale))
                for sample in samples
            )
            kind_events = statistics.fmean(sample.events for sample in samples)
        else:
            unobserved.append(kind)
            attempts, caught = kind
            waits = tuple(policy.ceiling(retry) / 2 for retry in range(1, attempts))
            kind_billed = express_billed_seconds(
                execution_seconds(ExecutionSample(attempts, caught, 0, waits), process_ms, wait_scale)
            )
            kind_events = base_events + 3 * (attempts - 1) + (10 if caught else 0)
        billed += probability * kind_billed
        events += probability * kind_events
    return ExecutionFigures(billed, events, tuple(unobserved))


@dataclass(frozen=True)
class InitTimes:
    """Seconds of import and setup per function at cold start (bench/init_time.py)."""

    seconds: dict[Function, float]


def log_bytes(deployment: PricedDeployment, figures: FunctionFigures, per: float = 1.0) -> float:
    """Log bytes of an invocation handling ``per`` invocations' worth of records: the function's
    lines at its level, and Lambda's own lines unless the system level drops them (WARN)."""
    handler = (figures.log_bytes_at(deployment.function_log_level) - PLATFORM_LOG_BYTES) * per
    return handler + (PLATFORM_LOG_BYTES if deployment.system_log_level in {"DEBUG", "INFO"} else 0.0)


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
FIXED_LINES = ("CloudWatch metrics (EMF)", "CloudWatch alarms", "CloudWatch dashboard")
"""Monthly charges that do not grow with the tasks: spread over the month's tasks."""
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
    replay and GET, its access-log line, the api function that serves it, and its answer's bytes
    out to the internet."""
    requests = MILLION * (1 + load.replay_share + load.gets_per_task)
    api = measured.functions[Function.API]
    answer = measured.submit_response_bytes + RESPONSE_OVERHEAD_BYTES
    get_answer = answer + load.payload_bytes + measured.succeeded_record_bytes
    total = {
        "API Gateway": requests * PRICES["api_gateway_http_request"] / MILLION,
        "CloudWatch Logs": requests
        * access_log_bytes(deployment.access_log_format)
        / GB
        * PRICES["cloudwatch_logs_ingestion_gb"],
        "Data transfer out": MILLION
        * ((1 + load.replay_share) * answer + load.gets_per_task * get_answer)
        / GB
        * PRICES["data_transfer_out_gb"],
    }
    _add(
        total,
        _lambda(
            deployment,
            Function.API,
            invocations=requests,
            ms=lambda_ms(api),
            log_bytes=log_bytes(deployment, api),
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


def _monthly(
    deployment: PricedDeployment, measured: Measured, load: Load, total: dict[str, float], *, ours: bool
) -> None:
    """The monthly lines, per 1M tasks at ``load``'s rate: custom metrics, alarms and the dashboard
    (fixed), and the stored logs (what the month ingested, kept the log groups' retention)."""
    per_million = MILLION / (load.tasks_per_second * SECONDS_A_MONTH)
    if ours:
        total["CloudWatch metrics (EMF)"] = (
            len(measured.metric_names) * PRICES["cloudwatch_custom_metric_month"] * per_million
        )
        total["CloudWatch alarms"] = (
            deployment.alarm_metrics * PRICES["cloudwatch_alarm_metric_month"] * per_million
        )
        total["CloudWatch dashboard"] = (
            deployment.dashboards * PRICES["cloudwatch_dashboard_month"] * per_million
        )
    ingested = total.get("CloudWatch Logs", 0.0) / PRICES["cloudwatch_logs_ingestion_gb"] + total.get(
        WORKFLOW_LOGS, 0.0
    ) / workflow_ingestion_price(deployment)
    total["CloudWatch Logs storage"] = (
        ingested
        * LOG_ARCHIVE_RATIO
        * deployment.log_retention_days
        / 30
        * PRICES["cloudwatch_logs_storage_gb_month"]
    )


def this_design(
    deployment: PricedDeployment, measured: Measured, load: Load, init: InitTimes
) -> dict[str, float]:
    """Dollars per 1M tasks, by line item."""
    n, mix, rate = MILLION, Mix.at(load.failure_rate), load.tasks_per_second
    tasks_a_month = rate * SECONDS_A_MONTH
    fig = measured.functions
    item = sizes(measured, load)
    total: dict[str, float] = {}

    _add(total, _api_front(deployment, measured, load, init))

    # Dispatch: batches as full as the rate and window allow.
    batch = batch_size(rate, load.dispatch_window_seconds, DISPATCH_BATCH_SIZE)
    batches = n * (1 + load.duplicate_share) / batch
    dispatch = fig[Function.DISPATCH]
    _add(
        total,
        _lambda(
            deployment,
            Function.DISPATCH,
            invocations=batches,
            ms=batch_ms(dispatch, batch),
            log_bytes=log_bytes(deployment, dispatch, dispatch.per_record() * batch),
            rate=rate / batch,
            init=init,
        ),
    )

    process = fig[Function.PROCESS]
    process_ms = lambda_ms(process)
    if not item.inline and measured.inline_share > 0:
        process_ms += AWS_CALL_MS["dynamodb"]  # the payload read the inline body saved
    invocations = n * (mix.attempts + load.duplicate_share)
    _add(
        total,
        _lambda(
            deployment,
            Function.PROCESS,
            invocations=invocations,
            ms=process_ms,
            log_bytes=log_bytes(deployment, process),
            rate=rate * mix.attempts,
            init=init,
        ),
    )
    dead_rate = rate * mix.exhausted
    monitor_batch = batch_size(dead_rate, 0, MONITOR_BATCH_SIZE)
    dead_batches = n * mix.exhausted / monitor_batch
    monitor = fig[Function.MONITOR]
    _add(
        total,
        _lambda(
            deployment,
            Function.MONITOR,
            invocations=dead_batches,
            ms=batch_ms(monitor, monitor_batch),
            log_bytes=log_bytes(deployment, monitor, monitor.per_record() * monitor_batch),
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
            ms=lambda_ms(reconcile),
            log_bytes=log_bytes(deployment, reconcile),
            rate=1 / period,
            init=init,
        ),
    )

    # SQS: send; a receive and a delete per batch; the DLQ's share; idle pollers on both queues;
    # a scheduled task's early message (a schedule fires 1-120 s before runAt) sent back once.
    early = n * load.long_delay_share
    sqs = (
        n
        + early * (1 + 2 / batch)
        + 2 * batches
        + n * mix.exhausted * (1 + 2 / monitor_batch)
        + 2 * EMPTY_RECEIVES_A_MONTH * n / tasks_a_month
    )
    total["SQS"] = sqs * PRICES["sqs_request"] / MILLION
    total["EventBridge Scheduler"] = early * PRICES["scheduler_invocation"] / MILLION

    write_price, read_price = request_unit_prices(deployment)
    total["DynamoDB writes"] = n * sum(writes_per_task(item, mix, load).values()) * write_price / MILLION
    reads = (
        1
        + load.duplicate_share  # the dispatcher's BatchGetItem, strongly consistent, per message
        + (0.0 if item.inline else 0.5 * mix.attempts)  # the payload item, eventually consistent
        + (1 if item.inline else 2) * load.gets_per_task  # GET: the record (and the payload item)
    )
    total["DynamoDB reads"] = n * reads * read_price / MILLION
    total["DynamoDB storage + PITR"] = _storage(storage_bytes_per_task(item), load)

    per_execution = executions(measured, process_ms, load.failure_rate, load.retry_wait_scale)
    count = n * (1 + load.duplicate_share)
    duplicate_billed = express_billed_seconds(execution_seconds(ExecutionSample(1, False, 0, ()), process_ms))
    billed = n * per_execution.billed_seconds + n * load.duplicate_share * duplicate_billed
    total["Step Functions"] = (
        count * PRICES["sfn_express_request"] / MILLION
        + EXPRESS_BILLED_GB * billed * PRICES["sfn_express_gb_second"]
    )
    event_bytes = measured.event_bytes if deployment.execution_data else measured.event_bytes_without_data
    total[WORKFLOW_LOGS] = (
        count
        * mix.logged_events(deployment.workflow_log_level, per_execution.events)
        * event_bytes
        / GB
        * workflow_ingestion_price(deployment)
    )
    total["X-Ray"] = (
        trace_roots(
            [
                # The api function: the HTTP API has no tracing, so it decides; the execution
                # joins its trace (the message's AWSTraceHeader), the dispatcher records none.
                (n, rate),
                (dead_batches, dead_rate / monitor_batch),  # a monitor batch, likewise
                (sweeps, 1 / period),  # a scheduled sweep
            ]
        )
        * PRICES["xray_trace_recorded"]
        / MILLION
    )
    _monthly(deployment, measured, load, total, ours=True)
    return total


def node_design(
    deployment: PricedDeployment, measured: Measured, load: Load, init: InitTimes
) -> dict[str, float]:
    """The Node.js version's design: API → SQS → one worker Lambda that retries through SQS
    redelivery (a failed message comes back after its visibility timeout; the worker sets the
    backoff with ChangeMessageVisibility), one record per task with its JSON body (uncompressed)
    and no index, a DLQ and its monitor. Priced on the same work (rate, failures, body) with the
    same settings (log levels, tracing, metrics, alarms and dashboard), so the difference is the
    design's. Its worker is priced like our process function."""
    n, mix, rate = MILLION, Mix.at(load.failure_rate), load.tasks_per_second
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
            ms=lambda_ms(process) + AWS_CALL_MS["sqs"] * (mix.attempts - 1) / mix.attempts,
            log_bytes=log_bytes(deployment, process),
            rate=rate,
            init=init,
        ),
    )
    dead_rate = rate * mix.exhausted
    monitor_batch = batch_size(dead_rate, 0, MONITOR_BATCH_SIZE)
    monitor = measured.functions[Function.MONITOR]
    _add(
        total,
        _lambda(
            deployment,
            Function.MONITOR,
            invocations=n * mix.exhausted / monitor_batch,
            ms=batch_ms(monitor, monitor_batch),
            log_bytes=log_bytes(deployment, monitor, monitor.per_record() * monitor_batch),
            rate=dead_rate,
            init=init,
        ),
    )
    # Send; a receive and a delete per batch; per retry a ChangeMessageVisibility and a receive;
    # the DLQ's share; idle pollers on both queues.
    total["SQS"] = (
        (
            n
            + 2 * n / batch
            + n * (mix.attempts - 1) * 2
            + n * mix.exhausted * (1 + 2 / monitor_batch)
            + 2 * EMPTY_RECEIVES_A_MONTH * n / (rate * SECONDS_A_MONTH)
        )
        * PRICES["sqs_request"]
        / MILLION
    )
    write_price, read_price = request_unit_prices(deployment)
    # Create, then a status write per attempt and the final status.
    total["DynamoDB writes"] = n * (item + mix.attempts * item + item) * write_price / MILLION
    total["DynamoDB reads"] = n * load.gets_per_task * read_price / MILLION
    total["DynamoDB storage + PITR"] = _storage(
        measured.succeeded_record_bytes + load.payload_bytes + ITEM_OVERHEAD_BYTES, load
    )
    worker_rate = rate * worker_invocations / n
    total["X-Ray"] = (
        trace_roots([(n, rate), (worker_invocations, worker_rate)]) * PRICES["xray_trace_recorded"] / MILLION
    )
    _monthly(deployment, measured, load, total, ours=True)
    return total


def priced(document: dict[str, Any]) -> PricedDeployment:
    """A template ``make synth`` wrote, read for sizes and settings."""
    memory: dict[Function, int] = {}
    level, data, function_level, access_format, system_level = "ALL", True, "INFO", "{}", "INFO"
    alarm_metrics = dashboards = 0
    retention: set[int] = set()
    for resource in document["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Function":
            function = Function(properties["FunctionName"].rsplit("-", 1)[-1])
            memory[function] = int(properties["MemorySize"])
            function_level = properties["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"]
            system_level = properties.get("LoggingConfig", {}).get("SystemLogLevel", "INFO")
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            level = properties["LoggingConfiguration"]["Level"]
            data = bool(properties["LoggingConfiguration"]["IncludeExecutionData"])
        if resource["Type"] == "AWS::ApiGatewayV2::Stage":
            access_format = properties["AccessLogSettings"]["Format"]
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            alarm_metrics += max(1, sum("MetricStat" in metric for metric in properties.get("Metrics", [])))
        if resource["Type"] == "AWS::CloudWatch::Dashboard":
            dashboards += 1
        if resource["Type"] == "AWS::Logs::LogGroup" and "RetentionInDays" in properties:
            retention.add(int(properties["RetentionInDays"]))
    return PricedDeployment(
        memory,
        level,
        data,
        function_level,
        access_format,
        system_log_level=system_level,
        alarm_metrics=alarm_metrics,
        dashboards=dashboards,
        log_retention_days=max(retention, default=30),
    )


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


def _inputs(measured: Measured, prod: PricedDeployment, load: Load) -> list[tuple[str, str, str]]:
    """(label, input, value and source) for every input the model prices with."""
    rows = [
        ("template", "memory (MB)", ", ".join(f"{f.value} {mb}" for f, mb in sorted(prod.memory_mb.items()))),
        (
            "template",
            "log levels (prod)",
            f"functions {prod.function_log_level}, Lambda system {prod.system_log_level}, workflow "
            f"{prod.workflow_log_level}, execution data {'on' if prod.execution_data else 'off'}",
        ),
        ("template", "alarm metrics, dashboards", f"{prod.alarm_metrics}, {prod.dashboards}"),
        ("template", "log retention", f"{prod.log_retention_days} days"),
        ("template", "retry policy (ASL)", f"{retry_policy()}"),
        ("template", "dispatch batching window", f"{load.dispatch_window_seconds:g} s"),
        (
            "measured",
            "custom metrics published",
            f"{len(measured.metric_names)}: {', '.join(sorted(measured.metric_names))}",
        ),
        (
            "measured",
            "record (succeeded / failed / new), without body",
            f"{measured.succeeded_record_bytes:.0f} / {measured.failed_record_bytes:.0f} / "
            f"{measured.new_record_bytes:.0f} B",
        ),
        (
            "measured",
            "bodies inline; stored/JSON bytes",
            f"{measured.inline_share:.0%}; {measured.payload_compression:.2f}",
        ),
        (
            "measured",
            "history event (with / without data)",
            f"{measured.event_bytes:.0f} / {measured.event_bytes_without_data:.0f} B",
        ),
        ("measured", "submit answer body", f"{measured.submit_response_bytes:.0f} B"),
        (
            "assumed",
            "load",
            f"{load.tasks_per_second:g} tasks/s, {load.replay_share:.0%} replays, "
            f"{load.duplicate_share:.0%} duplicate deliveries",
        ),
        (
            "assumed",
            "delayed tasks",
            f"{load.short_delay_share:.0%} up to 15 min (an SQS delay), {load.long_delay_share:.0%} further "
            "(a Scheduler schedule each; its message comes early once and is sent back)",
        ),
    ]
    rows += [
        ("assumed", f"AWS call latency: {service}", f"{ms:g} ms ({AWS_CALL_SOURCES[service]})")
        for service, ms in AWS_CALL_MS.items()
    ]
    rows += [
        (
            "assumed",
            "Lambda task overhead in an execution",
            f"{LAMBDA_TASK_OVERHEAD_MS:g} ms (no published figure)",
        ),
        (
            "assumed",
            "Catch path's task states",
            ", ".join(f"{state} {ms:g} ms" for state, ms in INTEGRATION_MS.items()),
        ),
        (
            "assumed",
            "X-Ray sampling",
            f"{XRAY_RESERVOIR_PER_SECOND:g}/s + {XRAY_RATE:.0%} per deciding source ({XRAY_SAMPLING_SOURCE})",
        ),
        ("assumed", "SQS pollers, idle long polls", f"{POLLERS}, every 20 s"),
        (
            "assumed",
            "cold starts",
            f"after {IDLE_RECLAIM_SECONDS:g} s idle, at least {COLD_START_FLOOR:.0%}; "
            f"runtime start {RUNTIME_INIT_MS:g} ms",
        ),
        ("assumed", "TTL deletion lag", f"{TTL_DELETION_LAG_DAYS:g} days"),
        ("assumed", "stored log bytes per ingested byte", f"{LOG_ARCHIVE_RATIO:g}"),
        ("assumed", "answer overhead on the wire", f"{RESPONSE_OVERHEAD_BYTES} B"),
        ("assumed", "item and index-entry overhead", f"{ITEM_OVERHEAD_BYTES} B, {INDEX_ENTRY_BYTES} B"),
    ]
    return rows


LEVERS: dict[str, str] = {
    "body in a payload item, not inline (before)": "nothing a user sees: GET and the claim return the body",
    "Lambda system logs at INFO (before)": "START/END/REPORT lines back in each function's log group",
    "dispatch batching window 5 s": "a task waits up to 5 s more before it starts at low rates",
    "retry waits halved (ASL IntervalSeconds 2 -> 1)": "a failed attempt is retried after 0-1 s, then 0-2 s "
    "(not 0-2, 0-4): less time for a dependency to recover",
    "workflow log group in the Infrequent Access class": "unverified: whether the console draws "
    "Express graphs from an IA log group (it queries with Logs Insights, which IA supports)",
    "steady-load option (provisioned capacity)": "throttles on bursts above the auto-scaled capacity",
    "workflow execution data on": "the console's per-state input/output panes filled",
    "function logs at INFO": "'task accepted' and 'processing task' lines",
    "failure rate 0": "(the load, not a setting)",
    "payload 4 KiB": "(the load) too large to inline: a payload item",
    "a payload that does not compress": "(the load) random bytes: too large to inline",
    "a client GET per task": "(the load)",
    "taskRetentionDays=7": "tasks gone a week after they finish",
    "no delayed tasks": "(the load) every task runs at once",
    "half the tasks delayed over 15 minutes": "(the load) a Scheduler schedule each",
    "taskRetentionDays=0 (kept for ever; first year's average)": "tasks kept for ever",
}


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
    with tempfile.TemporaryDirectory(prefix="ptm-cost-") as scratch:
        templates = synthesized_templates(["dev", "prod"], Path(scratch))
    dev, prod = priced(templates["dev"]), priced(templates["prod"])
    steady = dataclasses.replace(prod, capacity="provisioned")
    print(
        f"prices: us-east-1 list prices (bench/prices.json, each with its source); "
        f"payload {args.payload_kb} KiB; load {load.tasks_per_second:g} tasks/s "
        f"({load.tasks_per_second * SECONDS_A_MONTH / 1e6:.1f}M a month)"
    )
    print(
        "\ninputs, each labelled [measured] on the local stack, [template] from make synth or the ASL, "
        "or [assumed]:"
    )
    for label, name, value in _inputs(measured, prod, load):
        print(f"  [{label}] {name}: {value}")
    print(
        f"\nfunctions ({measured.tasks} tasks at failure rate {measured.failure_rate}, one client): "
        "the handler's own time [measured] plus the AWS calls it made at the latencies above [assumed]"
    )
    for function, figures in sorted(measured.functions.items()):
        calls = ", ".join(
            f"{service} {figures.calls_per_invocation(service):.2f}" for service in sorted(figures.calls)
        )
        print(
            f"  {function.value:<10} {figures.invocations:5d} invocations: "
            f"own {figures.own_ms_per_invocation:6.1f} ms"
            f" + calls ({calls}) = {lambda_ms(figures):6.1f} ms on AWS (emulator wall time "
            f"{figures.ms_per_invocation:6.1f} ms); log bytes "
            f"{figures.log_bytes_at('INFO') - PLATFORM_LOG_BYTES:5.0f} at INFO, "
            f"{figures.log_bytes_at('WARNING') - PLATFORM_LOG_BYTES:5.0f} at WARNING "
            f"(+{PLATFORM_LOG_BYTES} Lambda's own at INFO); "
            f"init {init.seconds[function] * 1000:4.0f} ms"
        )
    item = sizes(measured, load)
    mix = Mix.at(load.failure_rate)
    process_ms = lambda_ms(measured.functions[Function.PROCESS])
    per_execution = executions(measured, process_ms, load.failure_rate)
    kinds: dict[tuple[int, bool], int] = {}
    for sample in measured.executions:
        kinds[(sample.attempts, sample.caught)] = kinds.get((sample.attempts, sample.caught), 0) + 1
    print(
        f"  executions [measured]: {len(measured.executions)} by (attempts, caught): "
        + ", ".join(f"{kind}: {count}" for kind, count in sorted(kinds.items()))
        + f"; each billed in 100 ms steps: {per_execution.billed_seconds:.3f} s and "
        f"{per_execution.events:.2f} events"
        f" per execution at failure rate {load.failure_rate}"
        + (
            f" (estimated for unobserved kinds {per_execution.unobserved})"
            if per_execution.unobserved
            else ""
        )
    )
    print(
        f"  items: record {item.record:.0f} B (failed {item.failed_record:.0f} B), body "
        f"{'inline' if item.inline else f'in a payload item of {item.payload_item:.0f} B'}"
    )
    print("  write units per task:")
    for name, units in writes_per_task(item, mix, load).items():
        print(f"    {name:<46} {units:5.2f}")
    print(f"    {'total':<46} {sum(writes_per_task(item, mix, load).values()):5.2f}")

    steady_title = "prod, provisioned-capacity option (auto-scaled at 70 %)"
    designs = {
        "dev defaults": this_design(dev, measured, load, init),
        "prod defaults": this_design(prod, measured, load, init),
        steady_title: this_design(steady, measured, load, init),
        "the Node.js version's design (SQS redelivery retries, no state machine), same settings": node_design(
            prod, measured, load, init
        ),
    }
    for title, parts in designs.items():
        _print(f"{title}, failure rate {load.failure_rate}", parts)

    base = designs["prod defaults"]
    print(
        f"\nFloor with every feature kept ({', '.join(FEATURE_FLOOR_LINES)}), before any Lambda time, "
        f"function log, trace or storage: prod ${feature_floor(base):.2f}, provisioned "
        f"${feature_floor(designs[steady_title]):.2f}"
    )
    print("\nBy rate (X-Ray's reservoir and the monthly lines make the cost per task depend on it):")
    for rate in (1.0, 10.0, 100.0):
        at = dataclasses.replace(load, tasks_per_second=rate)
        print(
            f"  {rate:g} task/s: prod ${sum(this_design(prod, measured, at, init).values()):.2f}, "
            "provisioned "
            f"${sum(this_design(steady, measured, at, init).values()):.2f} per 1M tasks"
        )
    print("\nWhat moves prod defaults (one thing at a time), and what it changes for a user:")
    levers = {
        "body in a payload item, not inline (before)": this_design(
            prod, measured, dataclasses.replace(load, inline=False), init
        ),
        "Lambda system logs at INFO (before)": this_design(
            dataclasses.replace(prod, system_log_level="INFO"), measured, load, init
        ),
        "dispatch batching window 5 s": this_design(
            prod, measured, dataclasses.replace(load, dispatch_window_seconds=5), init
        ),
        "steady-load option (provisioned capacity)": designs[steady_title],
        "retry waits halved (ASL IntervalSeconds 2 -> 1)": this_design(
            prod, measured, dataclasses.replace(load, retry_wait_scale=0.5), init
        ),
        "workflow log group in the Infrequent Access class": this_design(
            dataclasses.replace(prod, workflow_log_class="INFREQUENT_ACCESS"), measured, load, init
        ),
        "workflow execution data on": this_design(
            dataclasses.replace(prod, execution_data=True), measured, load, init
        ),
        "function logs at INFO": this_design(
            dataclasses.replace(prod, function_log_level="INFO"), measured, load, init
        ),
        "payload 4 KiB": this_design(prod, measured, dataclasses.replace(load, payload_bytes=4096), init),
        "a payload that does not compress": this_design(
            prod, measured, dataclasses.replace(load, payload_compression=1.0), init
        ),
        "failure rate 0": this_design(prod, measured, dataclasses.replace(load, failure_rate=0.0), init),
        "a client GET per task": this_design(
            prod, measured, dataclasses.replace(load, gets_per_task=1), init
        ),
        "taskRetentionDays=7": this_design(prod, measured, dataclasses.replace(load, retention_days=7), init),
        "no delayed tasks": this_design(
            prod, measured, dataclasses.replace(load, short_delay_share=0.0, long_delay_share=0.0), init
        ),
        "half the tasks delayed over 15 minutes": this_design(
            prod, measured, dataclasses.replace(load, short_delay_share=0.0, long_delay_share=0.5), init
        ),
        "taskRetentionDays=0 (kept for ever; first year's average)": this_design(
            prod, measured, dataclasses.replace(load, retention_days=0), init
        ),
    }
    for name, parts in sorted(levers.items(), key=lambda pair: sum(pair[1].values())):
        print(
            f"  {name:<58} ${sum(parts.values()) - sum(base.values()):+6.2f}  {LEVERS[name]}  "
            f"({_lines(base, parts)})"
        )
    print(
        "  lastError folded into the next claim: not possible: a retried Task state gets its first "
        "input again ($$.State.RetryCount, not the error), so the next claim cannot know the error"
    )
    print(f"\n{steady_title}: ${sum(designs[steady_title].values()):.2f} per 1M tasks")
    print(
        f"\nprod defaults: ${sum(base.values()):.2f} per 1M tasks "
        f"({load.failure_rate:.0%} failure, {args.payload_kb:g} KiB payload)"
    )


if __name__ == "__main__":
    main()
