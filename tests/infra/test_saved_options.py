"""What is deployed is what is saved, through the CLI as users run it: ``make synth`` (the same app
``make deploy`` and ``make diff`` run) reads ``stages/<stage>.json``; an unsaved ``--context`` is
refused, so is a stage named like production that does not declare it."""

from __future__ import annotations

import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from infra.names import Output
from infra.stage_options import STAGES_DIR_VARIABLE
from infra.synth import make_synth
from infra.workflow_definition import REPO_ROOT
from tests.e2e.documented import fences
from tests.infra.conftest import OFFLINE, synthesize
from tests.infra.test_synthesis import cli_environment


def _differences(left: Any, right: Any, path: str = "") -> list[str]:
    if isinstance(left, dict) and isinstance(right, dict):
        return [
            d
            for key in sorted(set(left) | set(right))
            for d in _differences(left.get(key), right.get(key), f"{path}/{key}")
        ]
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [
            d
            for index, pair in enumerate(zip(left, right, strict=True))
            for d in _differences(*pair, f"{path}/{index}")
        ]
    return [] if left == right else [path]


def _synth(
    tmp_path: Path, name: str, stages: dict[str, Any], stage: str = "prod"
) -> tuple[int, str, dict[str, Any]]:
    directory = tmp_path / f"stages-{name}"
    directory.mkdir()
    for file_stage, options in stages.items():
        (directory / f"{file_stage}.json").write_text(json.dumps(options))
    outdir = tmp_path / f"out-{name}"
    result = make_synth(stage, outdir, {**cli_environment(OFFLINE), STAGES_DIR_VARIABLE: str(directory)})
    template = outdir / f"ProcessTaskManager-{stage}.template.json"
    document = json.loads(template.read_text()) if result.returncode == 0 else {}
    return result.returncode, result.stdout + result.stderr, document


def test_two_saved_option_sets_synthesize_templates_that_differ_exactly_as_the_options_do(
    tmp_path: Path,
) -> None:
    saved = {
        "a": {"prod": {"production": True, "apiRateLimit": 300}},
        "b": {"prod": {"production": True, "apiRateLimit": 900}},
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        (code, printed, first), (code_b, printed_b, second) = pool.map(
            lambda item: _synth(tmp_path, *item), saved.items()
        )
    assert code == 0, printed[-3000:]
    assert code_b == 0, printed_b[-3000:]
    [changed] = _differences(first, second)
    assert changed.endswith("/Properties/DefaultRouteSettings/ThrottlingRateLimit")
    stage = changed.split("/")[2]
    assert (
        first["Resources"][stage]["Type"],
        second["Resources"][stage]["Properties"]["DefaultRouteSettings"]["ThrottlingRateLimit"],
    ) == ("AWS::ApiGatewayV2::Stage", 900)


def test_an_unsaved_override_and_an_undeclared_production_stage_are_refused_in_one_line(
    tmp_path: Path,
) -> None:
    environment = cli_environment(OFFLINE)
    refused = subprocess.run(
        [
            "cdk",
            "--no-notices",
            "synth",
            "--context",
            "stage=prod",
            "--context",
            "apiRateLimit=5",
            "--output",
            str(tmp_path / "x"),
        ],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode != 0
    assert (
        "ptm synth: --context apiRateLimit=5 differs from stages/prod.json: save it there" in refused.stderr
    )
    code, printed, _ = _synth(tmp_path, "prd", {"prd": {"production": False}}, stage="prd")
    assert code != 0
    assert (
        'ptm synth: stage prd is named like production but is not declared so: set "production": true'
        in printed
    )
    into_cdk_out = subprocess.run(
        ["make", "--no-print-directory", "synth", "STAGE=dev", "CONTEXT=apiRateLimit=5"],
        cwd=REPO_ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAKE")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert into_cdk_out.returncode != 0
    assert (
        "CONTEXT overrides the saved options (stages/dev.json): synthesize it into a scratch directory"
        in into_cdk_out.stderr
    )


def test_the_readme_caller_policy_names_real_routes_and_passes_parliament(tmp_path: Path) -> None:
    """The README's execute-api:Invoke policy: each resource is a route of the stack (its ApiId
    output, the $default stage), and parliament finds nothing wrong with it."""
    from parliament import analyze_policy_string  # type: ignore[import-untyped]

    readme = (REPO_ROOT / "README.md").read_text()
    [policy] = [json.loads(b) for b in fences(readme, "json") if "execute-api:Invoke" in b]
    synth = synthesize(tmp_path, OFFLINE, stage="dev")
    [api_id] = [
        output["Value"]["Ref"] for key, output in synth.document["Outputs"].items() if key == Output.API_ID
    ]
    routes = {r["Properties"]["RouteKey"] for r in synth.resources("AWS::ApiGatewayV2::Route").values()}
    patterns = {
        re.sub(r"\{[^}]+\}", "*", key).replace(" ", "") for key in routes
    }  # GET /tasks/{taskId} -> GET/tasks/*
    [statement] = policy["Statement"]
    for resource in statement["Resource"]:
        prefix, _, route = resource.partition("/$default/")
        assert prefix == "arn:aws:execute-api:<region>:<account>:<ApiId>", resource
        method, _, path = route.partition("/")
        assert f"{method}/{path}" in patterns, (resource, sorted(patterns))
    assert api_id in synth.document["Resources"]
    filled = (
        json.dumps(policy)
        .replace("<region>", "eu-west-1")
        .replace("<account>", "123456789012")
        .replace("<ApiId>", "a1b2c3")
    )
    findings = analyze_policy_string(filled).findings
    assert findings == [], [str(f) for f in findings]
