"""Fairness under flow control: a key at its limit must not delay the tasks of other keys.

Starts the local stack (real time: SQS delays, the rechecks' clock, are AWS's), then measures
twice, on the same stack: N unlimited tasks submitted together (the baseline), and N unlimited
tasks submitted together with N tasks of one key limited to 1 at once (``PUT /limits/key:<k>``),
interleaved. A task's submit-to-finish is its record's ``updatedAt`` (it finished) less its
``createdAt``; the figure is the p95 of the unlimited tasks' in each run, and their ratio
(the contract: within 1.2x). The limited key's tasks are counted, not waited for.
Usage: python -m bench.fairness [--tasks 50] [--endpoint URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from ptm_client.transport import TasksApi

from bench.tasks import api as tasks_api
from bench.tasks import finished, get, submit
from infra.names import LOCAL_CREDENTIALS
from local.process import start_local_stack, stop, wait_until_serving

LIMITED_KEY = "bench-limited"
TIME_SCALE = 0.01
"""The stack this starts: its limits cache (10 s on AWS) lasts 0.1 s; these tasks never retry,
and SQS delays (the limited tasks' rechecks) stay real."""


def _seconds(task: dict[str, Any]) -> float:
    return (
        datetime.fromisoformat(task["updatedAt"]) - datetime.fromisoformat(task["createdAt"])
    ).total_seconds()


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


def _run(client: TasksApi, count: int, beside: str | None) -> tuple[list[float], list[str]]:
    """Submit ``count`` unlimited tasks (and, ``beside``, ``count`` of that key between them)
    together; the unlimited tasks' submit-to-finish, and the others' ids."""
    bodies: list[dict[str, Any]] = []
    for _ in range(count):
        bodies.append({"simulate": {"failures": 0}})
        if beside is not None:
            bodies.append({"simulate": {"failures": 0}, "concurrencyKey": beside})
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda body: submit(client, body), bodies))
        free = [task_id for task_id, body in zip(ids, bodies, strict=True) if "concurrencyKey" not in body]
        done = list(pool.map(lambda task_id: finished(client, task_id, 300), free))
    return [_seconds(task) for task in done], [i for i in ids if i not in set(free)]


def measure(endpoint: str, count: int, settle: float) -> None:
    client = tasks_api(endpoint)
    baseline, _ = _run(client, count, None)
    loaded, others = _run(client, count, "bench-unlimited")  # the same load, no limit: the control
    for task_id in others:
        finished(client, task_id, 300)
    status, body = client.put_limit(f"key:{LIMITED_KEY}", {"maxConcurrency": 1})
    if status not in (200, 201):
        raise RuntimeError(f"PUT /limits answered {status}: {body}")
    time.sleep(settle)  # every dispatcher's limits cache has read it
    try:
        contended, held = _run(client, count, LIMITED_KEY)
        ended = sum(1 for task_id in held if get(client, task_id)["status"] == "SUCCEEDED")
    finally:
        client.delete_limit(f"key:{LIMITED_KEY}")
    before, control, after = _p95(baseline), _p95(loaded), _p95(contended)
    print(f"fairness: {count} unlimited tasks, alone and beside {count} of one key limited to 1 at once")
    print(
        f"  unlimited submit-to-finish p95: alone {before:.3f} s, beside {count} more unlimited "
        f"{control:.3f} s, beside the limited key {after:.3f} s"
    )
    print(
        f"  ratio: {after / before:.2f}x alone (the contract: within 1.2x), "
        f"{after / control:.2f}x the same load unlimited"
    )
    print(f"  the limited key's tasks finished meanwhile: {ended} of {len(held)} (one at a time, rechecked)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--endpoint", help="a running local stack's API instead of starting one")
    parser.add_argument(
        "--settle",
        type=float,
        help="seconds for a new limit to reach the dispatchers (default: 11 with --endpoint)",
    )
    args = parser.parse_args()
    os.environ.update(LOCAL_CREDENTIALS)
    if args.endpoint:
        measure(args.endpoint, args.tasks, 11.0 if args.settle is None else args.settle)
        return
    log = Path(tempfile.mkdtemp()) / "local.log"
    process, api_port, _ = start_local_stack(
        log, "--failure-rate", "0", "--time-scale", str(TIME_SCALE), "--quiet-tasks", "--no-function-logs"
    )
    api = f"http://127.0.0.1:{api_port}"
    try:
        wait_until_serving(api, process, log)
        measure(api, args.tasks, 1.0 if args.settle is None else args.settle)
    finally:
        stop(process)


if __name__ == "__main__":
    main()
