"""Cold-start (init) cost of each handler vs the floor of boto3 with the same clients.

Each measurement is a fresh interpreter that does what a cold start pays before the first
event is handled: import the handler module and build its dependencies (settings validated,
clients created: ``dependencies()``). The floor imports boto3 and creates the same clients
(the spec's ``clients``). The libraries column adds, to the floor, what the standards make every
handler load: pydantic with one model, Powertools' Logger and Metrics, and the Powertools
utility its trigger uses (event_handler for the API, batch for a queue), with the collector
paused as the handler packages pause it. What a handler takes beyond that column is its own
code, compiled from source as on Lambda (the asset ships no bytecode), and must add at most
10 % to the libraries column (``LIMIT``). The three are measured interleaved, run by run, so the
machine's drift weighs on all alike; each figure is the median of N runs, and the spread is the
interquartile range of the per-run differences (handler minus libraries), in milliseconds.
Usage: python -m bench.init_time [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

from functions.common.cold_start import INITIALIZATION_TYPE
from functions.common.config import Env
from infra.names import Function
from infra.spec import FUNCTIONS, ApiTrigger, FunctionSpec, QueueTrigger
from infra.stage_config import StageConfig

CONFIG = StageConfig(stage="bench")
ENVIRONMENT = {
    # Set by Lambda in every execution environment: the handler packages pause the GC during init,
    # and a handler module's import (INIT) builds its dependencies.
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    INITIALIZATION_TYPE: "on-demand",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",  # pragma: allowlist secret (a placeholder: no AWS call is made)
    **CONFIG.powertools_environment(),
    **CONFIG.environment_values(),
    Env.TASKS_TABLE: "bench",
    Env.TASKS_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/bench/bench",
    Env.TASKS_QUEUE_ARN: "arn:aws:sqs:us-east-1:000000000000:bench",
    Env.SCHEDULE_GROUP: "bench",
    Env.SCHEDULER_ROLE_ARN: "arn:aws:iam::000000000000:role/bench-scheduler",
    Env.RECURRING_SCHEDULE_GROUP: "bench-recurring",
    Env.SCHEDULES_TABLE: "bench-schedules",
    Env.LIMITS_TABLE: "bench-limits",
    Env.DEAD_LETTER_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/bench/bench-dlq",
    Env.STATE_MACHINE_ARN: "arn:aws:states:us-east-1:bench:stateMachine:bench",
    Env.DISPATCH_MAPPING_ID: "00000000-0000-0000-0000-000000000000",
}
TIMER = "import time; _t = time.perf_counter(); {code}; print(time.perf_counter() - _t)"
LIMIT = 1.10
"""A handler's init over the libraries floor (boto3 + its clients + pydantic + Powertools)."""
_ONE_MODEL = "exec('from pydantic import BaseModel\\nclass A(BaseModel):\\n    x: int')"


def libraries_code(spec: FunctionSpec) -> str:
    """The floor plus the libraries every handler of this trigger loads (see the docstring)."""
    utility = ""
    if isinstance(spec.trigger, ApiTrigger):
        utility = "; from aws_lambda_powertools.event_handler import APIGatewayHttpResolver"
    elif isinstance(spec.trigger, QueueTrigger):
        utility = "; from aws_lambda_powertools.utilities.batch import BatchProcessor"
    return (
        "import gc; gc.disable(); "
        + floor_code(spec)
        + f"; {_ONE_MODEL}; from aws_lambda_powertools import Logger, Metrics; "
        "Logger(); Metrics(namespace='bench')" + utility
    )


def floor_code(spec: FunctionSpec) -> str:
    return "import boto3; " + "; ".join(f"boto3.client({service!r})" for service in spec.clients)


def _once(code: str) -> float:
    output = subprocess.run(
        [sys.executable, "-c", TIMER.format(code=code)],
        env={**os.environ, **ENVIRONMENT},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(output.strip().splitlines()[-1]) * 1000


def samples(*codes: str, runs: int) -> list[list[float]]:
    """``runs`` fresh interpreters for each code, interleaved so that the machine's drift (other
    load, frequency) weighs on all alike: one list of milliseconds per code."""
    times: list[list[float]] = [[] for _ in codes]
    for _ in range(runs):
        for code, taken in zip(codes, times, strict=True):
            taken.append(_once(code))
    return times


def measure(*codes: str, runs: int) -> list[float]:
    """The median of each code's ``samples``."""
    return [statistics.median(taken) for taken in samples(*codes, runs=runs)]


def spread(differences: list[float]) -> float:
    """The interquartile range (0 with fewer than two runs)."""
    if len(differences) < 2:
        return 0.0
    quartiles = statistics.quantiles(differences, n=4)
    return quartiles[2] - quartiles[0]


def handler_seconds(function: Function, runs: int = 3) -> float:
    """Median seconds a fresh interpreter takes to import ``function``'s handler and build its
    dependencies: what its INIT phase runs beyond the runtime's own start."""
    return statistics.median(_once(f"import {function.module}") for _ in range(runs)) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=11)
    runs = parser.parse_args().runs
    print(f"median of {runs} fresh interpreters, milliseconds ({sys.version.split()[0]})")
    print(
        f"{'handler':<12}{'init':>9}{'floor':>9}{'libraries':>11}{'own code':>10}{'ratio':>8}{'spread':>9}"
        "   floor = import boto3 + the same clients; libraries = floor + pydantic + Powertools;"
        f" ratio = init / libraries (limit {LIMIT:.2f}); spread = IQR of the per-run own code"
    )
    for function, spec in FUNCTIONS.items():
        handler_runs, floor_runs, library_runs = samples(
            f"import {function.module}", floor_code(spec), libraries_code(spec), runs=runs
        )
        handler, floor, libraries = (
            statistics.median(taken) for taken in (handler_runs, floor_runs, library_runs)
        )
        own = [ran - base for ran, base in zip(handler_runs, library_runs, strict=True)]
        verdict = "" if handler / libraries <= LIMIT else f"   over {LIMIT:.2f}x"
        print(
            f"{function.value:<12}{handler:>9.1f}{floor:>9.1f}{libraries:>11.1f}"
            f"{statistics.median(own):>+10.1f}{handler / libraries:>7.2f}x{spread(own):>8.1f}{verdict}"
        )


if __name__ == "__main__":
    main()
