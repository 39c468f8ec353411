from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from functions.common.config import Env
from infra.components.compute import BUNDLED_PACKAGES, powertools_layer_parameter
from infra.names import Function
from infra.spec import FUNCTIONS
from tests.infra.conftest import Synthesized, synthesize

READ_QUEUE = {
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
}
LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
XRAY = {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}
SCHEDULES = "arn::scheduler:::schedule/ptm-dev/*"
RECURRING = "arn::scheduler:::schedule/ptm-dev-recurring/*"
"""Every schedule of the stage's group (the ARN's partition, Region and account left out)."""
EXPECTED_GRANTS: dict[Function, dict[str, set[str]]] = {
    Function.API: {
        "OwnLogs": LOGS,
        "*": XRAY,
        "StorageTasks": {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:BatchGetItem",
        },
        "StorageTasks/index/byPhase": {"dynamodb:Query"},
        "StorageTasks/index/bySchedule": {"dynamodb:Query"},
        "StorageSchedules": {
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:Scan",
        },
        "QueuesTasksQueue": {"sqs:SendMessage"},
        "StorageLimits": {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:BatchGetItem",
        },
        SCHEDULES: {"scheduler:CreateSchedule", "scheduler:DeleteSchedule"},
        RECURRING: {
            "scheduler:CreateSchedule",
            "scheduler:GetSchedule",
            "scheduler:UpdateSchedule",
            "scheduler:DeleteSchedule",
        },
        "SchedulesRole": {"iam:PassRole"},
    },
    Function.DISPATCH: {
        "OwnLogs": LOGS,
        "*": XRAY,
        "WorkflowProcessTask": {"states:StartExecution"},
        "StorageTasks": {"dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"},
        "StorageSchedules": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
        "QueuesTasksQueue": READ_QUEUE | {"sqs:SendMessage"},
        "StorageLimits": {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"},
        "QueuesDeadLetterQueue": {"sqs:SendMessage"},
    },
    Function.PROCESS: {
        "OwnLogs": LOGS,
        "*": XRAY,
        "StorageTasks": {"dynamodb:UpdateItem", "dynamodb:GetItem"},
        "StorageLimits": {"dynamodb:UpdateItem"},
    },
    Function.MONITOR: {
        "OwnLogs": LOGS,
        "*": XRAY,
        "StorageTasks": {"dynamodb:UpdateItem"},
        "QueuesDeadLetterQueue": READ_QUEUE,
        "StorageLimits": {"dynamodb:UpdateItem"},
    },
    Function.RECONCILE: {
        "OwnLogs": LOGS,
        "*": XRAY,
        "StorageTasks": {"dynamodb:UpdateItem", "dynamodb:BatchGetItem"},
        "StorageTasks/index/byPhase": {"dynamodb:Query"},
        "StorageTasks/index/byRunAt": {"dynamodb:Query"},
        "QueuesTasksQueue": {"sqs:SendMessage"},
        "QueuesDeadLetterQueue": {"sqs:SendMessage"},
        "DispatchMapping": {"lambda:GetEventSourceMapping"},
    },
}


def _resource_key(resource: Any) -> str:
    """A readable name for a policy resource: '*', a logical-id prefix, or prefix + suffix."""
    if resource == "*":
        return "*"
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return str(resource["Fn::GetAtt"][0])[:-8]
    if isinstance(resource, dict) and "Ref" in resource:
        return str(resource["Ref"])[:-8]
    if isinstance(resource, dict) and "Fn::Join" in resource:
        # Named by its first reference to a resource of the stack (not AWS::AccountId and the like),
        # or, with none, by its text without the pseudo parameters.
        parts = resource["Fn::Join"][1]
        anchors = [
            index
            for index, part in enumerate(parts)
            if isinstance(part, dict) and not str(part.get("Ref", "")).startswith("AWS::")
        ]
        if not anchors:
            return "".join(part for part in parts if isinstance(part, str))
        anchor = anchors[0]
        key = _resource_key(parts[anchor])
        if key.startswith("ComputeDispatchSqsEventSource"):
            return "DispatchMapping"
        return key + "".join(part for part in parts[anchor + 1 :] if isinstance(part, str))
    raise AssertionError(f"unexpected resource {resource}")


def _grants(synth: Synthesized, role_prefix: str) -> dict[str, set[str]]:
    grants: dict[str, set[str]] = {}
    for policy in synth.resources("AWS::IAM::Policy").values():
        roles = [role["Ref"] for role in policy["Properties"]["Roles"]]
        if not any(role.startswith(role_prefix) for role in roles):
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for resource in resources:
                key = _resource_key(resource)
                key = "OwnLogs" if key == f"{role_prefix.removesuffix('Role')}Logs" else key
                grants.setdefault(key, set()).update(actions)
    return grants


@pytest.mark.parametrize("function", list(Function))
def test_each_function_role_grants_exactly_what_it_uses(dev: Synthesized, function: Function) -> None:
    assert _grants(dev, f"Compute{function.value.title()}Role") == EXPECTED_GRANTS[function]


def test_where_webhooks_deliver_only_the_process_function_reads_the_signing_secret(
    dev: Synthesized, open_api: Synthesized
) -> None:
    assert dev.resources("AWS::SecretsManager::Secret") == {}, "no webhooks, no secret"
    (secret_id,) = open_api.resources("AWS::SecretsManager::Secret")
    readers = {
        function: _grants(open_api, f"Compute{function.value.title()}Role").get(secret_id[:-8], set())
        for function in Function
    }
    assert readers == {
        function: ({"secretsmanager:GetSecretValue"} if function is Function.PROCESS else set())
        for function in Function
    }
    for function in open_api.resources("AWS::Lambda::Function").values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        if "FAILURE_RATE" in variables:  # the process function
            assert variables[Env.WEBHOOK_SIGNING_SECRET_ID] == {"Ref": secret_id}
        else:
            assert Env.WEBHOOK_SIGNING_SECRET_ID not in variables
    assert "WebhookSigningSecretArn" in open_api.document["Outputs"]


def test_only_scheduler_may_assume_the_schedules_role_and_it_only_sends_to_the_tasks_queue(
    dev: Synthesized,
) -> None:
    [(role_id, role)] = [
        (logical_id, role)
        for logical_id, role in dev.resources("AWS::IAM::Role").items()
        if logical_id.startswith("SchedulesRole")
    ]
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    groups = dev.resources("AWS::Scheduler::ScheduleGroup")
    by_name = {group["Properties"]["Name"]: logical_id for logical_id, group in groups.items()}
    assert set(by_name) == {"ptm-dev", "ptm-dev-recurring"}
    assert trust["Condition"] == {
        "StringEquals": {
            "aws:SourceAccount": {"Ref": "AWS::AccountId"},
            "aws:SourceArn": [
                {"Fn::GetAtt": [by_name[name], "Arn"]} for name in ("ptm-dev", "ptm-dev-recurring")
            ],
        }
    }
    assert _grants(dev, "SchedulesRole") == {"QueuesTasksQueue": {"sqs:SendMessage"}}
    # The api function may pass that role to Scheduler and to nothing else.
    [passing] = [
        statement
        for policy in dev.resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "iam:PassRole"
    ]
    assert passing["Resource"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    dev.template.has_resource_properties("AWS::Scheduler::ScheduleGroup", {"Name": "ptm-dev"})
    dev.template.has_resource("AWS::Scheduler::ScheduleGroup", {"DeletionPolicy": "Delete"})


def test_the_recurring_group_is_never_kept_so_no_schedule_fires_after_destroy(prod: Synthesized) -> None:
    """Deleting a group deletes its schedules (DeleteScheduleGroup): a production stage keeps its
    delayed tasks' group and the schedules table, but never the recurring schedules' group."""
    groups = {
        group["Properties"]["Name"]: group
        for group in prod.resources("AWS::Scheduler::ScheduleGroup").values()
    }
    assert groups["ptm-prod"]["DeletionPolicy"] == "Retain"
    assert groups["ptm-prod-recurring"]["DeletionPolicy"] == "Delete"
    tables = {
        table["Properties"]["TableName"]: table for table in prod.resources("AWS::DynamoDB::Table").values()
    }
    assert tables["ptm-prod-schedules"]["DeletionPolicy"] == "Retain"
    assert tables["ptm-prod-schedules"]["Properties"]["DeletionProtectionEnabled"] is True
    assert tables["ptm-prod-schedules"]["Properties"]["KeySchema"] == [
        {"AttributeName": "name", "KeyType": "HASH"}
    ]


def test_function_roles_have_no_managed_policies(dev: Synthesized) -> None:
    for role in dev.resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_state_machine_role_grants_exactly_the_asl_integrations(dev: Synthesized) -> None:
    grants = _grants(dev, "WorkflowRole")
    assert grants["ComputeProcess"] == {"lambda:InvokeFunction"}
    assert grants["StorageTasks"] == {"dynamodb:UpdateItem"}
    assert grants["QueuesDeadLetterQueue"] == {"sqs:SendMessage"}
    assert grants["*"] == {
        "logs:CreateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:DescribeLogGroups",
        "logs:DescribeResourcePolicies",
        "logs:GetLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:UpdateLogDelivery",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    }
    assert set(grants) == {"ComputeProcess", "StorageTasks", "QueuesDeadLetterQueue", "*"}


def test_functions_share_one_runtime_arm64_tracing_and_the_powertools_layer(dev: Synthesized) -> None:
    functions = dev.resources("AWS::Lambda::Function")
    assert len(functions) == len(Function)
    parameters = dev.document["Parameters"]
    [layer_parameter] = [
        name
        for name, parameter in parameters.items()
        if parameter.get("Default") == powertools_layer_parameter("3.37.0")
    ]
    for function in functions.values():
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.14"
        assert properties["Architectures"] == ["arm64"]
        # The dispatcher records no trace of its own: its executions join the submitting
        # request's trace (the message's AWSTraceHeader), so a task is one trace, not two.
        mode = "PassThrough" if properties["FunctionName"].endswith(Function.DISPATCH.value) else "Active"
        assert properties["TracingConfig"] == {"Mode": mode}
        assert properties["Layers"] == [{"Ref": layer_parameter}]


@pytest.mark.parametrize("function", list(Function))
def test_each_function_gets_exactly_the_variables_its_settings_read(
    dev: Synthesized, function: Function
) -> None:
    """Checked against the settings model itself: every required field is set, nothing else is,
    and the model accepts what the template gives (tokens stand in for resource names)."""
    [resource] = [
        resource
        for resource in dev.resources("AWS::Lambda::Function").values()
        if resource["Properties"]["FunctionName"] == f"ptm-dev-{function.value}"
    ]
    variables = resource["Properties"]["Environment"]["Variables"]
    powertools = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}
    model = FUNCTIONS[function].settings
    fields = model.variables()
    required = {name for name, is_required in fields.items() if is_required}
    assert required <= set(variables) - powertools <= set(fields)
    model.from_env({name: value if isinstance(value, str) else "token" for name, value in variables.items()})
    assert variables["POWERTOOLS_SERVICE_NAME"] == "ptm-dev"


def test_every_handler_imports_from_the_asset_alone(dev: Synthesized) -> None:
    """The asset is functions/ and the packages the runtime lacks (aws-croniter); each handler
    string, and each bundled package, must import from it, not from the checkout."""
    manifest = dev.outdir / f"{dev.stack_name}.assets.json"
    assert manifest.exists()
    [asset_dir] = [path for path in dev.outdir.glob("asset.*") if path.is_dir()]
    assert sorted(child.name for child in asset_dir.iterdir()) == sorted(["functions", *BUNDLED_PACKAGES])
    assert not list(asset_dir.rglob("__pycache__"))
    environment = {
        **os.environ,
        "PYTHONPATH": str(asset_dir),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_REGION": "us-east-1",
        "TASKS_TABLE": "t",
        "TASKS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/q/q",
        "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:a:stateMachine:s",
    }
    probes = [
        function["Properties"]["Handler"].rpartition(".")
        for function in dev.resources("AWS::Lambda::Function").values()
    ] + [(package, ".", "__name__") for package in BUNDLED_PACKAGES]
    for module, _, attribute in probes:
        probe = (
            f"import importlib, pathlib; m = importlib.import_module({module!r}); "
            f"assert m.{attribute}; "
            f"assert pathlib.Path(m.__file__).is_relative_to({str(asset_dir)!r}), m.__file__"
        )
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=asset_dir,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-2000:]


def test_the_console_link_opens_the_express_execution_page(dev: Synthesized) -> None:
    """The console's Express execution page needs the execution ARN and a start date."""
    [submit] = [
        resource
        for resource in dev.resources("AWS::Lambda::Function").values()
        if resource["Properties"]["FunctionName"] == "ptm-dev-api"
    ]
    template = submit["Properties"]["Environment"]["Variables"]["CONSOLE_URL_TEMPLATE"]
    parts = template["Fn::Join"][1] if isinstance(template, dict) else [template]
    rendered = "".join(part if isinstance(part, str) else "us-east-1" for part in parts)

    url = rendered.format(taskId="t", executionArn="arn:aws:states:us-east-1:1:express:m:e:r", startDate=1700)

    assert url == (
        "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1"
        "#/express-executions/details/arn:aws:states:us-east-1:1:express:m:e:r?startDate=1700"
    )


def test_a_layer_arn_by_context_replaces_the_ssm_parameter(tmp_path: Path) -> None:
    """For regions where Powertools publishes no SSM parameter."""
    arn = "arn:aws:lambda:eu-south-2:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:20"
    synth = synthesize(tmp_path, powertoolsLayerArn=arn)
    for function in synth.resources("AWS::Lambda::Function").values():
        assert function["Properties"]["Layers"] == [arn]
    assert not [
        name
        for name, parameter in synth.document.get("Parameters", {}).items()
        if "powertools" in str(parameter.get("Default", ""))
    ]
