"""Schedule precision: how long after its ``runAt`` a delayed task starts on the local stack.

Starts the local stack in real time (its clock is AWS's: delays are not scaled), submits N tasks
with ``delaySeconds`` (``--delay``; up to 900 s an SQS delay carries the message, beyond it an
EventBridge Scheduler schedule set for the minute before ``runAt``, then an SQS delay for the
seconds left), waits for each to finish, and reads its execution's start from the emulator. A
task's lateness is the execution's start less its ``runAt``; one that started before its
``runAt`` would break the contract and fails the run.
Usage: python -m bench.schedule_precision [--tasks 10] [--delay 5] [--endpoint URL --emulator URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.tasks import api as tasks_api
from bench.tasks import finished, submit
from functions.common.scheduling import SQS_MAX_DELAY_SECONDS
from infra.names import LOCAL_CREDENTIALS
from local.emulator import Clients
from local.process import start_local_stack, stop, wait_until_serving


def _measure(api: str, emulator: str, count: int, delay: int) -> tuple[list[dict[str, Any]], list[datetime]]:
    """Submit ``count`` tasks delayed ``delay`` s; each finished task and its execution's start."""
    clients = Clients.for_endpoint(emulator)
    client = tasks_api(api)
    body = {"simulate": {"failures": 0}, "delaySeconds": delay}
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda _: submit(client, body), range(count)))
        tasks = list(pool.map(lambda task_id: finished(client, task_id, delay + 180), ids))
    starts = [
        clients.sfn.describe_execution(executionArn=task["executionArn"])["startDate"] for task in tasks
    ]
    return tasks, starts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--delay", type=int, default=5, help="delaySeconds of every task")
    parser.add_argument(
        "--endpoint", help="a running local stack's API (with --emulator) instead of starting one"
    )
    parser.add_argument("--emulator", help="that stack's emulator endpoint")
    args = parser.parse_args()
    os.environ.update(LOCAL_CREDENTIALS)
    if args.endpoint:
        tasks, starts = _measure(args.endpoint, args.emulator, args.tasks, args.delay)
    else:
        log = Path(tempfile.mkdtemp()) / "local.log"
        process, api_port, emulator_port = start_local_stack(
            log, "--failure-rate", "0", "--quiet-tasks", "--no-function-logs"
        )
        api = f"http://127.0.0.1:{api_port}"
        try:
            wait_until_serving(api, process, log)
            tasks, starts = _measure(api, f"http://127.0.0.1:{emulator_port}", args.tasks, args.delay)
        finally:
            stop(process)

    late = sorted(
        (start - datetime.fromisoformat(task["runAt"])).total_seconds()
        for start, task in zip(starts, tasks, strict=True)
    )
    path = (
        "an SQS delay" if args.delay <= SQS_MAX_DELAY_SECONDS else "a Scheduler schedule, then an SQS delay"
    )
    print(f"schedule precision: {args.tasks} tasks with delaySeconds {args.delay} ({path}), real time")
    print(
        f"  started after runAt (s): min {late[0]:.2f} / p50 {statistics.median(late):.2f} / "
        f"mean {statistics.fmean(late):.2f} / max {late[-1]:.2f}"
    )
    early = sum(1 for seconds in late if seconds < 0)
    print(f"  started before runAt: {early} of {len(late)}")
    if early:
        sys.exit(1)


if __name__ == "__main__":
    main()
