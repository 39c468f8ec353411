"""The local stack as a separate process (``python -m local`` on free ports), started as a user
would start it: for the end-to-end tests and the benchmarks that measure it from outside."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from local.emulator import free_port

REPO = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 30


def user_environment(**extra: str) -> dict[str, str]:
    """The environment a user's shell would have: none of the variables other tests in this
    process set for their own emulator (endpoint, table, queue URLs, Powertools, moto)."""
    ours = (
        "AWS_",
        "TASKS_",
        "SMOKE_",
        "POWERTOOLS_",
        "MOTO_",
        "STATE_MACHINE",
        "DEAD_LETTER",
        "FAILURE_",
        "LEASE_",
        "RECONCILE_",
        # pytest's own: the current test's id, which for a parametrized hostile body is larger
        # than a process's environment may hold (E2BIG at exec).
        "PYTEST_",
    )
    base = {key: value for key, value in os.environ.items() if not key.startswith(ours)}
    return {**base, **extra}


def start_local_stack(
    log_path: Path, *extra: str, environment: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], int, int]:
    api_port, emulator_port = free_port(), free_port()
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local",
            "--api-port",
            str(api_port),
            "--emulator-port",
            str(emulator_port),
            *extra,
        ],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env=user_environment(**(environment or {})),
    )
    return process, api_port, emulator_port


def wait_until_serving(
    api: str, process: subprocess.Popen[str], log_path: Path, *, refused_is_serving: bool = False
) -> float:
    """Until the API answers the probe: 404 (no such task), or 401/403 where it emulates
    authorization (``refused_is_serving``)."""
    serving = {404, 401, 403} if refused_is_serving else {404}
    started = time.monotonic()
    while time.monotonic() - started < STARTUP_SECONDS:
        if process.poll() is not None:
            raise RuntimeError(f"local stack exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            urllib.request.urlopen(f"{api}/tasks/ready-probe", timeout=2)
        except urllib.error.HTTPError as error:
            if error.code in serving:
                return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"local stack not serving after {STARTUP_SECONDS}s:\n{log_path.read_text()}")


def stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=20)
