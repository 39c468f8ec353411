"""A stage that registers task types: the generated definition, the state machine's grants (exactly
the registered functions), the registrations in the functions' asset, and synth's refusals."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from functions.task_types.registry import REGISTRATIONS_FILE
from infra.generated_workflow import substitution
from infra.workflow_definition import REPO_ROOT
from tests.infra.conftest import PROFILE_EU, Synthesized, synthesize

ALIAS_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:resize-image:live"
TYPES = {
    "word-count": {
        "function": "word-count",
        "schema": "examples/word_count/schema.json",
        "timeoutSeconds": 10,
        "retry": {"maxAttempts": 3},
    },
    "resize": {
        "function": ALIAS_ARN,
        "timeoutSeconds": 60,
        "retry": {"maxAttempts": 1, "serviceErrorRetries": 0},
    },
}


@pytest.fixture(scope="module")
def typed(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(
        tmp_path_factory.mktemp("cdk-typed"),
        PROFILE_EU,
        stage="typed",
        taskTypes=json.dumps(TYPES),
        # The built-in types' knobs: a 60 s attempt, three of them.
        processTimeoutSeconds="60",
        processMemoryMb="512",
        processRetries="2",
        processTransientRetries="0",
    )


def _machine(synthesized: Synthesized) -> dict[str, Any]:
    [machine] = synthesized.resources("AWS::StepFunctions::StateMachine").values()
    return dict(machine["Properties"])


def _invoke_resources(synthesized: Synthesized) -> list[Any]:
    """Every resource the state machine's role may invoke."""
    machine = _machine(synthesized)
    role = machine["RoleArn"]["Fn::GetAtt"][0]
    found: list[Any] = []
    for policy in synthesized.resources("AWS::IAM::Policy").values():
        if {"Ref": role} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "lambda:InvokeFunction" in actions:
                resources = statement["Resource"]
                found += resources if isinstance(resources, list) else [resources]
    return found


def test_the_role_invokes_exactly_the_process_function_and_the_registered_ones(typed: Synthesized) -> None:
    resources = _invoke_resources(typed)

    assert ALIAS_ARN in resources  # as registered: the alias, and nothing wider
    by_name = "arn:aws:lambda:eu-west-1:123456789012:function:word-count"
    rendered = [json.dumps(resource) for resource in resources]
    assert any(by_name in text or ("function:word-count" in text) for text in rendered), rendered
    assert len(resources) == 3  # the process function, and the two registered
    assert not any(text.endswith(':*"') or text.endswith('*"') for text in rendered), rendered


def test_the_definition_routes_each_registered_type_to_its_own_branch(typed: Synthesized) -> None:
    machine = _machine(typed)
    definition = json.loads(machine["DefinitionString"])
    substitutions = machine["DefinitionSubstitutions"]

    assert definition["StartAt"] == "RouteByType"
    run = definition["States"]["Run resize"]
    assert run["TimeoutSeconds"] == 70
    assert run["Parameters"]["FunctionName"] == f"${{{substitution('resize')}}}"
    assert substitutions[substitution("resize")] == ALIAS_ARN
    assert [retrier["MaxAttempts"] for retrier in run["Retry"]] == [0, 0, 1]
    assert definition["States"]["Run word-count"]["Retry"][2]["MaxAttempts"] == 3


def test_the_registrations_reach_the_functions_in_their_asset(typed: Synthesized) -> None:
    [carried] = list(typed.outdir.glob(f"asset.*/{REGISTRATIONS_FILE.relative_to(REPO_ROOT)}"))
    document = json.loads(carried.read_text())

    names = [entry["name"] for entry in document["types"]]
    assert names == ["word-count", "resize"]
    assert document["types"][0]["schema"]["required"] == ["text"]


def test_a_stage_with_registered_types_keeps_payloads_out_of_the_workflow_s_log(typed: Synthesized) -> None:
    assert _machine(typed)["LoggingConfiguration"]["IncludeExecutionData"] is False


def _make_synth(tmp_path: Path, context: str) -> subprocess.CompletedProcess[str]:
    """``make synth CONTEXT=... CDK_OUT=<scratch>`` as a user types it: a hypothetical synthesis."""
    return subprocess.run(
        ["make", "--no-print-directory", "synth", "STAGE=dev", f"CONTEXT={context}", f"CDK_OUT={tmp_path}"],
        cwd=REPO_ROOT,
        env={**os.environ, "PATH": f"{REPO_ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_synth_refuses_a_registration_in_one_line(tmp_path: Path) -> None:
    """Through make synth, with the registrations as JSON in CONTEXT (each pair reaches the CDK
    CLI quoted, so JSON keeps its quotes): an unknown schema file and a type over the bound are
    each refused in one line, and nothing is written."""
    over = {"function": "slow", "timeoutSeconds": 60, "retry": {"maxAttempts": 2}}
    unknown = {"function": "f", "timeoutSeconds": 5, "schema": "examples/nowhere.json"}
    for types, expected in (
        ({"x": unknown}, "taskTypes.x: schema: no file examples/nowhere.json"),
        ({"x": over}, "taskTypes.x: worst-case execution claim 31 s + run 5 invocations x 70 s"),
    ):
        result = _make_synth(tmp_path, "taskTypes=" + json.dumps(types, separators=(",", ":")))

        assert result.returncode != 0
        [line] = [line for line in result.stderr.splitlines() if line.startswith("ptm synth: ")]
        assert line.startswith(f"ptm synth: {expected}"), line
        assert not list(tmp_path.glob("*.template.json"))


def test_the_generated_definition_passes_the_asl_validator(typed: Synthesized, tmp_path: Path) -> None:
    definition = json.loads(_machine(typed)["DefinitionString"])
    path = tmp_path / "generated.asl.json"
    path.write_text(json.dumps(definition))

    result = subprocess.run(
        ["npx", "--no-install", "asl-validator", "--json-path", str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_process_function_and_its_state_take_the_stage_s_options(typed: Synthesized) -> None:
    [process] = [
        function["Properties"]
        for function in typed.resources("AWS::Lambda::Function").values()
        if str(function["Properties"].get("FunctionName", "")).endswith("-process")
    ]
    state = json.loads(_machine(typed)["DefinitionString"])["States"]["ProcessTask"]

    assert (process["Timeout"], process["MemorySize"]) == (60, 512)
    assert state["TimeoutSeconds"] == 70
    assert [retrier["MaxAttempts"] for retrier in state["Retry"]] == [0, 2]
