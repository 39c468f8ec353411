"""Every IAM policy in the synthesized dev and prod templates, checked by a second tool:
parliament (duo-labs), beside cdk-nag. Identity policies (each role's inline and attached
policies) and resource policies (queues, topic) alike. CloudFormation intrinsics are resolved
to the ARNs they would be on AWS (a fixed account and region), so parliament sees real ARNs and
checks each action against its resource type."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.infra.conftest import Synthesized

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # parliament imports pkg_resources, deprecated
    from parliament import analyze_policy_string  # type: ignore[import-untyped]

ACCOUNT = "123456789012"
REGION = "us-east-1"
ACCEPTED: dict[tuple[str, str], str] = {}
"""(policy's logical id prefix, finding issue) → why the finding is accepted. Empty: none is."""


def _arn(template: dict[str, Any], logical_id: str) -> str:
    resource = template["Resources"][logical_id]
    kind, props = resource["Type"], resource.get("Properties", {})
    name = logical_id.lower()
    arns = {
        "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
        "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
        "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}",
        "AWS::StepFunctions::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}",
        "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*",
        "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "AWS::CloudWatch::Alarm": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}",
        "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}",
    }
    if kind not in arns:
        raise AssertionError(f"no ARN form for {kind} ({logical_id}): add one")
    del props
    return arns[kind]


def _ref(template: dict[str, Any], target: str) -> str:
    pseudo = {
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": "ptm-stack",
    }
    if target in pseudo:
        return pseudo[target]
    resource = template["Resources"].get(target)
    if resource is None:
        return f"parameter-{target.lower()}"
    if resource["Type"] in {"AWS::SQS::Queue"}:
        return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{target.lower()}"
    if resource["Type"] in {"AWS::SNS::Topic", "AWS::StepFunctions::StateMachine"}:
        return _arn(template, target)
    return target.lower()


def _get_att(template: dict[str, Any], argument: list[str]) -> str:
    logical_id, attribute = argument
    if attribute != "Arn":
        raise AssertionError(f"Fn::GetAtt {attribute} not resolved")
    return _arn(template, logical_id)


def _join(template: dict[str, Any], argument: list[Any]) -> str:
    separator, parts = argument
    return str(separator).join(str(resolve(template, part)) for part in parts)


def _sub(template: dict[str, Any], argument: str | list[Any]) -> str:
    text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
    for key, replacement in variables.items():
        text = text.replace("${" + key + "}", str(resolve(template, replacement)))
    for pseudo in ("AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::URLSuffix"):
        text = text.replace("${" + pseudo + "}", _ref(template, pseudo))
    return str(text)


INTRINSICS: dict[str, Callable[[dict[str, Any], Any], str]] = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Join": _join,
    "Fn::Sub": _sub,
}


def resolve(template: dict[str, Any], value: Any) -> Any:
    """The value with every intrinsic replaced by what it would be on AWS."""
    if isinstance(value, list):
        return [resolve(template, item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key in INTRINSICS:
            return INTRINSICS[key](template, argument)
        if key.startswith("Fn::"):
            raise AssertionError(f"intrinsic not resolved: {value}")
    return {key: resolve(template, item) for key, item in value.items()}


def policies(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind in {
            "AWS::IAM::Policy",
            "AWS::IAM::ManagedPolicy",
            "AWS::SQS::QueuePolicy",
            "AWS::SNS::TopicPolicy",
        }:
            yield logical_id, props["PolicyDocument"]
        elif kind == "AWS::IAM::Role":
            for inline in props.get("Policies", []):
                yield f"{logical_id}/{inline['PolicyName']}", inline["PolicyDocument"]


def findings(synthesized: Synthesized | _Document) -> list[tuple[str, str, str]]:
    template = synthesized.document
    found = []
    checked = 0
    for name, document in policies(template):
        checked += 1
        policy = analyze_policy_string(json.dumps(resolve(template, document)))
        for finding in policy.findings:
            accepted = any(name.startswith(prefix) and finding.issue == issue for prefix, issue in ACCEPTED)
            if not accepted:
                found.append((name, finding.issue, json.dumps(finding.detail, default=str)[:300]))
    assert checked >= 8, f"only {checked} policies found: the walk missed some"
    return found


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_parliament_finds_nothing_in_any_policy(stage: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(stage)
    assert findings(synthesized) == []


def test_the_check_would_see_a_wrong_grant(dev: Synthesized) -> None:
    """The premise: with intrinsics resolved, parliament sees each grant's resource type, so a
    grant on the wrong resource, or on every resource, is a finding."""
    template = json.loads(json.dumps(dev.document))
    process_policy = next(
        resource["Properties"]["PolicyDocument"]
        for logical_id, resource in template["Resources"].items()
        if logical_id.startswith("ComputeProcessRoleDefaultPolicy")
    )
    table_grant = next(s for s in process_policy["Statement"] if "dynamodb:UpdateItem" in s["Action"])
    queue = next(i for i, r in template["Resources"].items() if r["Type"] == "AWS::SQS::Queue")
    table_grant["Resource"] = {"Fn::GetAtt": [queue, "Arn"]}
    process_policy["Statement"].append({"Effect": "Allow", "Action": "dynamodb:DeleteTable", "Resource": "*"})

    issues = {
        issue for name, issue, _ in findings(_Document(template)) if name.startswith("ComputeProcessRole")
    }

    assert {"RESOURCE_MISMATCH", "RESOURCE_STAR"} <= issues


class _Document:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
