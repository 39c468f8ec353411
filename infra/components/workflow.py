"""The Express state machine, deployed from the same ASL file the tests execute."""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.components.compute import log_retention
from infra.stage_config import StageConfig
from infra.workflow_definition import read_definition


class WorkflowStateMachine(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        substitutions: Mapping[str, str],
        grants: list[tuple[list[str], list[str]]],
    ) -> None:
        super().__init__(scope, construct_id)
        # /aws/vendedlogs/states/...: other names grow the account's Logs resource policy (aws-cdk#28900).
        self.log_group = logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=config.names.state_machine_log_group,
            retention=log_retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description=f"{config.names.state_machine}: invoke process, mark tasks failed, dead-letter them",
        )
        # The ASL's needs, stated exactly in the spec: nothing is inferred from a definition file.
        for actions, resources in grants:
            self.role.add_to_policy(iam.PolicyStatement(actions=actions, resources=resources))
        self.state_machine = sfn.StateMachine(
            self,
            "ProcessTask",
            state_machine_name=config.names.state_machine,
            state_machine_type=sfn.StateMachineType.EXPRESS,
            # The ASL file itself, or with the stage's registered types' branches (generated).
            definition_body=sfn.DefinitionBody.from_string(definition_text(config)),
            definition_substitutions=dict(substitutions),
            role=self.role,
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel(config.workflow_log_level.value),
                include_execution_data=config.include_execution_data,
            ),
            tracing_enabled=True,
        )


def definition_text(config: StageConfig) -> str:
    """The stage's definition: the ASL file as it is when the stage changes nothing in it."""
    definition = config.definition()
    if definition == json.loads(read_definition()):
        return read_definition()
    return json.dumps(definition, indent=2) + "\n"
