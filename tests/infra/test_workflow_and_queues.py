from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest
from aws_cdk.assertions import Match

from functions.common.config import DUE_INDEX, PHASE_INDEX, SCHEDULE_INDEX, Env
from functions.common.status_shards import DUE_SHARD_ATTRIBUTE, SHARD_ATTRIBUTE
from functions.common.tasks_table import EXPIRY_ATTRIBUTE
from infra.limits import TIMINGS
from infra.names import Function
from infra.spec import DISPATCH_BATCH_SIZE, FUNCTIONS
from infra.workflow_definition import ASL_PATH, placeholders, read_definition, render
from tests.infra.conftest import Synthesized, synthesize


def _one(synth: Synthesized, resource_type: str) -> tuple[str, dict[str, object]]:
    [(logical_id, resource)] = synth.resources(resource_type).items()
    return logical_id, resource


def _logical_id(synth: Synthesized, resource_type: str, construct_path: str) -> str:
    """CDK's logical id is the construct path without separators plus an 8-hex hash."""
    prefix = construct_path.replace("/", "")
    [logical_id] = [
        logical_id
        for logical_id in synth.resources(resource_type)
        if re.fullmatch(prefix + "[0-9A-F]{8}", logical_id)
    ]
    return logical_id


def test_state_machine_is_express_with_full_logging_and_tracing(dev: Synthesized) -> None:
    dev.template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "EXPRESS",
            "LoggingConfiguration": {
                "Level": "ALL",
                "IncludeExecutionData": True,
                "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": Match.any_value()}}],
            },
            "TracingConfiguration": {"Enabled": True},
        },
    )
    dev.template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": "/aws/vendedlogs/states/ptm-dev-process-task", "RetentionInDays": 30},
    )


def test_workflow_log_level_is_configurable_per_stage(prod: Synthesized) -> None:
    prod.template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {"LoggingConfiguration": {"Level": "ERROR", "IncludeExecutionData": False}},
    )


def test_execution_data_is_logged_on_dev_stages_and_left_out_on_production(
    dev: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Production keeps level ALL (every event, the console's graph) without each state's input
    and output; dev logs both; either can be set by context."""
    dev.template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {"LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": True}},
    )
    prod_defaults = synthesize(tmp_path_factory.mktemp("cdk-prod-defaults"), stage="prod")
    prod_defaults.template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {"LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": False}},
    )
    for function in prod_defaults.resources("AWS::Lambda::Function").values():
        assert function["Properties"]["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"] == "WARNING"
    for function in dev.resources("AWS::Lambda::Function").values():
        assert function["Properties"]["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"] == "INFO"
    # Lambda's own START/END/REPORT lines: WARN on prod, INFO elsewhere; the application level
    # stays INFO at Lambda on every stage, or the EMF metric lines (no level) would be dropped.
    for stage, system in ((prod_defaults, "WARN"), (dev, "INFO")):
        for function in stage.resources("AWS::Lambda::Function").values():
            assert function["Properties"]["LoggingConfig"] == {
                "LogFormat": "JSON",
                "ApplicationLogLevel": "INFO",
                "SystemLogLevel": system,
                "LogGroup": function["Properties"]["LoggingConfig"]["LogGroup"],
            }
    with_data = synthesize(
        tmp_path_factory.mktemp("cdk-prod-data"),
        stage="prod",
        workflowExecutionData="on",
        functionLogLevel="INFO",
    )
    with_data.template.has_resource_properties(
        "AWS::StepFunctions::StateMachine", {"LoggingConfiguration": {"IncludeExecutionData": True}}
    )


def test_deployed_definition_is_the_asl_file_with_its_substitutions(dev: Synthesized) -> None:
    _, machine = _one(dev, "AWS::StepFunctions::StateMachine")
    properties = machine["Properties"]
    assert isinstance(properties, dict)
    assert properties["DefinitionString"] == read_definition()
    substitutions = properties["DefinitionSubstitutions"]
    keys = placeholders(read_definition())
    assert set(substitutions) == keys
    process = _logical_id(dev, "AWS::Lambda::Function", "Compute/Process")
    table = _logical_id(dev, "AWS::DynamoDB::Table", "Storage/Tasks")
    dlq = _logical_id(dev, "AWS::SQS::Queue", "Queues/DeadLetterQueue")
    assert substitutions == {
        "ProcessFunctionArn": {"Fn::GetAtt": [process, "Arn"]},
        "TasksTableName": {"Ref": table},
        "DeadLetterQueueUrl": {"Ref": dlq},
    }
    resolved = json.loads(render({key: f"<{key}>" for key in keys}, properties["DefinitionString"]))
    assert resolved == json.loads(render({key: f"<{key}>" for key in keys}))


def test_asl_passes_the_asl_validator() -> None:
    result = subprocess.run(
        ["npx", "--no-install", "asl-validator", "--json-path", str(ASL_PATH)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_event_sources_report_partial_batch_failures(dev: Synthesized) -> None:
    tasks = _logical_id(dev, "AWS::SQS::Queue", "Queues/TasksQueue")
    dlq = _logical_id(dev, "AWS::SQS::Queue", "Queues/DeadLetterQueue")
    dev.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [tasks, "Arn"]},
            "FunctionName": {"Ref": _logical_id(dev, "AWS::Lambda::Function", "Compute/Dispatch")},
            "BatchSize": DISPATCH_BATCH_SIZE,
            "MaximumBatchingWindowInSeconds": 1,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 10},
        },
    )
    dev.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [dlq, "Arn"]},
            "FunctionName": {"Ref": _logical_id(dev, "AWS::Lambda::Function", "Compute/Monitor")},
            "BatchSize": 10,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


def test_queues_are_encrypted_tls_only_and_redrive_to_the_dlq(dev: Synthesized) -> None:
    dlq = _logical_id(dev, "AWS::SQS::Queue", "Queues/DeadLetterQueue")
    dev.template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": "ptm-dev-tasks",
            "SqsManagedSseEnabled": True,
            "VisibilityTimeout": 6 * FUNCTIONS[Function.DISPATCH].timeout_seconds,
            # Messages wait through a paused dispatch (ptm pause) for a week, not SQS's 4 days.
            "MessageRetentionPeriod": 7 * 24 * 3600,
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]},
                "maxReceiveCount": TIMINGS.max_receive_count,
            },
        },
    )
    dev.template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": "ptm-dev-tasks-dlq",
            "SqsManagedSseEnabled": True,
            # The monitor consumes the DLQ: AWS advises visibility >= 6x the consumer's timeout.
            "VisibilityTimeout": 6 * FUNCTIONS[Function.MONITOR].timeout_seconds,
            "MessageRetentionPeriod": 14 * 24 * 3600,
        },
    )
    policies = dev.resources("AWS::SQS::QueuePolicy")
    assert len(policies) == 2
    for policy in policies.values():
        [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_dispatch_switch_is_the_dispatchers_mapping_which_reconcile_reads(dev: Synthesized) -> None:
    """ptm pause/resume find the mapping by the DispatchMappingId output; reconcile gets its id
    in DISPATCH_MAPPING_ID (its role may read that mapping only: test_functions_and_iam)."""
    [(mapping_id, mapping)] = [
        (logical_id, resource)
        for logical_id, resource in dev.resources("AWS::Lambda::EventSourceMapping").items()
        if "Dispatch" in logical_id
    ]
    assert mapping["Properties"].get("Enabled", True) is True, "deployed running"
    assert dev.template.to_json()["Outputs"]["DispatchMappingId"]["Value"] == {"Ref": mapping_id}
    [reconcile] = [
        resource
        for resource in dev.resources("AWS::Lambda::Function").values()
        if resource["Properties"]["FunctionName"] == "ptm-dev-reconcile"
    ]
    variables = reconcile["Properties"]["Environment"]["Variables"]
    assert variables[Env.DISPATCH_MAPPING_ID] == {"Ref": mapping_id}


def test_visibility_timeout_covers_six_dispatcher_timeouts(dev: Synthesized) -> None:
    _, dispatch = next(
        (logical_id, resource)
        for logical_id, resource in dev.resources("AWS::Lambda::Function").items()
        if resource["Properties"]["FunctionName"] == "ptm-dev-dispatch"
    )
    [tasks] = [
        queue
        for queue in dev.resources("AWS::SQS::Queue").values()
        if queue["Properties"]["QueueName"] == "ptm-dev-tasks"
    ]
    assert tasks["Properties"]["VisibilityTimeout"] >= 6 * dispatch["Properties"]["Timeout"]


def _keys_only_index(name: str, partition: str, sort: str) -> Any:
    return Match.object_like(
        {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": partition, "KeyType": "HASH"},
                {"AttributeName": sort, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    )


def test_table_is_on_demand_with_pitr_and_the_status_index(dev: Synthesized) -> None:
    dev.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": "ptm-dev-tasks",
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            # Encrypted with a KMS key (AWS managed), not only DynamoDB's default owned key.
            "SSESpecification": {"SSEEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": EXPIRY_ATTRIBUTE, "Enabled": True},
            "GlobalSecondaryIndexes": [
                _keys_only_index(PHASE_INDEX, SHARD_ATTRIBUTE, "createdAt"),
                # Sparse: only SCHEDULED records carry its key, dueShard.
                _keys_only_index(DUE_INDEX, DUE_SHARD_ATTRIBUTE, "runAt"),
                # Sparse: only a task a recurring schedule submitted carries its keys.
                _keys_only_index(SCHEDULE_INDEX, "schedule", "scheduledTime"),
            ],
        },
    )
    dev.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": "ptm-dev-schedules",
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "name", "KeyType": "HASH"}],
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
        },
    )
    dev.template.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Delete"})


def test_production_retains_the_table_and_dlq_and_protects_the_table(prod: Synthesized) -> None:
    prod.template.has_resource(
        "AWS::DynamoDB::Table",
        {"DeletionPolicy": "Retain", "Properties": Match.object_like({"DeletionProtectionEnabled": True})},
    )
    prod.template.has_resource(
        "AWS::SQS::Queue",
        {"DeletionPolicy": "Retain", "Properties": Match.object_like({"QueueName": "ptm-prod-tasks-dlq"})},
    )
