"""cdk-nag findings that are inherent to the design, each acknowledged with its reason.

Everything else is fixed in the constructs. Acknowledgments are granular (rule + finding)
and attached to the construct they concern, never to the whole app.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

from infra.names import Function
from infra.stage_config import ApiAuth, WorkflowLogLevel

if TYPE_CHECKING:
    from infra.components.api import Api
    from infra.components.compute import Compute
    from infra.components.schedules import Schedules
    from infra.components.workflow import WorkflowStateMachine
    from infra.stage_config import StageConfig

PACK = "AwsSolutions::"


@dataclass(frozen=True)
class Finding:
    rule: str
    reason: str


XRAY_WILDCARD = Finding(
    "AwsSolutions-IAM5[Resource::*]",
    "X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions; "
    "AWS requires Resource '*' for active tracing.",
)
WORKFLOW_WILDCARD = Finding(
    "AwsSolutions-IAM5[Resource::*]",
    "Step Functions log delivery (logs:*LogDelivery, PutResourcePolicy, Describe*) and X-Ray tracing "
    "support no resource-level permissions; AWS documents Resource '*' for both.",
)


def as_finding_resource(scope: IConstruct, value: str) -> str:
    """``value`` (an ARN a grant names) as cdk-nag names it in a finding: resolved in ``scope``'s
    stack, then flattened as cdk-nag flattens CloudFormation references (``{"Ref": "AWS::Region"}``
    is ``<AWS::Region>``). Built from the very expression the grant uses, it matches whatever the
    synthesis renders: tokens in an environment-agnostic app, a concrete region from the CDK CLI,
    a concrete account and region from a profile."""
    return _flatten(Stack.of(scope).resolve(value))


def _flatten(node: Any) -> str:
    """cdk-nag's ``flattenCfnReference`` (src/utils/flatten-cfn-reference.ts), rule for rule."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        for intrinsic, flatten in _INTRINSICS.items():  # in cdk-nag's order
            if node.get(intrinsic):
                return flatten(node[intrinsic])
    return json.dumps(node, separators=(",", ":"))


_INTRINSICS: dict[str, Callable[[Any], str]] = {
    "Fn::Join": lambda join: str(join[0]).join(_flatten(item) for item in join[1]),
    "Fn::Sub": _flatten,
    "Fn::GetAtt": lambda get_att: f"<{_flatten(get_att[0])}.{_flatten(get_att[1])}>",
    "Fn::ImportValue": _flatten,
    "Ref": lambda ref: f"<{_flatten(ref)}>",
}


def group_wildcard(api_role: IConstruct, group_schedules_arn: str, what: str) -> Finding:
    """The api function's grant on every schedule of one of the stage's groups (``what``: whose
    schedules, and how they are named)."""
    return Finding(
        f"AwsSolutions-IAM5[Resource::{as_finding_resource(api_role, group_schedules_arn)}]",
        f"The api function manages one schedule per {what}: the names are not known at deploy time, "
        "so the grant is every schedule of that one group of the stage's, and nothing else.",
    )


OPEN_API = Finding(
    "AwsSolutions-APIG4",
    "The deployer chose --context apiAuth=none (the default is iam; synth warns): every route is "
    "open to anyone with the URL. Throttling still applies.",
)

REDUCED_WORKFLOW_LOGGING = Finding(
    "AwsSolutions-SF1",
    "The operator lowered workflowLogLevel for this stage to cut log cost (ALL is the default); "
    "the console's Express execution graphs need ALL.",
)
MANUAL_SIGNING_SECRET_ROTATION = Finding(
    "AwsSolutions-SMG4",
    "The webhook signing secret is shared with the receivers, who must learn a new one before it "
    "signs alone: an operator rotates it by putting 'new old' (both signatures are sent), then "
    "'new' once the receivers have switched (README). No rotation Lambda can coordinate that.",
)


def acknowledge(construct: IConstruct, finding: Finding) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=PACK + finding.rule, reason=finding.reason))


def acknowledge_inherent_findings(
    *,
    config: StageConfig,
    compute: Compute,
    workflow: WorkflowStateMachine,
    api: Api,
    schedules: Schedules,
    signing_secret: IConstruct | None,
) -> None:
    for function in compute.functions.values():
        if function.role is not None:
            acknowledge(function.role, XRAY_WILDCARD)
    api_role = compute.functions[Function.API].role
    if api_role is not None:
        delayed = "delayed task (created and deleted), named after the task"
        recurring = "recurring schedule (created, read, updated, deleted), named by PUT /schedules/{name}"
        acknowledge(api_role, group_wildcard(api_role, schedules.schedules_arn, delayed))
        acknowledge(api_role, group_wildcard(api_role, schedules.recurring_schedules_arn, recurring))
    acknowledge(workflow.role, WORKFLOW_WILDCARD)
    if config.workflow_log_level is not WorkflowLogLevel.ALL:
        acknowledge(workflow.state_machine, REDUCED_WORKFLOW_LOGGING)
    if config.api_auth is ApiAuth.NONE:
        acknowledge(api.http_api, OPEN_API)
    if signing_secret is not None:
        acknowledge(signing_secret, MANUAL_SIGNING_SECRET_ROTATION)
