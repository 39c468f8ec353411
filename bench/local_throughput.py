"""Throughput and latency of the local stack: N tasks through the whole pipeline.

Starts ``python -m infra.local`` as a subprocess (failure rate 0 by default, time-scaled),
submits N tasks through its HTTP API from 8 client threads, waits until every record is
terminal (counting through the byStatus index, so the wait adds no API load), then reads the
records: submit→terminal latency is ``updatedAt - createdAt`` of each record.
Usage: python -m bench.local_throughput [--tasks 1000] [--failure-rate 0] [--time-scale 0.01]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from functions.common.config import STATUS_INDEX
from functions.common.tasks_table import task_from_item
from infra.local.emulator import LOCAL_CREDENTIALS, Clients
from infra.naming import StageNames
from tests.e2e.conftest import start_local_stack, stop, wait_until_serving

NAMES = StageNames("local")
CLIENT_THREADS = 8


def _post(api: str, index: int) -> float:
    started = time.perf_counter()
    request = urllib.request.Request(
        f"{api}/tasks", data=json.dumps({"bench": index}).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status != 202:
            raise RuntimeError(f"submit answered {response.status}")
    return time.perf_counter() - started


def _count(clients: Clients, status: str) -> int:
    total, start_key = 0, None
    while True:
        arguments = {
            "TableName": NAMES.table,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#s = :s",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": {"S": status}},
            "Select": "COUNT",
        }
        if start_key:
            arguments["ExclusiveStartKey"] = start_key
        page = clients.dynamodb.query(**arguments)  # type: ignore[arg-type]
        total += page["Count"]
        start_key = page.get("LastEvaluatedKey")
        if not start_key:
            return total


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--failure-rate", default="0")
    parser.add_argument("--time-scale", default="0.01")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    os.environ.update(LOCAL_CREDENTIALS)
    log = Path(tempfile.mkdtemp()) / "local.log"
    process, api_port, emulator_port = start_local_stack(
        log, "--failure-rate", args.failure_rate, "--time-scale", args.time_scale, "--quiet-tasks"
    )
    api, emulator = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{emulator_port}"
    try:
        startup = wait_until_serving(api, process, log)
        clients = Clients.for_endpoint(emulator)
        began = time.perf_counter()
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            submit_latencies = list(pool.map(lambda index: _post(api, index), range(args.tasks)))
        submitted = time.perf_counter()
        while time.perf_counter() - began < args.timeout:
            done = _count(clients, "SUCCEEDED") + _count(clients, "FAILED")
            if done >= args.tasks:
                break
            time.sleep(0.25)
        finished = time.perf_counter()
        items = [
            task_from_item(item)
            for page in clients.dynamodb.get_paginator("scan").paginate(TableName=NAMES.table)
            for item in page["Items"]
        ]
    finally:
        stop(process)
    terminal = [task for task in items if task.status.is_terminal]
    latencies = sorted(
        (_moment(t.updated_at) - _moment(t.created_at)).total_seconds() * 1000 for t in terminal
    )
    span = max(_moment(t.updated_at) for t in terminal) - min(_moment(t.created_at) for t in terminal)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(f"local stack: {args.tasks} tasks, failure rate {args.failure_rate}, time scale {args.time_scale}")
    print(f"  startup (process start → API serving)  {startup:8.2f} s")
    print(f"  terminal                               {len(terminal):8d} / {args.tasks}")
    submit_rate = args.tasks / (submitted - began)
    print(f"  submit rate ({CLIENT_THREADS} client threads)        {submit_rate:8.1f} tasks/s")
    print(
        f"  POST latency p50 / p95                 {statistics.median(submit_latencies) * 1000:8.1f} / "
        f"{statistics.quantiles(submit_latencies, n=20)[-1] * 1000:.1f} ms"
    )
    print(f"  throughput (first submit → last end)   {len(terminal) / span.total_seconds():8.1f} tasks/s")
    print(f"  submit→terminal p50 / p95 / p99        {cuts[49]:8.0f} / {cuts[94]:.0f} / {cuts[98]:.0f} ms")
    print(f"  wall time                              {finished - began:8.1f} s")
    if len(terminal) < args.tasks:
        sys.exit(1)


if __name__ == "__main__":
    main()
