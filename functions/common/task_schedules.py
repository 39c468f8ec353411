"""The only module that talks to EventBridge Scheduler: one one-time schedule per task scheduled
further ahead than an SQS delay reaches (``functions/common/scheduling.py``), and one recurring
schedule per recurring schedule (``RecurringSchedules``, in a group of their own).

A schedule is named after its task (a task id is a UUID: within Scheduler's 64 characters of
``[0-9a-zA-Z-_.]``), lives in the stage's schedule group, fires ``at(...)`` with no flexible
window, sends the task's message to the tasks queue under its own role, and is deleted by
Scheduler once it has fired (``ActionAfterCompletion: DELETE``). Creating a schedule that exists
(a replayed submission) and deleting one that is gone (it fired, or was never created) are no-ops.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from functions.common.aws import aws_errors, error_code
from functions.common.models import message_body
from functions.common.scheduling import at_expression, refused

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


FIRING_INPUT = '{"schedule": "%s", "scheduledTime": "<aws.scheduler.scheduled-time>"}'
"""A recurring schedule's target input: its name and the firing's scheduled time, which Scheduler
fills in (a context attribute). Nothing else: the task's body is read from the schedule's item
when it fires (one source of truth)."""


@dataclass(frozen=True)
class RecurringTiming:
    """What EventBridge Scheduler holds of a recurring schedule: when it fires, and whether."""

    expression: str
    timezone: str
    state: str
    start: datetime | None = None
    """Scheduler's StartDate: only a future one (Scheduler refuses one over 5 minutes past)."""
    end: datetime | None = None


class RecurringSchedules:
    """One recurring Scheduler schedule per recurring schedule, named as it is, in the stage's
    recurring group: it sends ``FIRING_INPUT`` to the tasks queue under the scheduler role."""

    def __init__(self, client: EventBridgeSchedulerClient, group: str, queue_arn: str, role_arn: str) -> None:
        self._client = client
        self.group = group
        self._queue_arn = queue_arn
        self._role_arn = role_arn

    def _request(self, name: str, timing: RecurringTiming) -> dict[str, Any]:
        request: dict[str, Any] = {
            "Name": name,
            "GroupName": self.group,
            "ScheduleExpression": timing.expression,
            "ScheduleExpressionTimezone": timing.timezone,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": timing.state,
            "Target": {
                "Arn": self._queue_arn,
                "RoleArn": self._role_arn,
                "Input": FIRING_INPUT % name,
                "RetryPolicy": {"MaximumEventAgeInSeconds": MAXIMUM_EVENT_AGE_SECONDS},
            },
            "Description": f"Submits the task of recurring schedule {name} at each firing",
        }
        if timing.start is not None:
            request["StartDate"] = timing.start
        if timing.end is not None:
            request["EndDate"] = timing.end
        return request

    def put(self, name: str, timing: RecurringTiming) -> bool:
        """Create the schedule, or update it where it differs; False when it was already so (an
        unchanged one is left as it is, so a repeated PUT does not restart a rate's period).
        At most three calls: create, then (it exists) get and update."""
        request = self._request(name, timing)
        with aws_errors(f"put recurring schedule {name}"), _refusals_as_bad_input():
            try:
                self._client.create_schedule(**request)
                return True
            except ClientError as exc:
                if error_code(exc) != "ConflictException":
                    raise
            current = self._client.get_schedule(Name=name, GroupName=self.group)
            if _same(current, request):
                return False
            self._client.update_schedule(**request)
        return True

    def update(self, name: str, timing: RecurringTiming) -> None:
        """Set the schedule to ``timing`` (its state: pause, resume) in one call; one that is gone
        (deleted meanwhile, or never created by a PUT cut short) is created."""
        request = self._request(name, timing)
        with aws_errors(f"update recurring schedule {name}"), _refusals_as_bad_input():
            try:
                self._client.update_schedule(**request)
            except ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
                self._client.create_schedule(**request)

    def delete(self, name: str) -> bool:
        """False when there was none."""
        with aws_errors(f"delete recurring schedule {name}"):
            try:
                self._client.delete_schedule(Name=name, GroupName=self.group)
            except ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
                return False
        return True


@contextmanager
def _refusals_as_bad_input() -> Iterator[None]:
    """Scheduler refusing a schedule it was asked for (``ValidationException``: an expression or
    a time zone it does not take that the parser here let through) is the caller's 400, not a
    misconfiguration alarm."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) != "ValidationException":
            raise
        message = str(exc.response.get("Error", {}).get("Message", ""))
        raise refused("expression", f"EventBridge Scheduler refused the schedule: {message}") from exc


def _same(current: Any, request: dict[str, Any]) -> bool:
    fields = ("ScheduleExpression", "ScheduleExpressionTimezone", "State", "StartDate", "EndDate")

    def instant(value: Any) -> Any:
        return value.timestamp() if isinstance(value, datetime) else value

    return (
        all(instant(current.get(field)) == instant(request.get(field)) for field in fields)
        and current.get("Target", {}).get("Input") == request["Target"]["Input"]
    )
