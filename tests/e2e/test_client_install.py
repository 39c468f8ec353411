"""The client library installs on its own (client/, without the CDK, the Lambda code or the test
dependencies) into a fresh virtual environment, and works there with the standard library."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from infra.workflow_definition import REPO_ROOT

UV = REPO_ROOT / ".uv" / "bin" / "uv"
PROBE = """
import importlib.util, sys
from ptm_client import EndpointUnreachableError, TasksClient
present = [name for name in ("boto3", "aws_cdk", "functions", "infra", "ptm", "pytest")
           if importlib.util.find_spec(name)]
assert not present, present
client = TasksClient("http://127.0.0.1:9/tasks", auth="none", retries=0)
try:
    client.get("t-1")
except EndpointUnreachableError as error:
    print("unreachable:", error)
"""


def test_the_client_installs_alone_into_a_fresh_environment(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT"))}
    venv = tmp_path / "venv"
    for command in (
        [str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)],
        [
            str(UV),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            str(REPO_ROOT / "client"),
        ],
    ):
        result = subprocess.run(
            command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300, check=False
        )
        assert result.returncode == 0, result.stderr[-2000:]
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c", PROBE],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert probe.stdout.startswith("unreachable: cannot reach http://127.0.0.1:9"), probe.stdout
