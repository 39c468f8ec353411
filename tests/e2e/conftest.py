"""Start the local stack exactly as a user would (a subprocess), on its own ports, time-scaled."""

from __future__ import annotations

import json
import os
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

from infra.names import LOCAL_CREDENTIALS, StageNames
from local.emulator import Clients
from local.process import REPO, start_local_stack, stop, user_environment, wait_until_serving

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


def run_benchmark(module: str, *arguments: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """A benchmark module run as a user runs it (``python -m``), its output captured."""
    return subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=REPO,
        env=user_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


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


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One stack for every module that takes the default one (they run in one xdist group, on one
    worker): a test that checks the whole table looks only at the tasks it created."""
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


OWN_STACKS = frozenset(
    {
        "test_api_auth.py",
        "test_retention.py",
        "test_webhooks.py",
        "test_flow_control.py",
        "test_documented_local_stack.py",
        "test_stage_without_test_controls.py",
    }
)
"""Modules whose tests start stacks of their own (module fixtures), not the shared one."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules on the shared stack run in one xdist group, on one worker. A module with stacks
    of its own is a group of its own (its module fixture starts once), free to run beside them;
    the benchmarks, a stack per test, are not grouped at all: the two workers share the rest of
    the work as it comes. A test that names its own group keeps it."""
    for item in items:
        if "tests/e2e" in str(item.path):
            if item.path.name == "test_benchmarks.py" or item.get_closest_marker("xdist_group"):
                continue
            group = f"e2e-{item.path.stem}" if item.path.name in OWN_STACKS else "e2e"
            item.add_marker(pytest.mark.xdist_group(group))
