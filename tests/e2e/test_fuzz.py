"""API fuzzing: schemathesis generates requests from docs/openapi.json and drives the local
stack's HTTP API. Every check it has (no 5xx, status codes, content types, response schemas
and headers as documented, schema-invalid input rejected, schema-valid input accepted) runs,
except the deviations schemathesis.toml declares with their reasons (three checks off
everywhere, one more off for GET /tasks, GET /schedules and PUT /schedules/{name}).

The webhook type is left out of the generated bodies and schedules' tasks (``fuzzed_document``):
its URL is checked against the SSRF policy and its headers against rules JSON Schema cannot
state, so a schema-valid webhook body is rightly a 400, and an admitted one would send traffic to
a generated host. Its refusals and deliveries have their own tests (tests/unit/test_destinations.py,
tests/integration/test_webhook_delivery.py, tests/e2e/test_webhooks.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from local.process import REPO, user_environment
from tests.e2e.conftest import RunningStack

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "15"))
"""Examples per operation and phase: 15 in make test (about 30 s over its twelve operations), 200
in make fuzz."""
MIN_REQUESTS = 5 * MAX_EXAMPLES
UNFUZZED_BODIES = {"#/components/schemas/WebhookPayload"}


def fuzzed_document(directory: Path) -> Path:
    """docs/openapi.json without the task types whose bodies must not be generated."""
    document = json.loads((REPO / "docs" / "openapi.json").read_text())
    body = document["paths"]["/tasks"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    kept = [alternative for alternative in body["oneOf"] if alternative.get("$ref") not in UNFUZZED_BODIES]
    assert len(kept) == len(body["oneOf"]) - len(UNFUZZED_BODIES), "the webhook type moved: update this test"
    body["oneOf"] = kept
    schedule = document["paths"]["/schedules/{name}"]["put"]["requestBody"]["content"]["application/json"]
    task = schedule["schema"]["properties"]["task"]
    task["oneOf"] = [
        alternative for alternative in task["oneOf"] if alternative.get("$ref") not in UNFUZZED_BODIES
    ]
    path = directory / "openapi.json"
    path.write_text(json.dumps(document))
    return path


def test_generated_requests_find_no_server_error_or_contract_violation(
    local_stack: RunningStack, tmp_path: Path
) -> None:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            str(fuzzed_document(tmp_path)),
            "--url",
            local_stack.api,
            "--max-examples",
            str(MAX_EXAMPLES),
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
