"""The tasks table: on-demand, point-in-time recovery, TTL on ``expiresAt``, the byPhase index and
the sparse byRunAt and bySchedule indexes (all keys only); the schedules table: the recurring
schedules, one item each, kept with the tasks on a production stage."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from functions.common.limits_table import KEY as LIMIT_KEY
from functions.common.schedules_table import KEY as SCHEDULE_KEY
from functions.common.tasks_table.codec import EXPIRY_ATTRIBUTE
from functions.common.tasks_table.index import TABLE_INDEXES
from infra.stage_config import StageConfig, Toggle


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Tasks",
            table_name=config.names.table,
            partition_key=dynamodb.Attribute(name="taskId", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            # Finished tasks expire (taskRetentionDays); with 0 no item carries the attribute.
            time_to_live_attribute=EXPIRY_ATTRIBUTE,
            deletion_protection=config.is_production,
            removal_policy=RemovalPolicy.RETAIN if config.is_production else RemovalPolicy.DESTROY,
        )
        # Keys only, all three; byRunAt is sparse (only a SCHEDULED record carries its key,
        # dueShard), and so is bySchedule (only a task a recurring schedule submitted).
        for index in TABLE_INDEXES:
            self.table.add_global_secondary_index(
                index_name=index.name,
                partition_key=dynamodb.Attribute(
                    name=index.partition_attribute, type=dynamodb.AttributeType.STRING
                ),
                sort_key=dynamodb.Attribute(name=index.sort_attribute, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.KEYS_ONLY,
            )
        # The recurring schedules, one item each; and flow control's items (every limit in one,
        # one per limited subject: its slots, its token bucket). Kept with the tasks.
        self.schedules_table = self._kept_table(
            "Schedules", config.names.schedules_table, SCHEDULE_KEY, config
        )
        self.limits_table = self._kept_table("Limits", config.names.limits_table, LIMIT_KEY, config)
        self.signing_secret: secretsmanager.Secret | None = None
        if config.webhooks is Toggle.ON:
            # 64 characters from [A-Za-z0-9], all base64 symbols: 48 bytes of key, ~380 bits of
            # entropy. Receivers use it as whsec_<value> (or the bare value): functions/common/signing.py.
            self.signing_secret = secretsmanager.Secret(
                self,
                "WebhookSigningSecret",
                secret_name=config.names.signing_secret,
                description="Signs webhook deliveries (Standard Webhooks); one secret, or two "
                "separated by a space during a rotation, the new one first",
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    exclude_punctuation=True, include_space=False, password_length=64
                ),
                removal_policy=RemovalPolicy.RETAIN if config.is_production else RemovalPolicy.DESTROY,
            )

    def _kept_table(self, construct_id: str, name: str, key: str, config: StageConfig) -> dynamodb.Table:
        """A table keyed by one string, on demand, with point-in-time recovery, kept (retained,
        deletion protection) on a production stage."""
        return dynamodb.Table(
            self,
            construct_id,
            table_name=name,
            partition_key=dynamodb.Attribute(name=key, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=config.is_production,
            removal_policy=RemovalPolicy.RETAIN if config.is_production else RemovalPolicy.DESTROY,
        )
