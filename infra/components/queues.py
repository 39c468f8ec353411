"""The tasks queue and its dead-letter queue: encrypted, TLS-only, redrive after maxReceiveCount."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.naming import FUNCTION_SPECS, VISIBILITY_TIMEOUT_FACTOR, Function
from infra.stage_config import StageConfig

DLQ_RETENTION = Duration.days(14)


class Queues(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if config.is_production else RemovalPolicy.DESTROY
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=config.names.dead_letter_queue,
            retention_period=DLQ_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=removal,
        )
        dispatch_timeout = FUNCTION_SPECS[Function.DISPATCH].timeout_seconds
        self.tasks_queue = sqs.Queue(
            self,
            "TasksQueue",
            queue_name=config.names.tasks_queue,
            visibility_timeout=Duration.seconds(VISIBILITY_TIMEOUT_FACTOR * dispatch_timeout),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=config.max_receive_count, queue=self.dead_letter_queue
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
