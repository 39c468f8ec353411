"""The tasks queue and its dead-letter queue: encrypted, TLS-only, redrive after maxReceiveCount."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.limits import TIMINGS, visibility_timeout_seconds
from infra.names import Resource
from infra.stage_config import StageConfig


class Queues(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if config.is_production else RemovalPolicy.DESTROY
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=config.names.dead_letter_queue,
            retention_period=Duration.days(TIMINGS.dead_letter_retention_days),
            # The monitor consumes the DLQ: its visibility follows the same 6x rule.
            visibility_timeout=Duration.seconds(visibility_timeout_seconds(Resource.DEAD_LETTER_QUEUE)),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=removal,
        )
        self.tasks_queue = sqs.Queue(
            self,
            "TasksQueue",
            queue_name=config.names.tasks_queue,
            # Messages wait here while dispatch is paused (ptm pause): longer than SQS's 4 days.
            retention_period=Duration.days(TIMINGS.tasks_queue_retention_days),
            visibility_timeout=Duration.seconds(visibility_timeout_seconds(Resource.TASKS_QUEUE)),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=config.max_receive_count, queue=self.dead_letter_queue
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
