"""API fuzzing: schemathesis generates requests from docs/openapi.json and drives the local
stack's HTTP API. Every check it has (no 5xx, status codes, content types, response schemas
and headers as documented, schema-invalid input rejected, schema-valid input accepted) runs,
except the three deviations schemathesis.toml declares with their reasons (two checks off
everywhere, one more off for GET /tasks)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import REPO, RunningStack, user_environment

MIN_REQUESTS = 1000


def test_generated_requests_find_no_server_error_or_contract_violation(
    local_stack: RunningStack, tmp_path: Path
) -> None:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            "docs/openapi.json",
            "--url",
            local_stack.api,
            "--max-examples",
            "200",
            "--generation-deterministic",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        cwd=REPO,
        env=user_environment(COLUMNS="120"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    generated = re.search(r"(\d+) generated", output)
    assert generated is not None, output[-2000:]
    assert int(generated.group(1)) >= MIN_REQUESTS, output[-2000:]
