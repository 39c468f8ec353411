"""Create the stack's resources in the emulator from the system spec, as the CDK app does."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from functions.common.config import Env
from functions.common.limits_table import KEY as LIMIT_KEY
from functions.common.schedules_table import KEY as SCHEDULE_KEY
from functions.common.tasks_table.codec import EXPIRY_ATTRIBUTE
from functions.common.tasks_table.index import TABLE_INDEXES
from infra.generated_workflow import substitution
from infra.limits import TIMINGS, visibility_timeout_seconds
from infra.names import Function, Resource, StageNames
from infra.spec import FUNCTIONS, QueueTrigger, workflow_substitutions
from infra.stage_config import DAY_SECONDS, StageConfig
from infra.task_type_options import RegisteredTypes, TaskTypeOptionError
from infra.workflow_definition import render
from local.emulator import Clients

LAMBDA_RUNTIME: Final = "python3.14"


def _trust_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


@dataclass(frozen=True)
class LocalResources:
    names: StageNames
    table: str
    tasks_queue_url: str
    tasks_queue_arn: str
    dead_letter_queue_url: str
    dead_letter_queue_arn: str
    state_machine_arn: str
    function_arns: dict[Function, str]
    mapping_ids: dict[Function, str]
    """Each queue-triggered function's event-source mapping (the local pollers honour its state)."""
    scheduler_role_arn: str
    """The role a task's schedule names (local/fidelity.py fires schedules without assuming it)."""
    signing_secret_id: str | None = None
    registered_functions: dict[str, str] = field(default_factory=dict)
    """Each registered type's local function (type name → function name): its localHandler runs there."""
    registrations_file: str | None = None
    """The registrations the api reads (the asset's file, on AWS)."""

    def values(self) -> dict[str, str]:
        """What the local stack knows of each variable the spec may ask for: resource names and
        URLs (the stage's values are added by the caller)."""
        return {
            Env.TASKS_TABLE: self.table,
            Env.TASKS_QUEUE_URL: self.tasks_queue_url,
            Env.TASKS_QUEUE_ARN: self.tasks_queue_arn,
            Env.SCHEDULE_GROUP: self.names.schedule_group,
            Env.SCHEDULER_ROLE_ARN: self.scheduler_role_arn,
            Env.RECURRING_SCHEDULE_GROUP: self.names.recurring_schedule_group,
            Env.SCHEDULES_TABLE: self.names.schedules_table,
            Env.LIMITS_TABLE: self.names.limits_table,
            Env.DEAD_LETTER_QUEUE_URL: self.dead_letter_queue_url,
            Env.STATE_MACHINE_ARN: self.state_machine_arn,
            Env.DISPATCH_MAPPING_ID: self.mapping_ids[Function.DISPATCH],
            **({Env.WEBHOOK_SIGNING_SECRET_ID: self.signing_secret_id} if self.signing_secret_id else {}),
            **({Env.REGISTERED_TYPES_FILE: self.registrations_file} if self.registrations_file else {}),
        }


def _placeholder_zip() -> bytes:
    """moto needs a code package; the local runtime runs the handler from this checkout."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "README.txt", "Handlers run in-process from the repository (local/lambda_runtime.py).\n"
        )
    return buffer.getvalue()


def _key_attributes() -> list[str]:
    """The table's key and every index's keys (all strings), each once."""
    keys = ["taskId"]
    for index in TABLE_INDEXES:
        keys += [index.partition_attribute, index.sort_attribute]
    return list(dict.fromkeys(keys))


def create_table(clients: Clients, name: str) -> None:
    clients.dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "taskId", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": "S"} for attribute in _key_attributes()
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_attribute, "KeyType": "HASH"},
                    {"AttributeName": index.sort_attribute, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
            for index in TABLE_INDEXES
        ],
    )
    clients.dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"AttributeName": EXPIRY_ATTRIBUTE, "Enabled": True}
    )


def provision(
    clients: Clients,
    names: StageNames,
    *,
    max_receive_count: int = TIMINGS.max_receive_count,
    time_scale: float = 1.0,
    signing_secret: str | None = None,
    stage: StageConfig | None = None,
) -> LocalResources:
    """Table, queues (DLQ redrive), the Lambda functions, the Express state machine and, where
    webhooks deliver, the signing secret (``signing_secret``: its value).

    ``time_scale`` shrinks the queues' visibility timeouts with the rest of local time (at least
    one second)."""
    stage = stage or StageConfig(stage=names.stage)
    task_types = stage.task_types
    check_local_handlers(task_types)
    create_table(clients, names.table)
    clients.dynamodb.create_table(
        TableName=names.schedules_table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": SCHEDULE_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": SCHEDULE_KEY, "AttributeType": "S"}],
    )
    clients.dynamodb.create_table(
        TableName=names.limits_table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": LIMIT_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": LIMIT_KEY, "AttributeType": "S"}],
    )
    signing_secret_id = None
    if signing_secret is not None:
        # By name: the ARN moto makes changes with every reset (a random suffix, as on AWS).
        clients.secretsmanager.create_secret(Name=names.signing_secret, SecretString=signing_secret)
        signing_secret_id = names.signing_secret

    def visibility(queue: Resource) -> str:
        return str(max(1, int(visibility_timeout_seconds(queue) * time_scale)))

    dlq_url = clients.sqs.create_queue(
        QueueName=names.dead_letter_queue,
        Attributes={
            "MessageRetentionPeriod": str(TIMINGS.dead_letter_retention_days * DAY_SECONDS),
            "VisibilityTimeout": visibility(Resource.DEAD_LETTER_QUEUE),
        },
    )["QueueUrl"]
    dlq_arn = clients.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    tasks_url = clients.sqs.create_queue(
        QueueName=names.tasks_queue,
        Attributes={
            "MessageRetentionPeriod": str(TIMINGS.tasks_queue_retention_days * DAY_SECONDS),
            "VisibilityTimeout": visibility(Resource.TASKS_QUEUE),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
            ),
        },
    )["QueueUrl"]
    tasks_arn = clients.sqs.get_queue_attributes(QueueUrl=tasks_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]

    role_arn = clients.iam.create_role(
        RoleName=f"{names.state_machine}-local",
        AssumeRolePolicyDocument=_trust_policy("lambda.amazonaws.com"),
    )["Role"]["Arn"]
    # The delayed tasks' schedules (fired by local/fidelity.py, which does not assume the role).
    clients.scheduler.create_schedule_group(Name=names.schedule_group)
    clients.scheduler.create_schedule_group(Name=names.recurring_schedule_group)
    scheduler_role_arn = clients.iam.create_role(
        RoleName=f"{names.schedule_group}-scheduler-local",
        AssumeRolePolicyDocument=_trust_policy("scheduler.amazonaws.com"),
    )["Role"]["Arn"]
    code = _placeholder_zip()
    function_arns: dict[Function, str] = {}
    for function in FUNCTIONS:
        spec = stage.function_spec(function)
        function_arns[function] = clients.lambda_.create_function(
            FunctionName=names.function(function),
            Runtime=LAMBDA_RUNTIME,
            Role=role_arn,
            Handler=function.handler,
            Code={"ZipFile": code},
            Timeout=spec.timeout_seconds,
            MemorySize=spec.memory_mb,
            Description=spec.description,
        )["FunctionArn"]

    # Stored, never run by moto (local/fidelity.py): the local stack's pollers are their Lambda.
    queue_arns = {Resource.TASKS_QUEUE: tasks_arn, Resource.DEAD_LETTER_QUEUE: dlq_arn}
    mapping_ids = {
        function: clients.lambda_.create_event_source_mapping(
            FunctionName=names.function(function), EventSourceArn=queue_arns[spec.trigger.queue], Enabled=True
        )["UUID"]
        for function, spec in FUNCTIONS.items()
        if isinstance(spec.trigger, QueueTrigger)
    }

    substitutions = workflow_substitutions(function_arns, names.table, dlq_url)
    registered_functions: dict[str, str] = {}
    for registration in task_types.registrations:
        registered_functions[registration.name] = names.registered_function(registration.name)
        substitutions[substitution(registration.name)] = clients.lambda_.create_function(
            FunctionName=registered_functions[registration.name],
            Runtime=LAMBDA_RUNTIME,
            Role=role_arn,
            Handler=task_types.local_handlers[registration.name],
            Code={"ZipFile": code},
            Timeout=registration.timeout_seconds,
            MemorySize=128,
            Description=f"Registered task type {registration.name} (its localHandler)",
        )["FunctionArn"]
    registrations_file = None
    if task_types:
        registrations_file = str(Path(tempfile.mkdtemp(prefix="ptm-types-")) / "types.json")
        Path(registrations_file).write_text(task_types.file_text(), encoding="utf-8")
    definition = render(substitutions, json.dumps(stage.definition(), indent=2))
    state_machine_arn = clients.sfn.create_state_machine(
        name=names.state_machine, definition=definition, roleArn=role_arn, type="EXPRESS"
    )["stateMachineArn"]

    return LocalResources(
        names=names,
        table=names.table,
        tasks_queue_url=tasks_url,
        tasks_queue_arn=tasks_arn,
        dead_letter_queue_url=dlq_url,
        dead_letter_queue_arn=dlq_arn,
        state_machine_arn=state_machine_arn,
        function_arns=function_arns,
        mapping_ids=mapping_ids,
        scheduler_role_arn=scheduler_role_arn,
        signing_secret_id=signing_secret_id,
        registered_functions=registered_functions,
        registrations_file=registrations_file,
    )


def function_environments(values: Mapping[str, str]) -> dict[Function, dict[str, str]]:
    """Each function's own variables, picked from ``values`` by the spec (as CDK does)."""
    return {function: spec.environment(values) for function, spec in FUNCTIONS.items()}


def check_local_handlers(task_types: RegisteredTypes) -> None:
    """Before anything is created: each registered type has the Python handler the local stack
    runs it from (a function on AWS, given by name or ARN, cannot run here)."""
    for registration in task_types.registrations:
        if registration.name not in task_types.local_handlers:
            raise TaskTypeOptionError(
                registration.name,
                "the local stack runs a registered type from a Python handler: add "
                f'"localHandler": "<module>.<function>" beside "function": "{registration.function}"',
            )
