"""Synthesize the real CDK app once per session (it costs seconds), as ``cdk synth`` would."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Annotations, Template

from infra.app import build
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


def synthesize(tmp: Path, **context: str) -> Synthesized:
    """A bare App does not read cdk.json, so pass its context (feature flags) explicitly."""
    settings = json.loads(CDK_JSON.read_text())["context"]
    app = App(context={**settings, **context}, outdir=str(tmp))
    stack = build(app)
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
        if "tests/infra" in str(item.path):
            item.add_marker(pytest.mark.infra)
            item.add_marker(pytest.mark.xdist_group("cdk"))
