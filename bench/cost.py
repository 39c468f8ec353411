"""Cost per 1M tasks on AWS, from the synthesized template, the ASL's retry policy and
stated per-request assumptions, next to the SQS-retry design (SQS + Lambda retries, no state
machine). Prices and their date live in bench/prices.json.
Usage: python -m bench.cost [--failure-rate 0.3] [--payload-kb 1] [--log-level ALL] [--measure-tasks 150]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.measure import Measured, measure
from infra.spec import DISPATCH_BATCH_SIZE, MONITOR_BATCH_SIZE, Function
from infra.workflow_definition import retry_policy

PRICES = json.loads((Path(__file__).parent / "prices.json").read_text())
MILLION = 1_000_000

# What is measured (bench/measure.py, a run of the local stack in this process): handler
# durations, the bytes each function logs, the record's size, the execution-history events and
# their size with execution data. What is assumed: X-Ray records the default sampling
# (1 request/s + 5 %); Express bills 64 MB in 100 ms steps; at log level ERROR a workflow logs
# only its failure events, at FATAL only the execution's failure, at OFF nothing.
XRAY_SAMPLED = 0.05
EXPRESS_BILLED_GB = 0.0625  # 64 MB, the smallest Express memory increment
EXPRESS_BILLED_SECONDS = 0.1  # 100 ms increments


@dataclass(frozen=True)
class Template:
    memory_mb: dict[Function, int]
    log_level: str


def synthesize(log_level: str | None) -> Template:
    """The template ``cdk synth`` would write (cdk-nag included), read for sizes and settings."""
    from aws_cdk import App  # noqa: PLC0415 - CDK loads only for this script

    from infra.app import build  # noqa: PLC0415

    settings = json.loads(Path("cdk.json").read_text())["context"]
    app = App(
        context={**settings, **({"workflowLogLevel": log_level} if log_level else {})},
        outdir=tempfile.mkdtemp(),
    )
    stack = build(app)
    document: dict[str, Any] = app.synth().get_stack_by_name(stack.stack_name).template
    memory: dict[Function, int] = {}
    level = "ALL"
    for resource in document["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Function":
            function = Function(properties["FunctionName"].rsplit("-", 1)[-1])
            memory[function] = int(properties["MemorySize"])
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            level = properties["LoggingConfiguration"]["Level"]
    return Template(memory, level)


def _lambda(
    template: Template, function: Function, invocations: float, ms: float, log_bytes: float
) -> dict[str, float]:
    gb_seconds = invocations * template.memory_mb[function] / 1024 * ms / 1000
    return {
        "Lambda requests": invocations * PRICES["lambda_request_per_million"] / MILLION,
        "Lambda duration": gb_seconds * PRICES["lambda_gb_second_arm64"],
        "CloudWatch Logs": invocations * log_bytes / 1e9 * PRICES["cloudwatch_logs_ingestion_per_gb"],
    }


def _per_invocation(measured: Measured, function: Function) -> tuple[float, float]:
    figures = measured.functions[function]
    return figures.ms_per_invocation, figures.log_bytes_per_invocation


def _add(total: dict[str, float], part: dict[str, float]) -> None:
    for key, value in part.items():
        total[key] = total.get(key, 0.0) + value


@dataclass(frozen=True)
class Mix:
    """Expected events per task at a failure rate, from the ASL's retry policy."""

    attempts: float
    exhausted: float

    @classmethod
    def at(cls, failure_rate: float) -> Mix:
        policy = retry_policy()
        attempts = sum(failure_rate**k for k in range(policy.total_attempts))
        return cls(attempts, failure_rate**policy.total_attempts)

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


def write_units(record_bytes: float, mix: Mix) -> float:
    """Write units per task: the record (billed on its whole size, per 1 KiB) and the byStatus
    index (its items are a few hundred bytes: 1 unit per index write). A status change moves
    the item between index keys (2 index writes); changing only projected attributes rewrites
    it in place (1)."""
    item = math.ceil(record_bytes / 1024)
    status_change = item + 2
    in_place = item + 1
    return (
        item
        + 1  # create: the record, and its index item
        + status_change  # first claim: QUEUED -> RUNNING
        + (mix.attempts - 1) * in_place  # later claims (RUNNING, attempts and lease change)
        + mix.failed_attempts * in_place  # lastError after each failed attempt
        + (1 - mix.exhausted) * status_change  # RUNNING -> SUCCEEDED
        + mix.exhausted * (status_change + in_place)  # MarkFailed, then deadLetteredAt
    )


def this_design(
    template: Template, measured: Measured, failure_rate: float, payload_kb: float
) -> dict[str, float]:
    """Dollars per 1M tasks, by line item."""
    n, mix = MILLION, Mix.at(failure_rate)
    total: dict[str, float] = {}
    total["API Gateway"] = n * PRICES["api_gateway_http_per_million"] / MILLION
    _add(total, _lambda(template, Function.API, n, *_per_invocation(measured, Function.API)))
    dispatch_ms, dispatch_log = measured.functions[Function.DISPATCH].per_batch(DISPATCH_BATCH_SIZE)
    _add(total, _lambda(template, Function.DISPATCH, n / DISPATCH_BATCH_SIZE, dispatch_ms, dispatch_log))
    _add(
        total,
        _lambda(template, Function.PROCESS, n * mix.attempts, *_per_invocation(measured, Function.PROCESS)),
    )
    monitor_ms, monitor_log = measured.functions[Function.MONITOR].per_batch(1)
    _add(total, _lambda(template, Function.MONITOR, n * mix.exhausted, monitor_ms, monitor_log))
    sqs_requests = n * (1 + 2 / DISPATCH_BATCH_SIZE) + n * mix.exhausted * (1 + 2 / MONITOR_BATCH_SIZE)
    total["SQS"] = sqs_requests * PRICES["sqs_request_per_million"] / MILLION
    record_bytes = measured.record_overhead_bytes + payload_kb * 1024
    total["DynamoDB writes"] = (
        n * write_units(record_bytes, mix) * PRICES["dynamodb_write_request_unit_per_million"] / MILLION
    )
    total["DynamoDB reads"] = n * PRICES["dynamodb_read_request_unit_per_million"] / MILLION  # BatchGetItem
    total["Step Functions"] = n * PRICES["sfn_express_request_per_million"] / MILLION + n * (
        EXPRESS_BILLED_GB * EXPRESS_BILLED_SECONDS * math.ceil(mix.attempts) * PRICES["sfn_express_gb_second"]
    )
    total["CloudWatch Logs"] += (
        n
        * mix.logged_events(template.log_level)
        * measured.event_bytes
        / 1e9
        * PRICES["cloudwatch_logs_ingestion_per_gb"]
    )
    total["X-Ray"] = n * XRAY_SAMPLED * PRICES["xray_traces_recorded_per_million"] / MILLION
    return total


def sqs_retry_design(
    template: Template, measured: Measured, failure_rate: float, payload_kb: float
) -> dict[str, float]:
    """The SQS-retry design: API → SQS → one worker Lambda that retries through SQS redelivery, one record
    per task without an index. Its worker is priced like our process function."""
    n, mix = MILLION, Mix.at(failure_rate)
    item = math.ceil((measured.record_overhead_bytes + payload_kb * 1024) / 1024)
    total: dict[str, float] = {"API Gateway": n * PRICES["api_gateway_http_per_million"] / MILLION}
    _add(total, _lambda(template, Function.API, n, *_per_invocation(measured, Function.API)))
    # Failed messages come back alone after their visibility timeout: batches shrink to ~1.
    worker_invocations = n / DISPATCH_BATCH_SIZE + n * (mix.attempts - 1)
    ms, log_bytes = _per_invocation(measured, Function.PROCESS)
    _add(total, _lambda(template, Function.PROCESS, worker_invocations, ms, log_bytes))
    total["SQS"] = (
        (n + n * mix.attempts * 2 / DISPATCH_BATCH_SIZE + n * (mix.attempts - 1) * 2)
        * PRICES["sqs_request_per_million"]
        / MILLION
    )
    total["DynamoDB writes"] = (
        n * (item + mix.attempts * item + item) * PRICES["dynamodb_write_request_unit_per_million"] / MILLION
    )
    total["X-Ray"] = n * XRAY_SAMPLED * PRICES["xray_traces_recorded_per_million"] / MILLION
    return total


def _print(title: str, parts: dict[str, float]) -> float:
    total = sum(parts.values())
    print(f"\n{title}: ${total:,.2f} per 1M tasks")
    for name, dollars in sorted(parts.items(), key=lambda item: -item[1]):
        print(f"  {name:<18} ${dollars:8.2f}  {dollars / total:6.1%}")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--failure-rate", type=float, default=0.3)
    parser.add_argument("--payload-kb", type=float, default=1.0)
    parser.add_argument("--log-level", choices=["ALL", "ERROR", "FATAL", "OFF"], default=None)
    parser.add_argument("--measure-tasks", type=int, default=150, help="tasks run to measure the inputs")
    args = parser.parse_args()
    measured = measure(tasks=args.measure_tasks, failure_rate=args.failure_rate)
    template = synthesize(args.log_level)
    print(
        f"prices: {PRICES['region']}, {PRICES['date']} (bench/prices.json); payload {args.payload_kb} KiB; "
        f"memory {template.memory_mb[Function.PROCESS]} MB arm64; workflow log level {template.log_level}"
    )
    print(
        f"\nmeasured on the local stack ({measured.tasks} tasks at failure rate {measured.failure_rate}, "
        "one client; durations include the emulator's own latency, so they are upper bounds):"
    )
    for function, figures in sorted(measured.functions.items()):
        print(
            f"  {function.value:<10} {figures.invocations:5d} invocations  "
            f"{figures.ms_per_invocation:7.1f} ms  {figures.log_bytes_per_invocation:7.0f} log bytes each"
            + (f"  ({figures.records} records)" if figures.records != figures.invocations else "")
        )
    mix = Mix.at(measured.failure_rate)
    print(
        f"  record: {measured.record_overhead_bytes:.0f} bytes + payload; execution history: "
        f"{measured.events_per_task:.2f} events per task (model {mix.history_events():.2f}), "
        f"{measured.event_bytes:.0f} bytes per event with execution data"
    )
    units = write_units(measured.record_overhead_bytes + args.payload_kb * 1024, mix)
    print(f"  DynamoDB write units per task (model): {units:.1f}")
    _print("This design, happy path (failure rate 0)", this_design(template, measured, 0.0, args.payload_kb))
    _print(
        f"This design, failure rate {args.failure_rate}",
        this_design(template, measured, args.failure_rate, args.payload_kb),
    )
    _print(
        f"SQS-retry design without a state machine, failure rate {args.failure_rate}",
        sqs_retry_design(template, measured, args.failure_rate, args.payload_kb),
    )
    quieter = Template(template.memory_mb, "ERROR")
    _print(
        f"This design with workflowLogLevel=ERROR, failure rate {args.failure_rate}",
        this_design(quieter, measured, args.failure_rate, args.payload_kb),
    )
    _levers(template, measured, args.failure_rate, args.payload_kb)


def _levers(template: Template, measured: Measured, failure_rate: float, payload_kb: float) -> None:
    """One setting changed at a time, against the default at this failure rate."""
    base = sum(this_design(template, measured, failure_rate, payload_kb).values())
    small_payload = max(0.0, (1024 - measured.record_overhead_bytes) / 1024)
    levers = {
        "workflowLogLevel=ERROR": this_design(
            Template(template.memory_mb, "ERROR"), measured, failure_rate, payload_kb
        ),
        "workflowLogLevel=OFF": this_design(
            Template(template.memory_mb, "OFF"), measured, failure_rate, payload_kb
        ),
        f"payload {small_payload:.2f} KiB (record fits 1 KiB: 1 write unit)": this_design(
            template, measured, failure_rate, small_payload
        ),
        "payload 4 KiB": this_design(template, measured, failure_rate, 4.0),
        "memory 128 MB for every function": this_design(
            Template(dict.fromkeys(template.memory_mb, 128), template.log_level),
            measured,
            failure_rate,
            payload_kb,
        ),
    }
    print(f"\nWhat moves it (one setting at a time, from ${base:,.2f}):")
    for name, parts in sorted(levers.items(), key=lambda item: sum(item[1].values())):
        print(f"  {name:<52} ${sum(parts.values()) - base:+7.2f}")


if __name__ == "__main__":
    main()
