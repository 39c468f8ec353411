"""Retry timing: the backoff intervals the local stack actually waited, against the ASL's policy.

Starts the local stack in real time (``--time-scale 1`` unless told otherwise), submits N tasks
whose work fails ``failures`` times before succeeding (the contract's ``simulate`` control), and
reads each execution's history from the emulator. A wait is the gap between an attempt's
``TaskFailed`` event and the next ``TaskScheduled``; divided by the time scale, it is compared
with the policy's FULL-jitter range for that retry, ``[0, min(interval·rate^(n-1), cap)]``,
whose mean is half the ceiling.
Usage: python -m bench.retry_timing [--tasks 40] [--time-scale 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.tasks import api as tasks_api
from bench.tasks import finished, submit
from infra.names import LOCAL_CREDENTIALS
from infra.workflow_definition import retry_policy
from local.emulator import Clients
from local.process import start_local_stack, stop, wait_until_serving

POLICY = retry_policy()
OVERSHOOT_LIMIT = 1.0
"""Seconds past a retry's ceiling that would mean the policy, not the overhead, is off."""


def waits_from_history(events: list[dict[str, Any]]) -> list[float]:
    """Seconds between each failed attempt of the task state and the next attempt."""
    waits: list[float] = []
    failed_at: datetime | None = None
    for event in events:
        kind = event["type"]
        if kind == "TaskFailed":
            failed_at = event["timestamp"]
        elif kind == "TaskScheduled" and failed_at is not None:
            waits.append((event["timestamp"] - failed_at).total_seconds())
            failed_at = None
    return waits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--failures", type=int, default=POLICY.max_attempts, help="failures before success")
    args = parser.parse_args()
    os.environ.update(LOCAL_CREDENTIALS)
    log = Path(tempfile.mkdtemp()) / "local.log"
    process, api_port, emulator_port = start_local_stack(
        log,
        "--failure-rate",
        "0",
        "--time-scale",
        str(args.time_scale),
        "--quiet-tasks",
        "--no-function-logs",
    )
    api = f"http://127.0.0.1:{api_port}"
    timeout = 60 + 4 * sum(POLICY.ceiling(n) for n in range(1, POLICY.max_attempts + 1)) / max(
        args.time_scale, 0.01
    )
    try:
        wait_until_serving(api, process, log)
        clients = Clients.for_endpoint(f"http://127.0.0.1:{emulator_port}")
        client = tasks_api(api)
        body = {"simulate": {"failures": args.failures}}
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda _: submit(client, body), range(args.tasks)))
            tasks = list(pool.map(lambda task_id: finished(client, task_id, timeout), ids))
        histories = [clients.execution_history(task["executionArn"]) for task in tasks]
    finally:
        stop(process)

    by_retry: dict[int, list[float]] = defaultdict(list)
    for events in histories:
        for retry, wait in enumerate(waits_from_history(events), start=1):
            by_retry[retry].append(wait / args.time_scale if args.time_scale else wait)

    print(
        f"retry timing: {args.tasks} tasks failing {args.failures}x, time scale {args.time_scale}; "
        f"policy for {POLICY.error}: interval {POLICY.interval_seconds:g} s, rate {POLICY.backoff_rate:g}, "
        f"cap {POLICY.max_delay_seconds:g} s, jitter {POLICY.jitter}"
    )
    print(
        f"  {'retry':<6}{'n':>4}  {'policy range (s)':>17}  {'policy mean':>11}  "
        f"{'waited min / p50 / mean / max (s)':>34}  {'within range':>12}"
    )
    worst_overshoot = 0.0
    for retry in sorted(by_retry):
        waits = sorted(by_retry[retry])
        ceiling = POLICY.ceiling(retry)
        inside = sum(1 for wait in waits if wait <= ceiling)
        worst_overshoot = max(worst_overshoot, waits[-1] - ceiling)
        median, mean = statistics.median(waits), statistics.fmean(waits)
        observed = f"{waits[0]:.2f} / {median:.2f} / {mean:.2f} / {waits[-1]:.2f}"
        print(
            f"  {retry:<6}{len(waits):>4}  {f'0 - {ceiling:g}':>17}  {ceiling / 2:>11.2f}  "
            f"{observed:>34}  {inside:>6}/{len(waits):<5}"
        )
    expected = args.tasks * min(args.failures, POLICY.max_attempts)
    got = sum(len(waits) for waits in by_retry.values())
    print(f"  waits observed: {got} of {expected} expected")
    # A gap holds the interpreter's own work as well as its sleep: a few tens of milliseconds
    # past the ceiling is that overhead, a second past it would be a wrong policy.
    print(f"  longest wait past its ceiling: {max(worst_overshoot, 0.0):.2f} s (interpreter overhead)")
    if got != expected or worst_overshoot > OVERSHOOT_LIMIT:
        sys.exit(1)


if __name__ == "__main__":
    main()
