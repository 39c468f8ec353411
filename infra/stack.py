"""The Process Task Manager stack: it composes one construct per concern, in diagram order."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from constructs import Construct

from functions.common.config import STATUS_INDEX, Env
from infra.components.api import Api
from infra.components.compute import Compute
from infra.components.observability import Observability
from infra.components.queues import Queues
from infra.components.storage import Storage
from infra.components.workflow import Workflow
from infra.nag import acknowledge_inherent_findings
from infra.naming import DISPATCH_BATCH_SIZE, MONITOR_BATCH_SIZE, Function
from infra.stage_config import StageConfig

LEASE_SECONDS = 120
RECONCILE_AFTER_SECONDS = 900
MONITOR_MAX_CONCURRENCY = 2


class ProcessTaskManagerStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        storage = Storage(self, "Storage", config=config)
        queues = Queues(self, "Queues", config=config)
        compute = Compute(self, "Compute", config=config)
        fns = compute.functions
        workflow = Workflow(
            self,
            "Workflow",
            config=config,
            process=fns[Function.PROCESS],
            table=storage.table,
            dead_letter_queue=queues.dead_letter_queue,
        )
        api = Api(self, "Api", config=config, submit=fns[Function.SUBMIT])
        compute.set_environment(
            {
                Env.TASKS_TABLE: storage.table.table_name,
                Env.TASKS_QUEUE_URL: queues.tasks_queue.queue_url,
                Env.STATE_MACHINE_ARN: workflow.state_machine.state_machine_arn,
                Env.LEASE_SECONDS: str(LEASE_SECONDS),
                Env.RECONCILE_AFTER_SECONDS: str(RECONCILE_AFTER_SECONDS),
                Env.CONSOLE_URL_TEMPLATE: (
                    f"https://{self.region}.console.aws.amazon.com/states/home?region={self.region}"
                    "#/express-executions/details/{executionArn}?startDate={startDate}"
                ),
            }
        )

        table_arn, index_arn = storage.table.table_arn, f"{storage.table.table_arn}/index/{STATUS_INDEX}"
        grants: dict[Function, list[tuple[list[str], list[str]]]] = {
            Function.SUBMIT: [
                (["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"], [table_arn]),
                (["dynamodb:Query"], [index_arn]),
                (["sqs:SendMessage"], [queues.tasks_queue.queue_arn]),
            ],
            Function.DISPATCH: [
                (["states:StartExecution"], [workflow.state_machine.state_machine_arn]),
                (["dynamodb:BatchGetItem"], [table_arn]),
            ],
            Function.PROCESS: [(["dynamodb:UpdateItem"], [table_arn])],
            Function.MONITOR: [(["dynamodb:UpdateItem"], [table_arn])],
            Function.RECONCILE: [
                (["dynamodb:Query"], [index_arn]),
                (["sqs:SendMessage"], [queues.tasks_queue.queue_arn]),
            ],
        }
        for function, statements in grants.items():
            for actions, resources in statements:
                fns[function].add_to_role_policy(iam.PolicyStatement(actions=actions, resources=resources))

        fns[Function.DISPATCH].add_event_source(
            event_sources.SqsEventSource(
                queues.tasks_queue,
                batch_size=DISPATCH_BATCH_SIZE,
                max_batching_window=Duration.seconds(config.dispatch_batching_window_seconds),
                report_batch_item_failures=True,
                max_concurrency=config.dispatch_max_concurrency,
            )
        )
        fns[Function.MONITOR].add_event_source(
            event_sources.SqsEventSource(
                queues.dead_letter_queue,
                batch_size=MONITOR_BATCH_SIZE,
                report_batch_item_failures=True,
                max_concurrency=MONITOR_MAX_CONCURRENCY,
            )
        )
        events.Rule(
            self,
            "ReconcileSchedule",
            rule_name=f"ptm-{config.stage}-reconcile",
            description="Re-enqueue tasks left QUEUED without a message",
            schedule=events.Schedule.rate(Duration.minutes(config.reconcile_every_minutes)),
            targets=[targets.LambdaFunction(fns[Function.RECONCILE])],
        )
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
            "TasksEndpoint": (api.url, "HTTP API base URL (TASKS_ENDPOINT for the smoke script)"),
            "TasksTable": (storage.table.table_name, "DynamoDB table (TASKS_TABLE)"),
            "TasksQueueUrl": (queues.tasks_queue.queue_url, "SQS tasks queue"),
            "DeadLetterQueueUrl": (queues.dead_letter_queue.queue_url, "SQS dead-letter queue"),
            "StateMachineArn": (workflow.state_machine.state_machine_arn, "Express state machine"),
            "StateMachineLogGroup": (workflow.log_group.log_group_name, "Execution history (level ALL)"),
            "DashboardName": (observability.dashboard.dashboard_name, "CloudWatch dashboard"),
            "AlarmTopicArn": (observability.topic.topic_arn, "SNS topic the alarms notify"),
        }
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)

        acknowledge_inherent_findings(config=config, compute=compute, workflow=workflow, api=api)
