"""Synthesis as users run it: every stage shape users deploy, in every environment the CDK CLI
hands the app, cdk-nag clean and cfn-lint clean; and ``make synth`` itself, whose template is
byte for byte the in-process twin's.

An acknowledgment written for one rendering of an ARN (``<AWS::Region>``) does not match another
(``us-east-1``): ``make synth`` failed for every user while the tests, synthesizing without an
environment, passed. So each shape is synthesized in each environment, and the expected findings
are written here independently of ``infra/nag.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from infra.names import STAGE_NAME_MAX_LENGTH, Output
from infra.synth import make_synth
from tests.infra.conftest import (
    ENVIRONMENTS,
    OFFLINE,
    PROFILE_EU,
    Environment,
    Synthesized,
    synthesize,
)

LONGEST_STAGE = "qa-eu-central1"[:STAGE_NAME_MAX_LENGTH].ljust(STAGE_NAME_MAX_LENGTH, "x")

SHAPES: dict[str, dict[str, str]] = {
    "dev": {"stage": "dev"},
    "prod": {"stage": "prod"},
    # Every option that adds a resource, a grant or an acknowledgment, on a production stage.
    "prod-every-option": {
        "stage": "prod",
        "webhooks": "on",
        "alarmEmail": "oncall@example.com",
        "apiAuth": "jwt",
        "jwtIssuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example",
        "jwtAudience": "client-a,client-b",
        "corsOrigins": "https://app.example.com",
        "webhookAllowedHosts": "hooks.internal.example.com",
        "webhookAllowedHostsOnly": "on",
        "workflowLogLevel": "ERROR",
        "workflowExecutionData": "on",
        "functionLogLevel": "DEBUG",
        "functionSystemLogLevel": "DEBUG",
        "taskRetentionDays": "0",
        # Registered types: the state machine's grant on a function by name and on an alias.
        "taskTypes": json.dumps(
            {
                "word-count": {"function": "word-count", "timeoutSeconds": 10},
                "resize": {
                    "function": "arn:aws:lambda:eu-west-1:123456789012:function:resize:live",
                    "timeoutSeconds": 20,
                },
            }
        ),
        "powertoolsLayerArn": (
            "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:18"
        ),
    },
    # The longest stage name the spec allows (every resource name is built from it), with the
    # options the production shape cannot have at once: an open API.
    "longest-stage-open-api": {
        "stage": LONGEST_STAGE,
        "apiAuth": "none",
        "webhooks": "on",
        "alarmEmail": "oncall@example.com",
        "corsOrigins": "*",
        "allowSimulation": "off",
    },
}


def expected_acknowledgments(options: dict[str, str], environment: Environment) -> set[str]:
    """What cdk-nag must report as acknowledged, and nothing else: the rendering of the schedules'
    ARNs (the delayed tasks' group, the recurring group) as the environment makes them (a known
    region brings its partition)."""
    partition = "aws" if environment.region else "<AWS::Partition>"
    region = environment.region or "<AWS::Region>"
    account = environment.account or "<AWS::AccountId>"
    schedules = f"arn:{partition}:scheduler:{region}:{account}:schedule/ptm-{options['stage']}/*"
    recurring = f"arn:{partition}:scheduler:{region}:{account}:schedule/ptm-{options['stage']}-recurring/*"
    expected = {
        "AwsSolutions-IAM5[Resource::*]",
        f"AwsSolutions-IAM5[Resource::{schedules}]",
        f"AwsSolutions-IAM5[Resource::{recurring}]",
    }
    if options.get("workflowLogLevel", "ALL") != "ALL":
        expected.add("AwsSolutions-SF1")
    if options.get("apiAuth") == "none":
        expected.add("AwsSolutions-APIG4")
    if options.get("webhooks") == "on":
        expected.add("AwsSolutions-SMG4")
    return expected


def expected_outputs(options: dict[str, str]) -> set[str]:
    """Every output ``ptm --stage`` and the operators read (the signing secret's where webhooks
    deliver), and no other."""
    outputs: set[str] = set(Output)
    if options.get("webhooks") != "on":
        outputs.remove(Output.WEBHOOK_SIGNING_SECRET_ARN)
    return outputs


def expected_simulation(options: dict[str, str]) -> str:
    """Test controls (simulate) off on production stages unless a stage says otherwise."""
    allowed = options.get("allowSimulation", "off" if options["stage"] in {"prod", "production"} else "on")
    return "true" if allowed == "on" else "false"


def _api_variables(synth: Synthesized) -> dict[str, Any]:
    [api] = [
        function["Properties"]
        for function in synth.resources("AWS::Lambda::Function").values()
        if str(function["Properties"].get("FunctionName", "")).endswith("-api")
    ]
    variables: dict[str, Any] = api["Environment"]["Variables"]
    return variables


def expected_warnings(options: dict[str, str]) -> set[str]:
    expected = set()
    if "alarmEmail" not in options:
        expected.add("Annotation::ptm:AlarmsNotifyNoOne")
    if options.get("apiAuth") == "none":
        expected.add("Annotation::ptm:OpenApi")
    return expected


@dataclass
class Matrix:
    """Each (shape, environment) synthesized once, on first use."""

    root: Path
    synthesized: dict[tuple[str, str], Synthesized] = field(default_factory=dict)

    def get(self, shape: str, environment: Environment) -> Synthesized:
        key = (shape, environment.name)
        if key not in self.synthesized:
            outdir = self.root / f"{shape}-{environment.name}"
            outdir.mkdir()
            self.synthesized[key] = synthesize(outdir, environment, **SHAPES[shape])
        return self.synthesized[key]

    def every(self) -> Iterator[Synthesized]:
        for shape in SHAPES:
            for environment in ENVIRONMENTS:
                yield self.get(shape, environment)


@pytest.fixture(scope="session")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Matrix:
    return Matrix(tmp_path_factory.mktemp("synthesis-matrix"))


CASES = [
    pytest.param(shape, environment, id=f"{shape}-{environment.name}")
    for shape in SHAPES
    for environment in ENVIRONMENTS
]


@pytest.mark.parametrize(("shape", "environment"), CASES)
def test_each_shape_synthesizes_in_each_environment_with_only_its_acknowledged_findings(
    matrix: Matrix, shape: str, environment: Environment
) -> None:
    synth = matrix.get(shape, environment)

    nag = synth.plugin_report("AwsSolutions")
    assert nag["violations"] == [], [violation["ruleName"] for violation in nag["violations"]]
    assert nag["conclusion"] == "success"
    acknowledged = {violation["ruleName"] for violation in nag["suppressedViolations"]}
    assert acknowledged == expected_acknowledgments(SHAPES[shape], environment)
    assert synth.warnings() == expected_warnings(SHAPES[shape])
    assert set(synth.document["Outputs"]) == expected_outputs(SHAPES[shape])
    assert _api_variables(synth)["ALLOW_SIMULATION"] == expected_simulation(SHAPES[shape])


def test_cfn_lint_passes_on_every_shape_in_every_environment(matrix: Matrix) -> None:
    """One cfn-lint process for every template (its start-up is most of its time)."""
    templates = [str(synth.outdir / f"{synth.stack_name}.template.json") for synth in matrix.every()]
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or "cfn-lint"

    result = subprocess.run(
        [cfn_lint, *templates, "--non-zero-exit-code", "warning", "--ignore-checks", "W3005"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert len(templates) == len(SHAPES) * len(ENVIRONMENTS)
    assert result.returncode == 0, result.stdout + result.stderr


def cli_environment(environment: Environment) -> dict[str, str]:
    """A machine with no AWS configuration, credentials or instance metadata: the CLI hands the
    app only what ``environment`` sets (``make`` puts node_modules/.bin and .venv/bin on PATH)."""
    variables = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "CDK_")) and name not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}
    }
    return {
        **variables,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        **environment.variables(),
    }


def _document(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


@pytest.mark.xdist_group("cdk-cli")  # beside the in-process group, on the other worker
@pytest.mark.parametrize(
    ("stage", "environment"),
    [
        pytest.param("dev", PROFILE_EU, id="dev-profile-eu-west-1"),
        pytest.param("prod", OFFLINE, id="prod-offline"),
    ],
)
def test_make_synth_writes_the_template_of_its_in_process_twin(
    tmp_path: Path, matrix: Matrix, stage: str, environment: Environment
) -> None:
    """The CLI through the Makefile target (cdk-nag and cfn-lint included) equals the in-process
    synthesis of the same shape and environment, so the matrix above proves what users get. The
    outputs a ``make deploy`` saved beside the templates survive it (``ptm --stage`` reads them)."""
    outdir = tmp_path / "cdk.out"
    outdir.mkdir()
    saved = outdir / f"outputs-{stage}.json"
    saved.write_text(json.dumps({f"ProcessTaskManager-{stage}": {"TasksEndpoint": "https://example.com/"}}))

    result = make_synth(stage, outdir, cli_environment(environment))

    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert f"cfn-lint {outdir}/ProcessTaskManager-{stage}.template.json" in result.stdout
    written = _document(outdir / f"ProcessTaskManager-{stage}.template.json")
    assert written == matrix.get(stage, environment).document
    assert saved.exists()
