"""Start the local stack exactly as a user would (a subprocess), on its own ports, time-scaled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.spec import LOCAL_CREDENTIALS, StageNames
from local.emulator import Clients, free_port

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30
NAMES = StageNames("local")


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    api: str
    emulator: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()

    def clients(self) -> Clients:
        return Clients.for_endpoint(self.emulator)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        """One JSON call to the API: (status, response headers, JSON body), errors included."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.api}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers.items()), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers.items()), json.loads(error.read())

    def smoke(
        self, *args: str, count: int, tmp_path: Path, timeout_ms: int = 60_000, endpoint: str | None = None
    ) -> tuple[int, dict[str, Any], str]:
        report = tmp_path / f"smoke-{time.monotonic_ns()}.json"
        environment = user_environment(
            TASKS_ENDPOINT=endpoint or self.api,
            SMOKE_TASK_COUNT=str(count),
            SMOKE_TIMEOUT_MS=str(timeout_ms),
            SMOKE_INTERVAL_MS="200",
            COLUMNS="120",
        )
        result = subprocess.run(
            [sys.executable, "-m", "smoke", *args, "--json", str(report)],
            cwd=REPO,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout_ms / 1000 + 60,
            check=False,
        )
        summary = json.loads(report.read_text()) if report.exists() else {}
        return result.returncode, summary, result.stdout + result.stderr


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


def running_local_stack(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    *arguments: str,
    environment: dict[str, str] | None = None,
    refused_is_serving: bool = False,
) -> Iterator[RunningStack]:
    """A module's local stack, from start to stop: ``yield from`` it in a fixture."""
    log_path = tmp_path_factory.mktemp(name) / "local.log"
    process, api_port, emulator_port = start_local_stack(log_path, *arguments, environment=environment)
    api = f"http://127.0.0.1:{api_port}"
    try:
        wait_until_serving(api, process, log_path, refused_is_serving=refused_is_serving)
        os.environ.update(LOCAL_CREDENTIALS)
        yield RunningStack(process, api, f"http://127.0.0.1:{emulator_port}", log_path)
    finally:
        if process.poll() is None:
            stop(process)


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    yield from running_local_stack(
        tmp_path_factory,
        "local-stack",
        "--time-scale",
        "0.01",
        "--max-receive-count",
        "3",
        "--failure-seed",
        "e2e",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e" in str(item.path):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("e2e"))
