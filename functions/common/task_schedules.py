"""The only module that talks to EventBridge Scheduler: one one-time schedule per task scheduled
further ahead than an SQS delay reaches (``functions/common/scheduling.py``).

A schedule is named after its task (a task id is a UUID: within Scheduler's 64 characters of
``[0-9a-zA-Z-_.]``), lives in the stage's schedule group, fires ``at(...)`` with no flexible
window, sends the task's message to the tasks queue under its own role, and is deleted by
Scheduler once it has fired (``ActionAfterCompletion: DELETE``). Creating a schedule that exists
(a replayed submission) and deleting one that is gone (it fired, or was never created) are no-ops.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from functions.common.aws import aws_errors, error_code
from functions.common.models import message_body
from functions.common.scheduling import at_expression

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

MAXIMUM_EVENT_AGE_SECONDS = 86_400
"""How long Scheduler keeps retrying a target it could not reach (its default and maximum, 24 h);
a task whose message never arrives is overdue and reconcile enqueues it."""


class TaskSchedules:
    def __init__(self, client: EventBridgeSchedulerClient, group: str, queue_arn: str, role_arn: str) -> None:
        self._client = client
        self.group = group
        self._queue_arn = queue_arn
        self._role_arn = role_arn

    def create(self, task_id: str, run: int, run_at: datetime) -> None:
        """The task's schedule; one that already exists (a replay) is left as it is."""
        with aws_errors(f"schedule task {task_id}"):
            try:
                self._client.create_schedule(
                    Name=task_id,
                    GroupName=self.group,
                    ScheduleExpression=at_expression(run_at),
                    ScheduleExpressionTimezone="UTC",
                    FlexibleTimeWindow={"Mode": "OFF"},
                    ActionAfterCompletion="DELETE",
                    Target={
                        "Arn": self._queue_arn,
                        "RoleArn": self._role_arn,
                        "Input": message_body(task_id, run),
                        "RetryPolicy": {"MaximumEventAgeInSeconds": MAXIMUM_EVENT_AGE_SECONDS},
                    },
                    Description=f"Sends task {task_id} to the tasks queue when it is due",
                )
            except ClientError as exc:
                if error_code(exc) != "ConflictException":
                    raise

    def delete(self, task_id: str) -> bool:
        """Delete the task's schedule; False when there is none (fired, or never created)."""
        with aws_errors(f"delete the schedule of task {task_id}"):
            try:
                self._client.delete_schedule(Name=task_id, GroupName=self.group)
            except ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
                return False
        return True
