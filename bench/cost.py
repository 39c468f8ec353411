"""Cost per 1M tasks on AWS, from the synthesized template, the ASL's retry policy and
stated per-request assumptions, next to the seed's design (SQS + Lambda retries, no state
machine). Prices and their date live in bench/prices.json.
Usage: python -m bench.cost [--failure-rate 0.3] [--payload-kb 1] [--log-level ALL]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.naming import DISPATCH_BATCH_SIZE, MONITOR_BATCH_SIZE, Function
from infra.workflow_definition import retry_policy

PRICES = json.loads((Path(__file__).parent / "prices.json").read_text())
MILLION = 1_000_000

# Assumptions (per invocation on AWS, arm64): handler durations are dominated by 1-2
# DynamoDB/SQS/Step Functions calls of ~5-10 ms each; log bytes are Powertools JSON lines
# plus Lambda's START/END/REPORT lines; Express log bytes per history event with execution
# data at a 1 KiB payload. X-Ray records the default sampling (1/s + 5 %).
DURATION_MS = {Function.SUBMIT: 25, Function.DISPATCH: 80, Function.PROCESS: 30, Function.MONITOR: 25}
LAMBDA_LOG_BYTES = {
    Function.SUBMIT: 900,
    Function.DISPATCH: 1500,
    Function.PROCESS: 900,
    Function.MONITOR: 1200,
}
SFN_LOG_BYTES_PER_EVENT = {"ALL": 900, "ERROR": 60, "FATAL": 10, "OFF": 0}
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


def _lambda(template: Template, function: Function, invocations: float) -> dict[str, float]:
    gb_seconds = invocations * template.memory_mb[function] / 1024 * DURATION_MS[function] / 1000
    return {
        "Lambda requests": invocations * PRICES["lambda_request_per_million"] / MILLION,
        "Lambda duration": gb_seconds * PRICES["lambda_gb_second_arm64"],
        "CloudWatch Logs": invocations
        * LAMBDA_LOG_BYTES[function]
        / 1e9
        * PRICES["cloudwatch_logs_ingestion_per_gb"],
    }


def _add(total: dict[str, float], part: dict[str, float]) -> None:
    for key, value in part.items():
        total[key] = total.get(key, 0.0) + value


def this_design(template: Template, failure_rate: float, payload_kb: float) -> dict[str, float]:
    """Dollars per 1M tasks, by line item."""
    policy = retry_policy()
    n = MILLION
    attempts = sum(failure_rate**k for k in range(policy.total_attempts))  # expected attempts per task
    exhausted = failure_rate**policy.total_attempts
    item_wru = math.ceil(payload_kb + 0.5)  # the record holds the payload; each write is billed on item size
    total: dict[str, float] = {}
    total["API Gateway"] = n * PRICES["api_gateway_http_per_million"] / MILLION
    _add(total, _lambda(template, Function.SUBMIT, n))
    _add(total, _lambda(template, Function.DISPATCH, n / DISPATCH_BATCH_SIZE))
    _add(total, _lambda(template, Function.PROCESS, n * attempts))
    _add(total, _lambda(template, Function.MONITOR, n * exhausted / MONITOR_BATCH_SIZE))
    sqs_requests = n * (1 + 2 / DISPATCH_BATCH_SIZE) + n * exhausted * (1 + 2 / MONITOR_BATCH_SIZE)
    total["SQS"] = sqs_requests * PRICES["sqs_request_per_million"] / MILLION
    writes = n * (
        item_wru
        + 1  # create + index
        + attempts * (item_wru + 1)  # claim (status change to RUNNING the first time) + index
        + (attempts - 1) * item_wru  # lastError on failed attempts
        + (1 - exhausted) * (item_wru + 1)  # mark succeeded + index
        + exhausted * 2 * (item_wru + 1)  # MarkFailed, deadLetteredAt
    )
    total["DynamoDB writes"] = writes * PRICES["dynamodb_write_request_unit_per_million"] / MILLION
    total["DynamoDB reads"] = n * PRICES["dynamodb_read_request_unit_per_million"] / MILLION  # BatchGetItem
    events = 6 + 4 * (attempts - 1) + exhausted * 10
    total["Step Functions"] = n * PRICES["sfn_express_request_per_million"] / MILLION + n * (
        EXPRESS_BILLED_GB * EXPRESS_BILLED_SECONDS * math.ceil(attempts) * PRICES["sfn_express_gb_second"]
    )
    total["CloudWatch Logs"] += (
        n
        * events
        * SFN_LOG_BYTES_PER_EVENT[template.log_level]
        / 1e9
        * PRICES["cloudwatch_logs_ingestion_per_gb"]
    )
    total["X-Ray"] = n * XRAY_SAMPLED * PRICES["xray_traces_recorded_per_million"] / MILLION
    return total


def seed_design(template: Template, failure_rate: float, payload_kb: float) -> dict[str, float]:
    """The seed: API → SQS → one worker Lambda that retries through SQS redelivery."""
    policy = retry_policy()
    n = MILLION
    attempts = sum(failure_rate**k for k in range(policy.total_attempts))
    item_wru = math.ceil(payload_kb + 0.5)
    total: dict[str, float] = {"API Gateway": n * PRICES["api_gateway_http_per_million"] / MILLION}
    _add(total, _lambda(template, Function.SUBMIT, n))
    # Failed messages come back alone after their visibility timeout: batches shrink to ~1.
    worker_invocations = n / DISPATCH_BATCH_SIZE + n * (attempts - 1)
    _add(total, _lambda(template, Function.PROCESS, worker_invocations))
    total["SQS"] = (
        (n + n * attempts * 2 / DISPATCH_BATCH_SIZE + n * (attempts - 1) * 2)
        * PRICES["sqs_request_per_million"]
        / MILLION
    )
    total["DynamoDB writes"] = (
        n
        * (item_wru + attempts * item_wru + item_wru)
        * PRICES["dynamodb_write_request_unit_per_million"]
        / MILLION
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
    args = parser.parse_args()
    template = synthesize(args.log_level)
    print(
        f"prices: {PRICES['region']}, {PRICES['date']} (bench/prices.json); payload {args.payload_kb} KiB; "
        f"memory {template.memory_mb[Function.PROCESS]} MB arm64; workflow log level {template.log_level}"
    )
    _print("This design, happy path (failure rate 0)", this_design(template, 0.0, args.payload_kb))
    _print(
        f"This design, failure rate {args.failure_rate}",
        this_design(template, args.failure_rate, args.payload_kb),
    )
    _print(
        f"Seed design (SQS + Lambda retries), failure rate {args.failure_rate}",
        seed_design(template, args.failure_rate, args.payload_kb),
    )
    quieter = Template(template.memory_mb, "ERROR")
    _print(
        f"This design with workflowLogLevel=ERROR, failure rate {args.failure_rate}",
        this_design(quieter, args.failure_rate, args.payload_kb),
    )


if __name__ == "__main__":
    main()
