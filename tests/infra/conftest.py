"""Synthesize the real CDK app as ``cdk synth`` would: the same context (cdk.json's, the CLI's own,
the stage's) and the account and region the CLI hands the app, once per session each (an
in-process synthesis costs about half a second once jsii is warm; a CLI run about six)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Annotations, Template

from infra.app import build
from infra.stage_options import HYPOTHETICAL
from infra.workflow_definition import REPO_ROOT

CDK_JSON = REPO_ROOT / "cdk.json"


@dataclass(frozen=True)
class Synthesized:
    template: Template
    outdir: Path
    stack_name: str
    annotations: Annotations

    @property
    def document(self) -> dict[str, Any]:
        return dict(self.template.to_json())

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.document["Resources"].items()
            if resource["Type"] == resource_type
        }

    def validation_report(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads((self.outdir / "validation-report.json").read_text())
        return report

    def plugin_report(self, plugin: str) -> dict[str, Any]:
        """One plugin's part of the report: ``AwsSolutions`` (cdk-nag), or ``Construct
        Annotations`` (the warnings synth prints beside it)."""
        reports = {report["pluginName"]: report for report in self.validation_report()["pluginReports"]}
        found: dict[str, Any] = reports[plugin]
        return found

    def warnings(self) -> set[str]:
        """The warnings synth reported beside cdk-nag's findings (no report when there are none)."""
        reports = {report["pluginName"]: report for report in self.validation_report()["pluginReports"]}
        annotations = reports.get("Construct Annotations", {"violations": []})
        return {violation["ruleName"] for violation in annotations["violations"]}


@dataclass(frozen=True)
class Environment:
    """The account and region the CDK CLI hands the app (``CDK_DEFAULT_ACCOUNT``,
    ``CDK_DEFAULT_REGION``). With no credentials it sets no account, and the region of
    ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` (us-east-1 when neither is set: a ``CDK_DEFAULT_REGION``
    of the user's own is overwritten); with a profile, the profile's account and region."""

    name: str
    account: str | None = None
    region: str | None = None

    def variables(self) -> dict[str, str]:
        """What makes the CLI hand the app this environment, on a machine without credentials."""
        variables = {"AWS_REGION": self.region or "us-east-1"}
        if self.account is not None:
            variables["CDK_DEFAULT_ACCOUNT"] = self.account
        return variables


EXAMPLE_ACCOUNT = "123456789012"
"""AWS's documentation account id: never a real one."""
AGNOSTIC = Environment("agnostic")
"""No account, no region: every ARN keeps its pseudo parameters (an App built without ``env``)."""
OFFLINE = Environment("offline", region="us-east-1")
"""``make synth`` on a machine with no AWS configuration at all."""
OFFLINE_EU = Environment("offline-eu-west-1", region="eu-west-1")
"""``AWS_REGION=eu-west-1 make synth`` without credentials."""
PROFILE = Environment("profile-us-east-1", account=EXAMPLE_ACCOUNT, region="us-east-1")
PROFILE_EU = Environment("profile-eu-west-1", account=EXAMPLE_ACCOUNT, region="eu-west-1")
ENVIRONMENTS = (AGNOSTIC, OFFLINE, OFFLINE_EU, PROFILE, PROFILE_EU)

CLI_CONTEXT = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
    "aws:cdk:bundling-stacks": ["**"],
    "@aws-cdk/core:failSynthOnValidationErrors": False,
}
"""The context the CDK CLI adds to cdk.json's (its CDK_CONTEXT_JSON for the app): the
in-process synthesis and the CLI's are compared byte for byte (test_synthesis.py)."""


def synthesize(tmp: Path, environment: Environment = AGNOSTIC, **context: str) -> Synthesized:
    """A bare App does not read cdk.json, so pass its context (feature flags) explicitly."""
    settings = json.loads(CDK_JSON.read_text())["context"]
    if set(context) - {"stage"}:
        context = {
            **context,
            HYPOTHETICAL: "true",
        }  # options beyond a stage's file, as make synth CONTEXT=...
    app = App(context={**settings, **CLI_CONTEXT, **context}, outdir=str(tmp))
    stack = build(app, account=environment.account, region=environment.region)
    app.synth()
    return Synthesized(Template.from_stack(stack), tmp, stack.stack_name, Annotations.from_stack(stack))


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(
        tmp_path_factory.mktemp("cdk-prod"),
        stage="prod",
        workflowLogLevel="ERROR",
        alarmEmail="oncall@example.com",
        reconcileEveryMinutes="10",
    )


@pytest.fixture(scope="session")
def open_api(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """A stage whose deployer turned authorization off, and webhooks on."""
    return synthesize(tmp_path_factory.mktemp("cdk-open"), stage="demo", apiAuth="none", webhooks="on")


@pytest.fixture(scope="session")
def jwt(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(
        tmp_path_factory.mktemp("cdk-jwt"),
        stage="jwtstage",
        apiAuth="jwt",
        jwtIssuer="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example",
        jwtAudience="client-a,client-b",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/infra" in str(item.path) and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group("cdk"))
