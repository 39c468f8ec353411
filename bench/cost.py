"""Cost per 1M tasks on AWS, this design next to the Node.js version's (SQS redelivery retries, no
state machine), from the synthesized templates, the ASL's retry policy, a measured run of the
local stack (bench/measured.json: ``python -m bench.measure``), prices (bench/prices.json) and
assumptions (bench/assumptions.json). Each design is a table of line items, each printed as
quantity x unit price = dollars; every input is printed with its source. docs/BENCHMARKS.md.

Usage: python -m bench.cost [--measured FILE | --measure-tasks N] [--failure-rate 0.3] [--payload-kb 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from bench import billing, measure
from bench.billing import MILLION, A, Line, total
from bench.measure import ExecutionSample, FunctionFigures, Measured
from functions.common.flow_control import expected_rechecks
from functions.common.tasks_table import COMPRESS_FROM_BYTES, COMPRESSED_PAYLOAD_ATTRIBUTE
from functions.common.tasks_table.codec import INLINE_RESERVE_BYTES, WRITE_UNIT_BYTES
from infra.names import Function
from infra.spec import DISPATCH_BATCH_SIZE, MONITOR_BATCH_SIZE, QueueTrigger, ScheduleTrigger, trigger_of
from infra.stage_config import PRODUCTION_TASK_RETENTION_DAYS
from infra.synth import functions as template_functions
from infra.synth import resources, synthesized_templates
from infra.workflow_definition import retry_policy

GB, SECONDS_A_MONTH = 1e9, 30 * 24 * 3600


@dataclass(frozen=True)
class PricedDeployment:
    """What a synthesized template deploys (``priced``), and the options the levers change."""

    memory_mb: dict[Function, int]
    workflow_log_level: str
    execution_data: bool
    function_log_level: str
    access_log_format: str
    system_log_level: str = "INFO"
    """Lambda's own START/END/REPORT lines: written at INFO, dropped at WARN."""
    alarm_metrics: int = 0
    """The metrics the alarms read (a metric-math alarm bills each)."""
    dashboards: int = 0
    log_retention_days: int = 30
    traced: frozenset[Function] = frozenset(Function)
    """Active tracing: each samples the invocations no upstream trace decided for."""
    workflow_log_class: str = "STANDARD"
    capacity: str = "on-demand"
    """``provisioned``: table and index capacity, auto-scaled to ``utilization``."""
    utilization: float = 0.7
    repeated_metrics: int = 0
    """Custom metrics repeating an AWS metric: a month each, an EMF line per dispatch batch and
    per process invocation."""


@dataclass(frozen=True)
class Load:
    tasks_per_second: float = dataclasses.field(default_factory=lambda: A("load.tasks_per_second"))
    failure_rate: float = measure.FAILURE_RATE
    payload_bytes: float = 1024.0
    replay_share: float = dataclasses.field(default_factory=lambda: A("load.replay_share"))
    duplicate_share: float = dataclasses.field(default_factory=lambda: A("load.duplicate_share"))
    gets_per_task: float = 0.0
    dispatch_window_seconds: float = trigger_of(Function.DISPATCH, QueueTrigger).batching_window_seconds
    short_delay_share: float = dataclasses.field(default_factory=lambda: A("load.short_delay_share"))
    long_delay_share: float = dataclasses.field(default_factory=lambda: A("load.long_delay_share"))
    retention_days: float = PRODUCTION_TASK_RETENTION_DAYS
    retry_wait_scale: float = 1.0
    inline: bool | None = None
    """Whether a body lives in its record: None applies the table's rule (``sizes``)."""
    payload_compression: float | None = None
    """Stored bytes per JSON byte: None takes the ratio measured on the sample bodies."""
    work_ms: float = dataclasses.field(default_factory=lambda: A("load.work_ms"))
    recurring_share: float = dataclasses.field(default_factory=lambda: A("load.recurring_share"))
    """Tasks a recurring schedule's firings submit (functions/usecases/recurring.py)."""
    registered_share: float = dataclasses.field(default_factory=lambda: A("load.registered_share"))
    limited_share: float = dataclasses.field(default_factory=lambda: A("load.limited_share"))
    """Tasks a concurrency limit governs (README, "Flow control limits")."""
    limit_wait_seconds: float = dataclasses.field(default_factory=lambda: A("load.limit_wait_seconds"))

    @property
    def rechecks(self) -> float:
        """Rechecks per task: a limited task's, each an SQS send, receive and delete, a dispatch
        record, and two strongly consistent reads (its status, its keys' items)."""
        return self.limited_share * expected_rechecks(self.limit_wait_seconds)

    """Tasks of a registered type (README, "Your own task types"): the user's function runs each
    attempt, the process function claims the task and records the result."""

    @property
    def months_stored(self) -> float:
        """A task's items stay the retention plus TTL's deletion lag; kept for ever (0), the first
        year's average."""
        if self.retention_days <= 0:
            return A("dynamodb.kept_forever_months")
        return (self.retention_days + A("dynamodb.ttl_deletion_lag_days")) * 86_400 / SECONDS_A_MONTH


@dataclass(frozen=True)
class Mix:
    """Expected events per task at a failure rate, from the ASL's retry policy."""

    failure_rate: float
    attempts: float
    exhausted: float

    @classmethod
    def at(cls, failure_rate: float) -> Mix:
        total = retry_policy().total_attempts
        return cls(failure_rate, sum(failure_rate**k for k in range(total)), failure_rate**total)

    @property
    def failed_attempts(self) -> float:
        return self.attempts - (1 - self.exhausted)

    def classes(self) -> dict[tuple[int, bool], float]:
        """Each kind of execution, (attempts, caught), with its probability."""
        total, p = retry_policy().total_attempts, self.failure_rate
        return {(k, False): p ** (k - 1) * (1 - p) for k in range(1, total + 1)} | {(total, True): p**total}

    def logged_events(self, level: str, events_at_all: float) -> float:
        if level == "ALL":
            return events_at_all
        if level == "ERROR":
            return self.failed_attempts + self.exhausted  # each TaskFailed, and ExecutionFailed
        return self.exhausted if level == "FATAL" else 0.0


@dataclass(frozen=True)
class Sizes:
    record: float
    """A record as it ends SUCCEEDED (its body included when inline)."""
    failed_record: float
    payload_item: float
    inline: bool = False


def stored_payload_bytes(payload_bytes: float, compression: float) -> float:
    """The stored body: compressed from ``COMPRESS_FROM_BYTES`` of JSON, as the table writes it."""
    return payload_bytes * min(compression, 1.0) if payload_bytes >= COMPRESS_FROM_BYTES else payload_bytes


def sizes(m: Measured, load: Load) -> Sizes:
    """Inline when the new record with its stored body and the reserve fits one write unit (the
    table's rule), unless ``load.inline`` says."""
    ratio = m.payload_compression if load.payload_compression is None else load.payload_compression
    body = stored_payload_bytes(load.payload_bytes, ratio) + len(COMPRESSED_PAYLOAD_ATTRIBUTE)
    fits = m.new_record_bytes + body + INLINE_RESERVE_BYTES <= WRITE_UNIT_BYTES
    inline = fits if load.inline is None else load.inline
    extra = body if inline else 0.0
    item = m.payload_item_overhead_bytes + body - len(COMPRESSED_PAYLOAD_ATTRIBUTE)
    return Sizes(m.succeeded_record_bytes + extra, m.failed_record_bytes + extra, item, inline)


TABLE, BY_PHASE, BY_RUN_AT = "table", "byPhase", "byRunAt"
SCHEDULES, BY_SCHEDULE = "schedules", "bySchedule"
LIMITS = "limits"
"""Where a write lands: each has its own throughput (bench/capacity.py), one bill (here)."""


def write_units_by_target(item: Sizes, mix: Mix, load: Load) -> dict[str, dict[str, float]]:
    """Write units per task, by write and by where they land. The keys-only byPhase index: an
    entry written when a task enters (1), moved when it leaves ACTIVE (delete + put: 2); byRunAt
    likewise for a delayed task (in, out). A refused conditional write still consumes the units of
    the item's size."""
    record, failed = billing.write_units(item.record), billing.write_units(item.failed_record)
    payload = 0 if item.inline else billing.write_units(item.payload_item)
    delayed, done = load.short_delay_share + load.long_delay_share, 1 - mix.exhausted
    return {
        "submit: record (+ payload item) + index entry": {TABLE: payload + record, BY_PHASE: 1},
        "claims (one per attempt)": {TABLE: mix.attempts * record},
        "attempt errors (lastError)": {TABLE: mix.failed_attempts * record},
        "success (+ index move)": {TABLE: done * record, BY_PHASE: done * 2},
        "MarkFailed (+ index move) and dead-lettered": {
            TABLE: mix.exhausted * 2 * failed,
            BY_PHASE: mix.exhausted * 2,
        },
        "the payload item's expiry (retention)": {TABLE: payload if load.retention_days > 0 else 0.0},
        "refused replays and duplicate claims": {
            TABLE: load.replay_share * (payload + record) + load.duplicate_share * record
        },
        # The firing's claim on its schedule's item (which holds the task's body), and the task's
        # keys-only bySchedule entry (written once: its keys never change).
        "a recurring firing: its claim, the bySchedule entry": {
            SCHEDULES: load.recurring_share * billing.write_units(schedule_item_bytes(load)),
            BY_SCHEDULE: load.recurring_share,
        },
        # A limited task's start writes its keys' item (the slot taken), its end writes it again.
        "flow control: a slot taken and given back": {LIMITS: load.limited_share * 2},
        # byRunAt entry (1), the promotion (1) moving the byPhase entry to ACTIVE (2), byRunAt gone (1)
        "scheduled: due-index entry, promotion (+ index moves)": {
            TABLE: delayed * record,
            BY_PHASE: delayed * 2,
            BY_RUN_AT: delayed * 2,
        },
    }


def writes_per_task(item: Sizes, mix: Mix, load: Load) -> dict[str, float]:
    """Write units per task, by write (what the bill counts)."""
    return {what: sum(units.values()) for what, units in write_units_by_target(item, mix, load).items()}


def writes_by_target(item: Sizes, mix: Mix, load: Load) -> dict[str, float]:
    """Write units per task, by where they land (each has its own throughput)."""
    totals: dict[str, float] = {}
    for units in write_units_by_target(item, mix, load).values():
        for target, n in units.items():
            totals[target] = totals.get(target, 0.0) + n
    return totals


def schedule_item_bytes(load: Load) -> float:
    """A schedule's item: the task's body and the schedule's own fields."""
    return load.payload_bytes + A("dynamodb.schedule_item_extra_bytes")


def reads_per_task(item: Sizes, mix: Mix, load: Load) -> dict[str, float]:
    """Read units per task, by read (the schedules table's: a firing's)."""
    return {
        # Strongly consistent: a read unit per 4 KB of its item; overlap skip: the last task's status.
        "a recurring firing: its schedule, the last task's status": load.recurring_share
        * (math.ceil(schedule_item_bytes(load) / 4096) + 1),
        "dispatch's BatchGetItem, per message": 1 + load.duplicate_share + load.rechecks,
        "flow control: the keys' items, per check": load.limited_share + load.rechecks,
        "the payload item, eventually consistent": 0.0 if item.inline else 0.5 * mix.attempts,
        "GET: the record (and the payload item)": (1 if item.inline else 2) * load.gets_per_task,
    }


def storage_bytes_per_task(item: Sizes) -> float:
    """Its record, its payload item (unless inline) and its index entry."""
    overhead, entry = A("dynamodb.item_overhead_bytes"), A("dynamodb.index_entry_bytes")
    return item.record + entry + (overhead if item.inline else item.payload_item + 2 * overhead)


def lambda_ms(figures: FunctionFigures) -> float:
    """An invocation on AWS: the handler's own time measured locally, plus a stated latency for
    each AWS call it made (in place of the emulator's round trip)."""
    known = {"dynamodb", "sqs", "stepfunctions"}
    return figures.own_ms_per_invocation + sum(
        count / figures.invocations * A(f"aws_call_ms.{service if service in known else 'other'}")
        for service, count in figures.calls.items()
    )


def process_invocation_ms(m: Measured, load: Load, item: Sizes) -> float:
    """A process invocation on AWS: measured, the task's own work, and the payload read that a
    body kept in its own item costs (the run measured inline bodies)."""
    process_ms = lambda_ms(m.functions[Function.PROCESS]) + load.work_ms
    if not item.inline and m.inline_share > 0:
        process_ms += A("aws_call_ms.dynamodb")
    return process_ms


def batch_ms(figures: FunctionFigures, batch: float) -> float:
    """An invocation with ``batch`` records (an upper bound: the fixed part counted per record)."""
    return lambda_ms(figures) * figures.per_record() * batch


def execution_seconds(sample: ExecutionSample, process_ms: float, wait_scale: float = 1.0) -> float:
    """A measured execution on AWS: its attempts at the process function's AWS duration plus each
    Lambda task's overhead, the waits it drew, and the Catch path if it ran."""
    attempts = sample.attempts * (process_ms + A("workflow.lambda_task_overhead_ms")) / 1000
    catch = A("workflow.catch_path_ms") / 1000 if sample.caught else 0.0
    return attempts + sum(sample.waits) * wait_scale + catch


class ExecutionFigures(NamedTuple):
    billed_seconds: float
    events: float
    unobserved: tuple[tuple[int, bool], ...]
    """Kinds the run did not produce, estimated (mean waits; events per retry and catch path)."""


def executions(
    m: Measured, process_ms: float, failure_rate: float, wait_scale: float = 1.0
) -> ExecutionFigures:
    """The measured executions by kind, each billed in whole steps on its own, weighted by the
    kind's probability at ``failure_rate``."""
    by_kind: dict[tuple[int, bool], list[ExecutionSample]] = {}
    for sample in m.executions:
        by_kind.setdefault((sample.attempts, sample.caught), []).append(sample)
    base_events = statistics.fmean(s.events for s in by_kind.get((1, False), m.executions))
    billed = events = 0.0
    unobserved = []
    for (attempts, caught), probability in Mix(failure_rate, 0, 0).classes().items():
        samples = by_kind.get((attempts, caught), [])
        if probability and not samples:
            unobserved.append((attempts, caught))
            extra = A("workflow.events_per_retry") * (attempts - 1) + A("workflow.catch_path_events") * caught
            waits = tuple(retry_policy().ceiling(retry) / 2 for retry in range(1, attempts))
            samples = [ExecutionSample(attempts, caught, round(base_events + extra), waits)]
        for sample in samples:
            weight = probability / len(samples)
            billed += weight * billing.express_billed_seconds(
                execution_seconds(sample, process_ms, wait_scale)
            )
            events += weight * sample.events
    return ExecutionFigures(billed, events, tuple(unobserved))


WORKFLOW_LOGS = "CloudWatch Logs: workflow"
FLOOR_LINES = ("API Gateway", "Step Functions", "DynamoDB writes", "SQS", "Lambda requests", WORKFLOW_LOGS)
"""What no setting removes while every feature stays: a request and an execution per task (its
waits included), a listable, claimable record's writes, the queue, an invocation per step, and the
history events the console draws."""


def feature_floor(lines: Iterable[Line]) -> float:
    return total(line for line in lines if line.service in FLOOR_LINES)


def log_bytes(d: PricedDeployment, figures: FunctionFigures, per: float = 1.0) -> float:
    """An invocation's log bytes for ``per`` invocations' worth of records: the function's lines
    at its level, and Lambda's own unless the system level drops them (WARN)."""
    handler = (figures.log_bytes_at(d.function_log_level) - measure.PLATFORM_LOG_BYTES) * per
    return handler + (measure.PLATFORM_LOG_BYTES if d.system_log_level in {"DEBUG", "INFO"} else 0.0)


GB_S = "lambda_gb_s"


class Use(NamedTuple):
    """A function's use per 1M tasks: invocations, ms and log bytes each, invocations a second."""

    calls: float
    ms: float
    log: float
    rate: float


def _function(d: PricedDeployment, m: Measured, f: Function, use: Use) -> list[Line]:
    gb, name, (calls, ms, log, rate) = d.memory_mb[f] / 1024, f.value, use
    init = m.init_seconds.get(f, 0.0) + A("lambda.runtime_init_ms") / 1000
    colds = calls * billing.cold_start_share(rate)
    return [
        Line("Lambda requests", f"{name} invocations", calls, "lambda_requests"),
        Line("Lambda duration", f"{name}: {ms:.1f} ms at {gb:g} GB", calls * gb * ms / 1000, GB_S),
        Line("Lambda INIT", f"{name}: {colds:,.0f} of {init * 1000:.0f} ms", colds * gb * init, GB_S),
        Line("CloudWatch Logs", f"{name}: {log:.0f} B an invocation", calls * log / GB, "logs_gb"),
    ]


def _registered(d: PricedDeployment, m: Measured, load: Load, mix: Mix) -> list[Line]:
    """A registered type's tasks: the process function's claim and result invocations, and the
    user's function per attempt (at the assumed memory and the load's work time: theirs to set)."""
    registered = MILLION * load.registered_share
    bookkeeping = registered * (2 + load.duplicate_share)
    gb, ms = d.memory_mb[Function.PROCESS] / 1024, lambda_ms(m.functions[Function.PROCESS])
    attempts = registered * mix.attempts
    user_gb = A("registered.function_memory_mb") / 1024
    return [
        Line(
            "Lambda requests", "process: a registered type's claim and result", bookkeeping, "lambda_requests"
        ),
        Line(
            "Lambda duration",
            f"process claim/result: {ms:.1f} ms at {gb:g} GB",
            bookkeeping * gb * ms / 1000,
            GB_S,
        ),
        Line("Lambda requests", "your function: one invocation an attempt", attempts, "lambda_requests"),
        Line(
            "Lambda duration",
            f"your function: {load.work_ms:g} ms at {user_gb:g} GB an attempt",
            attempts * user_gb * load.work_ms / 1000,
            GB_S,
        ),
    ]


def _front(d: PricedDeployment, m: Measured, load: Load) -> list[Line]:
    """Both designs: an API request per submit, replay and GET, its access-log line, the api
    function, and the answer's bytes out."""
    requests = MILLION * (1 + load.replay_share + load.gets_per_task)
    answer = m.submit_response_bytes + A("api.response_overhead_bytes")
    get = answer + load.payload_bytes + m.succeeded_record_bytes
    out = MILLION * ((1 + load.replay_share) * answer + load.gets_per_task * get) / GB
    access = requests * billing.access_log_bytes(d.access_log_format) / GB
    api = m.functions[Function.API]
    use = Use(requests, lambda_ms(api), log_bytes(d, api), load.tasks_per_second)
    return [
        Line("API Gateway", "HTTP API requests", requests, "api_requests"),
        Line("CloudWatch Logs", "access log lines", access, "logs_gb"),
        Line("Data transfer out", "answers", out, "transfer_out_gb"),
        *_function(d, m, Function.API, use),
    ]


def _monitor(d: PricedDeployment, m: Measured, load: Load, mix: Mix) -> list[Line]:
    """Both designs: the dead letters, in monitor batches."""
    rate, dead = load.tasks_per_second * mix.exhausted, MILLION * mix.exhausted
    batch = billing.batch_size(rate, 0, MONITOR_BATCH_SIZE)
    monitor = m.functions[Function.MONITOR]
    log = log_bytes(d, monitor, monitor.per_record() * batch)
    traces = billing.trace_roots([(dead / batch, rate / batch)]) if Function.MONITOR in d.traced else 0.0
    sqs = dead * (1 + billing.receives_per_message(rate)) + dead / batch
    return [
        *_function(d, m, Function.MONITOR, Use(dead / batch, batch_ms(monitor, batch), log, rate)),
        Line("SQS", "DLQ: sends, receives, deletes", sqs, "sqs_requests"),
        Line("X-Ray", "monitor batches (an SQS consumer starts a trace)", traces, "traces"),
    ]


def _monthly(d: PricedDeployment, m: Measured, load: Load, lines: list[Line]) -> list[Line]:
    """Monthly charges spread over the month's tasks, and the month's logs stored compressed
    for the log groups' retention."""
    months = MILLION / (load.tasks_per_second * SECONDS_A_MONTH)
    metrics = len(m.metric_names) + d.repeated_metrics
    stored = sum(line.quantity for line in lines if line.service.startswith("CloudWatch Logs"))
    stored *= A("logs.archive_ratio") * d.log_retention_days / 30
    return [
        Line("CloudWatch metrics (EMF)", f"{metrics} custom", metrics * months, "metric_months"),
        Line("CloudWatch alarms", f"{d.alarm_metrics}", d.alarm_metrics * months, "alarm_metric_months"),
        Line("CloudWatch dashboard", f"{d.dashboards}", d.dashboards * months, "dashboard_months"),
        Line("CloudWatch Logs storage", f"{d.log_retention_days} days", stored, "stored_logs_gb_months"),
    ]


def _dynamodb(d: PricedDeployment, units: dict[str, float], kind: str) -> list[Line]:
    """Request units per task: on demand, or provisioned unit-hours used at ``utilization``."""
    service = f"DynamoDB {kind}s"
    if d.capacity == "provisioned":
        hours, price = MILLION / 3600 / d.utilization, f"dynamodb_{kind[0]}cu_hours"
        return [Line(service, f"{what} (unit-hours)", n * hours, price) for what, n in units.items()]
    return [Line(service, what, n * MILLION, f"dynamodb_{kind}_units") for what, n in units.items()]


def _storage(bytes_per_task: float, load: Load) -> list[Line]:
    gb_months = MILLION * bytes_per_task / GB * load.months_stored
    what = f"{bytes_per_task:.0f} B a task, {load.months_stored:.2f} months"
    return [
        Line("DynamoDB storage + PITR", what, gb_months, "dynamodb_gb_months"),
        Line("DynamoDB storage + PITR", f"{what}, backed up", gb_months, "pitr_gb_months"),
    ]


def _idle_polls(load: Load) -> Line:
    polls = 2 * A("sqs.pollers") / A("sqs.long_poll_seconds") / load.tasks_per_second * MILLION
    return Line("SQS", "idle long polls, both queues", polls, "sqs_requests")


def this_design(d: PricedDeployment, m: Measured, load: Load) -> list[Line]:
    n, mix, rate, item = MILLION, Mix.at(load.failure_rate), load.tasks_per_second, sizes(m, load)
    api, dispatch = m.functions[Function.API], m.functions[Function.DISPATCH]
    process, reconcile = m.functions[Function.PROCESS], m.functions[Function.RECONCILE]
    emf = api.log_bytes_by_level.get("METRICS", 0.0) / api.invocations if d.repeated_metrics else 0.0
    messages = n * (1 + load.duplicate_share)
    rechecks = n * load.rechecks
    batch = billing.batch_size(rate, load.dispatch_window_seconds, DISPATCH_BATCH_SIZE)
    process_ms = process_invocation_ms(m, load, item)
    registered = n * load.registered_share
    # A registered type's attempts run in the user's function; its execution invokes the process
    # function twice (the claim, the result), and a duplicate execution once (its refused claim).
    attempts = (n - registered) * (mix.attempts + load.duplicate_share)
    period = trigger_of(Function.RECONCILE, ScheduleTrigger).every_minutes * 60
    sweeps = n / (rate * period)
    dispatch_log = log_bytes(d, dispatch, dispatch.per_record() * batch) + emf
    uses = {
        Function.DISPATCH: Use(
            (messages + rechecks) / batch, batch_ms(dispatch, batch), dispatch_log, rate / batch
        ),
        Function.PROCESS: Use(attempts, process_ms, log_bytes(d, process) + emf, rate * mix.attempts),
        Function.RECONCILE: Use(sweeps, lambda_ms(reconcile), log_bytes(d, reconcile), 1 / period),
    }
    lines = [*_front(d, m, load), *_monitor(d, m, load, mix)]
    lines += [line for f, use in uses.items() for line in _function(d, m, f, use)]
    lines += _registered(d, m, load, mix)
    early = n * load.long_delay_share  # a schedule fires up to 2 min early: its message goes back once
    firings = n * load.recurring_share  # each firing's message, then its task's
    receives = billing.receives_per_message(rate)
    lines += [
        Line("SQS", "sends (and an early scheduled message's second)", n + early, "sqs_requests"),
        Line("SQS", f"receives ({receives:.2f} a message)", (messages + early) * receives, "sqs_requests"),
        Line("SQS", f"deletes (batches of {batch:.1f})", (messages + early) / batch, "sqs_requests"),
        _idle_polls(load),
        Line(
            "SQS",
            "flow control: a waiting task's rechecks (send, receive, delete)",
            rechecks * (1 + receives + 1 / batch),
            "sqs_requests",
        ),
        Line("EventBridge Scheduler", "a schedule per long-delayed task", early, "scheduler_invocations"),
        Line("EventBridge Scheduler", "a recurring schedule's firings", firings, "scheduler_invocations"),
        Line(
            "SQS",
            "a firing's message: send, receive, delete",
            firings * (1 + receives + 1 / batch),
            "sqs_requests",
        ),
    ]
    reads = reads_per_task(item, mix, load)
    lines += _dynamodb(d, writes_per_task(item, mix, load), "write") + _dynamodb(d, reads, "read")
    lines += _storage(storage_bytes_per_task(item), load)
    per = executions(m, process_ms, load.failure_rate, load.retry_wait_scale)
    duplicate = billing.express_billed_seconds(
        execution_seconds(ExecutionSample(1, False, 0, ()), process_ms)
    )
    gb_s = A("express.billed_gb") * n * (per.billed_seconds + load.duplicate_share * duplicate)
    event_bytes = m.event_bytes if d.execution_data else m.event_bytes_without_data
    events = messages * mix.logged_events(d.workflow_log_level, per.events)
    logs = "logs_ia_gb" if d.workflow_log_class == "INFREQUENT_ACCESS" else "logs_gb"
    requests = n * (1 + load.replay_share + load.gets_per_task)
    batches = (
        billing.trace_roots([(messages / batch, rate / batch)]) if Function.DISPATCH in d.traced else 0.0
    )
    billed = f"{per.billed_seconds:.3f} s billed an execution"
    return [
        *lines,
        Line("Step Functions", "Express executions", messages, "express_requests"),
        Line("Step Functions", billed, gb_s, "express_gb_s"),
        Line(
            WORKFLOW_LOGS,
            f"{events / messages:.2f} events of {event_bytes:.0f} B",
            events * event_bytes / GB,
            logs,
        ),
        Line(
            "X-Ray",
            "api requests (executions join their trace)",
            billing.trace_roots([(requests, rate * requests / n)]),
            "traces",
        ),
        Line("X-Ray", "dispatch batches (an SQS consumer starts a trace)", batches, "traces"),
        Line("X-Ray", "scheduled sweeps", billing.trace_roots([(sweeps, 1 / period)]), "traces"),
    ]


def node_design(d: PricedDeployment, m: Measured, load: Load) -> list[Line]:
    """API -> SQS -> one worker that retries through SQS redelivery (a failed message comes back
    after its visibility timeout, set with ChangeMessageVisibility for the backoff), one record
    per task with its JSON body and no index, a DLQ and its monitor. Priced on the same work with
    the same settings; its worker priced like our process function."""
    n, mix, rate = MILLION, Mix.at(load.failure_rate), load.tasks_per_second
    item = billing.write_units(m.succeeded_record_bytes + load.payload_bytes + A("node.body_overhead_bytes"))
    batch = billing.batch_size(rate, load.dispatch_window_seconds, DISPATCH_BATCH_SIZE)
    retries = n * (mix.attempts - 1)
    calls = n / batch + retries  # a failed message comes back alone
    process = m.functions[Function.PROCESS]
    ms = lambda_ms(process) + load.work_ms + A("aws_call_ms.sqs") * (mix.attempts - 1) / mix.attempts
    stored = m.succeeded_record_bytes + load.payload_bytes + A("dynamodb.item_overhead_bytes")
    traces = billing.trace_roots([(n, rate), (calls, rate * calls / n)])
    return [
        *_front(d, m, load),
        *_function(d, m, Function.PROCESS, Use(calls, ms, log_bytes(d, process), rate)),
        *_monitor(d, m, load, mix),
        Line("SQS", "sends", n, "sqs_requests"),
        Line("SQS", "receives", n * mix.attempts * billing.receives_per_message(rate), "sqs_requests"),
        Line("SQS", "deletes, and a ChangeMessageVisibility a retry", n / batch + retries, "sqs_requests"),
        _idle_polls(load),
        *_dynamodb(d, {"create, a status per attempt, the final status": item * (mix.attempts + 2)}, "write"),
        *_dynamodb(d, {"GET": load.gets_per_task}, "read"),
        *_storage(stored, load),
        Line("X-Ray", "api requests and worker invocations", traces, "traces"),
    ]


Design = Callable[[PricedDeployment, Measured, Load], list[Line]]


def with_monthly(design: Design, d: PricedDeployment, m: Measured, load: Load) -> list[Line]:
    """A design's lines per 1M tasks and its monthly lines, spread over the month's tasks."""
    lines = design(d, m, load)
    return lines + _monthly(d, m, load, lines)


def priced(document: dict[str, Any]) -> PricedDeployment:
    """A template ``make synth`` wrote, read for sizes and settings."""
    properties = resources(document, "AWS::Lambda::Function")
    functions = {function: properties[key] for key, function in template_functions(document).items()}
    groups = resources(document, "AWS::Logs::LogGroup").values()
    traced = (f for f, p in functions.items() if p.get("TracingConfig", {}).get("Mode") == "Active")
    [machine] = resources(document, "AWS::StepFunctions::StateMachine").values()
    [stage] = resources(document, "AWS::ApiGatewayV2::Stage").values()
    alarms = resources(document, "AWS::CloudWatch::Alarm").values()
    any_function = next(iter(functions.values()))
    return PricedDeployment(
        memory_mb={f: int(p["MemorySize"]) for f, p in functions.items()},
        workflow_log_level=machine["LoggingConfiguration"]["Level"],
        execution_data=bool(machine["LoggingConfiguration"]["IncludeExecutionData"]),
        function_log_level=any_function["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"],
        access_log_format=stage["AccessLogSettings"]["Format"],
        system_log_level=any_function.get("LoggingConfig", {}).get("SystemLogLevel", "INFO"),
        alarm_metrics=sum(max(1, sum("MetricStat" in x for x in p.get("Metrics", []))) for p in alarms),
        dashboards=len(resources(document, "AWS::CloudWatch::Dashboard")),
        log_retention_days=max(
            (int(p["RetentionInDays"]) for p in groups if "RetentionInDays" in p), default=30
        ),
        traced=frozenset(traced),
    )


@dataclass(frozen=True)
class Lever:
    """One change to prod defaults (bench/levers.json): what it changes for a user, its overrides."""

    name: str
    effect: str
    deployment: dict[str, Any]
    load: dict[str, Any]

    def lines(self, base: PricedDeployment, m: Measured, load: Load) -> list[Line]:
        overrides = dict(self.deployment)
        if "traced" in overrides:
            overrides["traced"] = frozenset(map(Function, overrides["traced"]))
        deployment, at = dataclasses.replace(base, **overrides), dataclasses.replace(load, **self.load)
        return with_monthly(this_design, deployment, m, at)


LEVERS = tuple(Lever(**entry) for entry in json.loads((billing.BENCH / "levers.json").read_text())["levers"])


def _inputs(m: Measured, prod: PricedDeployment, load: Load) -> list[str]:
    item, mix = sizes(m, load), Mix.at(load.failure_rate)
    per = executions(m, lambda_ms(m.functions[Function.PROCESS]), load.failure_rate)
    memory = ", ".join(f"{f.value} {mb} MB" for f, mb in sorted(prod.memory_mb.items()))
    unobserved = f" (estimated for unobserved kinds {per.unobserved})" if per.unobserved else ""
    rows = [
        f"\ninputs [template] (make synth, the ASL): {memory}; prod: logs {prod.function_log_level}, "
        f"Lambda system {prod.system_log_level}, workflow {prod.workflow_log_level}, execution data "
        f"{prod.execution_data}, kept {prod.log_retention_days} days; {prod.alarm_metrics} alarm metrics, "
        f"{prod.dashboards} dashboard; traced (Active): {', '.join(sorted(f.value for f in prod.traced))}; "
        f"{retry_policy()}; dispatch window {load.dispatch_window_seconds:g} s",
        *m.describe(),
        f"  {len(m.executions)} executions: {per.billed_seconds:.3f} s billed, {per.events:.2f} events each"
        f"{unobserved}; record {item.record:.0f} B, body {'inline' if item.inline else 'in a payload item'}; "
        f"write units a task {sum(writes_per_task(item, mix, load).values()):.2f}",
    ]
    on_aws = (f"{f.value} {lambda_ms(figures):.1f} ms" for f, figures in sorted(m.functions.items()))
    return [
        *rows,
        f"  an invocation on AWS (own time, the calls at the latencies below): {', '.join(on_aws)}",
    ]


def report(m: Measured, dev: PricedDeployment, prod: PricedDeployment, load: Load) -> list[str]:
    """Every figure, computed before the inputs are printed: they are exactly the ones used."""
    steady = dataclasses.replace(prod, capacity="provisioned")
    base, provisioned = with_monthly(this_design, prod, m, load), with_monthly(this_design, steady, m, load)
    month, node = load.tasks_per_second * SECONDS_A_MONTH / 1e6, with_monthly(node_design, prod, m, load)
    out = [
        f"load {load.tasks_per_second:g} tasks/s ({month:.1f}M a month), failure rate {load.failure_rate}, "
        f"payload {load.payload_bytes / 1024:g} KiB; us-east-1 list prices",
        *billing.summary("dev defaults", with_monthly(this_design, dev, m, load)),
        *billing.summary("prod defaults", base),
        "  line items:",
        *billing.items(base),
        *billing.summary("prod, provisioned-capacity option (auto-scaled at 70 %)", provisioned),
        "  line items that change:",
        *billing.items([line for line in provisioned if line.price.endswith("cu_hours")]),
        *billing.summary("the Node.js version's design, same settings", node),
        f"\nFloor with every feature kept ({', '.join(FLOOR_LINES)}): prod ${feature_floor(base):.2f}, "
        f"provisioned ${feature_floor(provisioned):.2f}",
        "\nBy rate (X-Ray's reservoir, idle polls and the monthly lines do not grow with the tasks):",
    ]
    for rate in (1.0, 10.0, 100.0):
        at = dataclasses.replace(load, tasks_per_second=rate)
        at_prod, at_steady = (total(with_monthly(this_design, d, m, at)) for d in (prod, steady))
        out.append(f"  {rate:g} task/s: prod ${at_prod:.2f}, provisioned ${at_steady:.2f} per 1M tasks")
    out.append("\nLevers, one at a time on prod defaults (bench/levers.json): $, what a user sees, lines")
    moved = sorted(((lever, lever.lines(prod, m, load)) for lever in LEVERS), key=lambda pair: total(pair[1]))
    out += [
        f"  {total(ls) - total(base):+6.2f}  {v.name}: {v.effect}  ({billing.moves(base, ls)})"
        for v, ls in moved
    ]
    out += [*_inputs(m, prod, load), "inputs [documented] and [assumed] (bench/assumptions.json):"]
    out += [f"  {A.describe(name)}" for name in sorted(A.used)]
    return [
        *out,
        f"\nprovisioned: ${total(provisioned):.2f} per 1M tasks",
        f"prod defaults: ${total(base):.2f} per 1M tasks ({load.failure_rate:.0%} failure, "
        f"{load.payload_bytes / 1024:g} KiB payload, {load.tasks_per_second:g} tasks/s)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measured", type=Path, default=measure.MEASURED_FILE, help="saved measurement")
    parser.add_argument("--measure-tasks", type=int, default=0, help="measure afresh with N tasks instead")
    parser.add_argument("--init-runs", type=int, default=3, help="with --measure-tasks: runs per init time")
    parser.add_argument("--failure-rate", type=float, default=Load.failure_rate)
    parser.add_argument("--payload-kb", type=float, default=Load.payload_bytes / 1024)
    parser.add_argument("--tasks-per-second", type=float, default=A("load.tasks_per_second"))
    args = parser.parse_args()
    load = Load(args.tasks_per_second, args.failure_rate, args.payload_kb * 1024)
    if args.measure_tasks:
        measured = measure.measure_all(args.measure_tasks, args.failure_rate, args.init_runs)
    elif args.measured.exists():
        measured = measure.load(args.measured)
    else:
        raise SystemExit(f"{args.measured} not found: python -m bench.measure writes it")
    with tempfile.TemporaryDirectory(prefix="ptm-cost-") as scratch:
        templates = synthesized_templates(["dev", "prod"], Path(scratch))
    print("\n".join(report(measured, priced(templates["dev"]), priced(templates["prod"]), load)))


if __name__ == "__main__":
    main()
