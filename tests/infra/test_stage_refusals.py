"""A stage setting that breaks a rule stops ``cdk synth`` and ``make local`` in one line that
names the setting and the rule, before anything is built: no traceback from inside jsii."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.workflow_definition import REPO_ROOT


def _run(arguments: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=REPO_ROOT,
        # Node 22 from node_modules first, as the Makefile puts it (the machine's Node 20 warns).
        env={
            **os.environ,
            "PATH": f"{REPO_ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}",
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [("reconcileEveryMinutes", "0", "EventBridge"), ("maxReceiveCount", "0", "maxReceiveCount")],
)
def test_synth_refuses_a_context_override_in_one_line(
    tmp_path: Path, key: str, value: str, rule: str
) -> None:
    """As ``cdk synth --context key=value`` runs the app: the context arrives in CDK_CONTEXT_JSON."""
    result = _run(
        ["-m", "infra.app"],
        {"CDK_CONTEXT_JSON": json.dumps({"stage": "dev", key: value}), "CDK_OUTDIR": str(tmp_path)},
    )

    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"ptm synth: context {key}={value}: ")
    assert rule in line
    assert not list(tmp_path.glob("*.template.json"))


def test_the_local_stack_refuses_a_bad_setting_in_one_line_before_starting() -> None:
    result = _run(["-m", "local", "--max-receive-count", "0", "--api-port", "1", "--emulator-port", "2"], {})

    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("ptm local: --max-receive-count 0: ")
    assert "1 to 1000" in line
