"""Throughput and latency of the local stack: N tasks through the whole pipeline.

Starts ``python -m local`` as a subprocess (failure rate 0 by default, time-scaled),
submits N tasks through its HTTP API from 8 client threads, waits until every record is
terminal (counting through the byPhase index, so the wait adds no API load), then reads the
records: submit→terminal latency is ``updatedAt - createdAt`` of each record.
The floor (bench/floor.py) issues the same AWS API calls directly against the same emulator,
first, in the same run. The default time scale is 1: with no failures there are no retry waits
to shorten, and a scaled-down visibility timeout would only add redeliveries under backlog.
Usage: python -m bench.local_throughput [--tasks 1000] [--failure-rate 0] [--time-scale 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ptm_client.transport import TasksApi

from bench.floor import count, provision_floor, run_floor, wait_for
from bench.tasks import api as tasks_api
from bench.tasks import submit
from functions.common.clock import moment
from functions.common.task_status import TaskStatus
from infra.names import LOCAL_CREDENTIALS, StageNames
from local.emulator import Clients
from local.options import LocalOptions
from local.process import start_local_stack, stop, wait_until_serving

NAMES = StageNames("local")
CLIENT_THREADS = 8
TARGET = 0.8
"""Throughput against the floor the pipeline must keep (issue 33)."""


def _post(client: TasksApi, index: int) -> float:
    started = time.perf_counter()
    submit(client, {"bench": index})
    return time.perf_counter() - started


@dataclass(frozen=True)
class Figures:
    terminal: int
    submit_rate: float
    post_p50_ms: float
    post_p95_ms: float
    throughput: float
    latency_ms: tuple[float, float, float]


def _figures(items: list[dict[str, Any]], submit_latencies: list[float], submit_seconds: float) -> Figures:
    # Task records only: each task's payload is an item of its own, without a status.
    terminal = [item for item in items if "status" in item and TaskStatus(item["status"]["S"]).is_terminal]
    created = [moment(item["createdAt"]["S"]) for item in terminal]
    updated = [moment(item["updatedAt"]["S"]) for item in terminal]
    latencies = sorted(
        (end - start).total_seconds() * 1000 for start, end in zip(created, updated, strict=True)
    )
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    span = (max(updated) - min(created)).total_seconds()
    return Figures(
        terminal=len(terminal),
        submit_rate=len(submit_latencies) / submit_seconds,
        post_p50_ms=statistics.median(submit_latencies) * 1000,
        post_p95_ms=statistics.quantiles(submit_latencies, n=20)[-1] * 1000,
        throughput=len(terminal) / span,
        latency_ms=(cuts[49], cuts[94], cuts[98]),
    )


def _run_pipeline(
    api: str, clients: Clients, tasks: int, timeout: float
) -> tuple[list[dict[str, Any]], list[float], float]:
    began = time.perf_counter()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        client = tasks_api(api)
        submit_latencies = list(pool.map(lambda index: _post(client, index), range(tasks)))
    submitted = time.perf_counter() - began
    wait_for(
        lambda: count(clients, NAMES.table, "SUCCEEDED") + count(clients, NAMES.table, "FAILED"),
        tasks,
        timeout,
    )
    items = [
        item
        for page in clients.dynamodb.get_paginator("scan").paginate(TableName=NAMES.table)
        for item in page["Items"]
    ]
    return items, submit_latencies, submitted


def _row(label: str, pipeline: str, floor: str, ratio: str = "") -> str:
    return f"  {label:<34} {pipeline:>14} {floor:>14} {ratio:>8}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--failure-rate", default="0")
    parser.add_argument("--time-scale", default="1")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    os.environ.update(LOCAL_CREDENTIALS)
    log = Path(tempfile.mkdtemp()) / "local.log"
    process, api_port, emulator_port = start_local_stack(
        log,
        "--failure-rate",
        args.failure_rate,
        "--time-scale",
        args.time_scale,
        "--quiet-tasks",
        "--no-function-logs",
    )
    api, emulator = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{emulator_port}"
    try:
        startup = wait_until_serving(api, process, log)
        clients = Clients.for_endpoint(emulator)
        # The floor first: if the emulator slows as it accumulates records, the pipeline pays.
        floor_resources = provision_floor(clients, NAMES)
        began = time.perf_counter()
        floor_run = run_floor(
            clients,
            floor_resources,
            tasks=args.tasks,
            client_threads=CLIENT_THREADS,
            dispatchers=LocalOptions().dispatch_pollers,
            timeout=args.timeout,
        )
        floor_wall = time.perf_counter() - began
        began = time.perf_counter()
        items, submit_latencies, submit_seconds = _run_pipeline(api, clients, args.tasks, args.timeout)
        pipeline_wall = time.perf_counter() - began
    finally:
        stop(process)
    pipeline = _figures(items, submit_latencies, submit_seconds)
    floor = _figures(floor_run.items, floor_run.submit_latencies, floor_run.submit_seconds)

    print(
        f"local stack: {args.tasks} tasks, failure rate {args.failure_rate}, time scale {args.time_scale}, "
        f"{CLIENT_THREADS} client threads"
    )
    print(f"  startup (process start → API serving)  {startup:.2f} s")
    print(_row("", "pipeline", "floor", "ratio"))
    print(_row("terminal", f"{pipeline.terminal} / {args.tasks}", f"{floor.terminal} / {args.tasks}"))
    print(
        _row(
            "submit rate (tasks/s)",
            f"{pipeline.submit_rate:.1f}",
            f"{floor.submit_rate:.1f}",
            f"{pipeline.submit_rate / floor.submit_rate:.2f}x",
        )
    )
    print(
        _row(
            "submit latency p50 / p95 (ms)",
            f"{pipeline.post_p50_ms:.0f} / {pipeline.post_p95_ms:.0f}",
            f"{floor.post_p50_ms:.0f} / {floor.post_p95_ms:.0f}",
        )
    )
    print(
        _row(
            "throughput, first submit → last end",
            f"{pipeline.throughput:.1f}/s",
            f"{floor.throughput:.1f}/s",
            f"{pipeline.throughput / floor.throughput:.2f}x",
        )
    )
    print(
        _row(
            "submit→terminal p50/p95/p99 (s)",
            "/".join(f"{value / 1000:.1f}" for value in pipeline.latency_ms),
            "/".join(f"{value / 1000:.1f}" for value in floor.latency_ms),
        )
    )
    print(_row("wall time (s)", f"{pipeline_wall:.1f}", f"{floor_wall:.1f}"))
    print(f"  throughput vs the floor: {pipeline.throughput / floor.throughput:.2f}x (target ≥ {TARGET}x)")
    if pipeline.terminal < args.tasks or floor.terminal < args.tasks:
        sys.exit(1)


if __name__ == "__main__":
    main()
