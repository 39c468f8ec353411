"""Where delayed tasks wait when an SQS delay (15 minutes at most) is too short: the stage's
EventBridge Scheduler group; the recurring schedules' group; and the role Scheduler assumes to
send a due task's message or a firing to the tasks queue."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from infra.stage_config import StageConfig


class Schedules(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.group = scheduler.ScheduleGroup(
            self,
            "Group",
            schedule_group_name=config.names.schedule_group,
            # Deleting a group deletes its schedules: a kept prod stack keeps its pending tasks'.
            removal_policy=RemovalPolicy.RETAIN if config.is_production else RemovalPolicy.DESTROY,
        )
        # Recurring schedules: a group of their own, never kept. Deleting it deletes its schedules
        # (DeleteScheduleGroup), so after `make destroy` none fires at a deleted queue; their
        # items stay in the schedules table with the tasks (production) and the next PUT of each
        # creates it again.
        self.recurring_group = scheduler.ScheduleGroup(
            self,
            "RecurringGroup",
            schedule_group_name=config.names.recurring_schedule_group,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # Only Scheduler, for this account's schedules in this stage's groups, may assume it (the
        # confused-deputy guard the Scheduler User Guide's execution-role page gives).
        self.role = iam.Role(
            self,
            "Role",
            role_name=config.names.scheduler_role,
            description="EventBridge Scheduler sends a due task's message, or a recurring schedule's "
            "firing, to the tasks queue",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {
                        "aws:SourceAccount": stack.account,
                        "aws:SourceArn": [
                            self.group.schedule_group_arn,
                            self.recurring_group.schedule_group_arn,
                        ],
                    }
                },
            ),
        )
        self.schedules_arn = stack.format_arn(
            service="scheduler", resource="schedule", resource_name=f"{config.names.schedule_group}/*"
        )
        """Every schedule in the group (a schedule's ARN is schedule/<group>/<name>)."""
        self.recurring_schedules_arn = stack.format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{config.names.recurring_schedule_group}/*",
        )
        """Every schedule in the recurring group."""
