"""The Process Task Manager stack: it composes one construct per concern, in diagram order,
from the system spec (functions, triggers, permissions) and the stage's settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import ArnFormat, CfnOutput, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from functions.common.config import DUE_INDEX, PHASE_INDEX, SCHEDULE_INDEX, Env
from infra.components.api import Api
from infra.components.compute import Compute
from infra.components.observability import Observability
from infra.components.queues import Queues
from infra.components.schedules import Schedules
from infra.components.storage import Storage
from infra.components.workflow import WorkflowStateMachine
from infra.generated_workflow import substitution
from infra.nag import acknowledge_inherent_findings
from infra.names import Function, Output, Resource
from infra.spec import (
    FUNCTIONS,
    SCHEDULER_GRANTS,
    WORKFLOW_GRANTS,
    QueueTrigger,
    ScheduleTrigger,
    api_routes,
    workflow_substitutions,
)
from infra.stage_config import StageConfig


class ProcessTaskManagerStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        storage = Storage(self, "Storage", config=config)
        queues = Queues(self, "Queues", config=config)
        schedules = Schedules(self, "Schedules", config=config)
        compute = Compute(self, "Compute", config=config)
        fns = compute.functions
        arns = {
            Resource.TABLE: storage.table.table_arn,
            Resource.PHASE_INDEX: f"{storage.table.table_arn}/index/{PHASE_INDEX}",
            Resource.DUE_INDEX: f"{storage.table.table_arn}/index/{DUE_INDEX}",
            Resource.TASKS_QUEUE: queues.tasks_queue.queue_arn,
            Resource.DEAD_LETTER_QUEUE: queues.dead_letter_queue.queue_arn,
            Resource.PROCESS_FUNCTION: fns[Function.PROCESS].function_arn,
            Resource.SCHEDULE_INDEX: f"{storage.table.table_arn}/index/{SCHEDULE_INDEX}",
            Resource.SCHEDULES_TABLE: storage.schedules_table.table_arn,
            Resource.LIMITS_TABLE: storage.limits_table.table_arn,
            Resource.SCHEDULES: schedules.schedules_arn,
            Resource.RECURRING_SCHEDULES: schedules.recurring_schedules_arn,
            Resource.SCHEDULER_ROLE: schedules.role.role_arn,
        }
        for grant in SCHEDULER_GRANTS:
            schedules.role.add_to_policy(
                iam.PolicyStatement(actions=list(grant.actions), resources=[arns[grant.resource]])
            )
        signing_secret = storage.signing_secret
        if signing_secret is not None:
            arns[Resource.SIGNING_SECRET] = signing_secret.secret_arn
        registered = {
            registration.name: registered_function_arn(self, registration.function)
            for registration in config.task_types.registrations
        }
        workflow = WorkflowStateMachine(
            self,
            "Workflow",
            config=config,
            substitutions={
                **workflow_substitutions(
                    {function: fn.function_arn for function, fn in fns.items()},
                    storage.table.table_name,
                    queues.dead_letter_queue.queue_url,
                ),
                **{substitution(name): arn for name, arn in registered.items()},
            },
            grants=[(list(grant.actions), [arns[grant.resource]]) for grant in WORKFLOW_GRANTS]
            # Exactly the registered functions, as registered (a version or an alias included).
            + ([(["lambda:InvokeFunction"], sorted(registered.values()))] if registered else []),
        )
        arns[Resource.STATE_MACHINE] = workflow.state_machine.state_machine_arn
        consumed: dict[Resource, sqs.IQueue] = {
            Resource.TASKS_QUEUE: queues.tasks_queue,
            Resource.DEAD_LETTER_QUEUE: queues.dead_letter_queue,
        }
        mappings: dict[Function, event_sources.SqsEventSource] = {}
        for function, spec in FUNCTIONS.items():
            trigger = config.trigger(function)
            if isinstance(trigger, QueueTrigger):
                mappings[function] = event_sources.SqsEventSource(
                    consumed[trigger.queue],
                    batch_size=trigger.batch_size,
                    max_batching_window=Duration.seconds(trigger.batching_window_seconds),
                    report_batch_item_failures=True,
                    max_concurrency=trigger.max_concurrency,
                )
                fns[function].add_event_source(mappings[function])
            elif isinstance(trigger, ScheduleTrigger):
                events.Rule(
                    self,
                    f"{function.value.title()}Schedule",
                    rule_name=f"{config.service_name}-{function.value}",
                    description=spec.description,
                    schedule=events.Schedule.rate(Duration.minutes(trigger.every_minutes)),
                    targets=[targets.LambdaFunction(fns[function])],
                )
        dispatch_mapping = mappings[Function.DISPATCH]
        arns[Resource.DISPATCH_MAPPING] = dispatch_mapping.event_source_mapping_arn
        api = Api(
            self,
            "Api",
            config=config,
            handler=fns[Function.API],
            routes=api_routes(),
        )
        compute.set_environment(
            {
                **config.environment_values(),
                Env.TASKS_TABLE: storage.table.table_name,
                Env.TASKS_QUEUE_URL: queues.tasks_queue.queue_url,
                Env.TASKS_QUEUE_ARN: queues.tasks_queue.queue_arn,
                Env.SCHEDULE_GROUP: schedules.group.schedule_group_name,
                Env.SCHEDULER_ROLE_ARN: schedules.role.role_arn,
                Env.RECURRING_SCHEDULE_GROUP: schedules.recurring_group.schedule_group_name,
                Env.SCHEDULES_TABLE: storage.schedules_table.table_name,
                Env.LIMITS_TABLE: storage.limits_table.table_name,
                Env.DEAD_LETTER_QUEUE_URL: queues.dead_letter_queue.queue_url,
                Env.STATE_MACHINE_ARN: workflow.state_machine.state_machine_arn,
                Env.DISPATCH_MAPPING_ID: dispatch_mapping.event_source_mapping_id,
                **(
                    {Env.WEBHOOK_SIGNING_SECRET_ID: signing_secret.secret_arn}
                    if signing_secret is not None
                    else {}
                ),
                Env.CONSOLE_URL_TEMPLATE: (
                    f"https://{self.region}.console.aws.amazon.com/states/home?region={self.region}"
                    "#/express-executions/details/{executionArn}?startDate={startDate}"
                ),
            }
        )
        _grant(fns, arns)

        observability = Observability(
            self,
            "Observability",
            config=config,
            functions=fns,
            tasks_queue=queues.tasks_queue,
            dead_letter_queue=queues.dead_letter_queue,
            state_machine=workflow.state_machine,
        )

        outputs = {
            Output.TASKS_ENDPOINT: (api.url, "HTTP API base URL (TASKS_ENDPOINT for the smoke script)"),
            Output.API_ID: (api.http_api.api_id, "HTTP API id: a caller's execute-api:Invoke resource"),
            Output.TASKS_TABLE: (storage.table.table_name, "DynamoDB table (TASKS_TABLE)"),
            Output.TASKS_QUEUE_URL: (queues.tasks_queue.queue_url, "SQS tasks queue"),
            Output.DEAD_LETTER_QUEUE_URL: (queues.dead_letter_queue.queue_url, "SQS dead-letter queue"),
            Output.STATE_MACHINE_ARN: (workflow.state_machine.state_machine_arn, "Express state machine"),
            Output.SCHEDULE_GROUP: (
                schedules.group.schedule_group_name,
                "EventBridge Scheduler group: a schedule per task due more than 15 minutes ahead",
            ),
            Output.RECURRING_SCHEDULE_GROUP: (
                schedules.recurring_group.schedule_group_name,
                "EventBridge Scheduler group: one schedule per recurring schedule (PUT /schedules/{name})",
            ),
            Output.SCHEDULES_TABLE: (
                storage.schedules_table.table_name,
                "DynamoDB table of recurring schedules",
            ),
            Output.LIMITS_TABLE: (
                storage.limits_table.table_name,
                "DynamoDB table of flow-control limits and their slots (PUT /limits/{key})",
            ),
            Output.DISPATCH_MAPPING_ID: (
                dispatch_mapping.event_source_mapping_id,
                "The dispatcher's SQS event-source mapping: ptm pause / ptm resume disable and enable it",
            ),
            Output.STATE_MACHINE_LOG_GROUP: (
                workflow.log_group.log_group_name,
                "Execution history (level ALL)",
            ),
            Output.DASHBOARD_NAME: (observability.dashboard.dashboard_name, "CloudWatch dashboard"),
            Output.ALARM_TOPIC_ARN: (observability.topic.topic_arn, "SNS topic the alarms notify"),
        }
        if signing_secret is not None:
            outputs[Output.WEBHOOK_SIGNING_SECRET_ARN] = (
                signing_secret.secret_arn,
                "Secrets Manager secret that signs webhook deliveries (Standard Webhooks)",
            )
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)

        acknowledge_inherent_findings(
            config=config,
            compute=compute,
            workflow=workflow,
            api=api,
            schedules=schedules,
            signing_secret=signing_secret,
        )


def _grant(fns: Mapping[Function, lambda_.Function], arns: Mapping[Resource, str]) -> None:
    """Each function's grants from the spec, on the resources this stage deploys (a grant on one
    it does not, the signing secret without webhooks, is left out)."""
    for function, spec in FUNCTIONS.items():
        for grant in spec.grants:
            if grant.resource not in arns:
                continue
            fns[function].add_to_role_policy(
                iam.PolicyStatement(
                    actions=list(grant.actions),
                    resources=[arns[grant.resource]],
                    conditions=dict(grant.conditions) if grant.conditions else None,
                )
            )


def registered_function_arn(stack: Stack, function: str) -> str:
    """A registered type's function: its ARN as given, or its name in the stack's account and region."""
    if function.startswith("arn:"):
        return function
    return stack.format_arn(
        service="lambda",
        resource="function",
        resource_name=function,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
