"""Scheduled tasks through the real handlers on moto: a short delay rides an SQS delay, a long one
an EventBridge Scheduler schedule (fired by the fidelity layer); the dispatcher promotes a due
task, holds an early message back, and skips a cancelled one; reconcile rescues an overdue one."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.common.clock import iso, moment, utc_now
from functions.common.models import TaskStatus
from functions.common.scheduling import at_expression
from functions.common.status_shards import DUE_SHARD_ATTRIBUTE
from functions.common.tasks_queue import TasksQueue
from functions.usecases.reconciliation import reenqueue_stale
from infra.names import Function
from local.fidelity import fire_due_schedules
from tests.fixtures.stack import Stack


def _schedules(stack: Stack) -> list[dict[str, Any]]:
    group = stack.resources.names.schedule_group
    return [
        dict(stack.clients.scheduler.get_schedule(Name=summary["Name"], GroupName=group))
        for summary in stack.clients.scheduler.list_schedules(GroupName=group)["Schedules"]
    ]


def _listed(stack: Stack, status: TaskStatus) -> list[str]:
    response = stack.api("GET", f"/tasks?status={status.value}")
    assert response.status == 200, response.body
    return [item["taskId"] for item in response.body["items"]]


def _due_entries(stack: Stack) -> list[str]:
    """The records the sparse byRunAt index holds: those carrying its key, dueShard."""
    items = stack.clients.dynamodb.scan(
        TableName=stack.resources.table,
        FilterExpression="attribute_exists(#due)",
        ExpressionAttributeNames={"#due": DUE_SHARD_ATTRIBUTE},
    )["Items"]
    return [str(item["taskId"]["S"]) for item in items]


def _dispatch_at(stack: Stack, monkeypatch: pytest.MonkeyPatch, moment: datetime) -> int:
    """Drain the tasks queue through the real dispatcher, whose clock reads ``moment``."""
    monkeypatch.setattr(stack.handlers[Function.DISPATCH], "utc_now", lambda: moment)
    return sum(poll.received for poll in stack.event_source(Function.DISPATCH).drain())


def _submit(stack: Stack, body: dict[str, Any]) -> dict[str, Any]:
    response = stack.api("POST", "/tasks", body)
    assert response.status == 202, response.body
    return dict(response.body)


def test_a_short_delay_rides_an_sqs_delay_and_the_task_starts_no_earlier_than_its_run_at(
    stack: Stack,
) -> None:
    accepted = _submit(stack, {"n": 1, "delaySeconds": 1})
    task_id, run_at = accepted["taskId"], moment(accepted["runAt"])

    assert accepted["status"] == "SCHEDULED"
    task = stack.task(task_id)
    assert (task.status, task.run_at, task.payload) == (TaskStatus.SCHEDULED, accepted["runAt"], {"n": 1})
    assert _listed(stack, TaskStatus.SCHEDULED) == [task_id]
    assert _schedules(stack) == [], "an SQS delay reaches 15 minutes: no schedule"
    assert stack.event_source(Function.DISPATCH).drain() == [], "the message is hidden until runAt"

    dispatch, deadline, received = stack.event_source(Function.DISPATCH), time.monotonic() + 10, 0
    while not received and time.monotonic() < deadline:
        received = sum(poll.received for poll in dispatch.drain())
        assert not received or utc_now() >= run_at, "delivered before its runAt"
        time.sleep(0.05)
    assert received == 1
    [execution] = stack.wait_for_all_executions()

    assert execution["startDate"] >= run_at
    done = stack.task(task_id)
    assert done.status is TaskStatus.SUCCEEDED
    assert done.run_at == accepted["runAt"]
    assert _listed(stack, TaskStatus.SCHEDULED) == []


def test_a_task_three_days_ahead_gets_a_one_time_schedule_and_can_be_cancelled(stack: Stack) -> None:
    run_at = (utc_now() + timedelta(days=3)).replace(microsecond=0)
    accepted = _submit(stack, {"n": 2, "runAt": run_at.isoformat()})
    task_id = accepted["taskId"]

    assert (accepted["status"], accepted["runAt"]) == ("SCHEDULED", iso(run_at))
    [schedule] = _schedules(stack)
    assert schedule["Name"] == task_id
    assert schedule["GroupName"] == stack.resources.names.schedule_group
    assert schedule["ScheduleExpression"] == at_expression(run_at)
    assert schedule["ScheduleExpression"] == f"at({run_at - timedelta(minutes=1):%Y-%m-%dT%H:%M:00})"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["ActionAfterCompletion"] == "DELETE"
    target = schedule["Target"]
    assert target["Arn"] == stack.resources.tasks_queue_arn
    assert target["RoleArn"] == stack.resources.scheduler_role_arn
    assert json.loads(target["Input"]) == {"taskId": task_id, "run": 1}
    assert stack.queue_messages(stack.resources.tasks_queue_url) == []
    assert _listed(stack, TaskStatus.SCHEDULED) == [task_id]
    assert _due_entries(stack) == [task_id]

    cancelled = stack.api("DELETE", f"/tasks/{task_id}")

    assert cancelled.status == 200, cancelled.body
    assert cancelled.body["status"] == "CANCELLED"
    assert _schedules(stack) == []
    assert _listed(stack, TaskStatus.SCHEDULED) == []
    assert _listed(stack, TaskStatus.CANCELLED) == [task_id]
    assert _due_entries(stack) == [], "a cancelled task leaves the due index"


def test_a_schedule_that_fires_for_a_cancelled_task_is_skipped(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancel deletes the schedule; one that fires anyway (Scheduler was busy at the cancel, or
    it had fired already) finds the task CANCELLED and starts nothing."""
    run_at = utc_now() + timedelta(days=3)
    task_id = _submit(stack, {"n": 3, "runAt": iso(run_at)})["taskId"]
    [schedule] = _schedules(stack)
    assert stack.api("DELETE", f"/tasks/{task_id}").status == 200
    stack.clients.sqs.send_message(
        QueueUrl=stack.resources.tasks_queue_url, MessageBody=schedule["Target"]["Input"]
    )

    assert _dispatch_at(stack, monkeypatch, run_at + timedelta(seconds=1)) == 1

    assert stack.executions() == []
    assert stack.task(task_id).status is TaskStatus.CANCELLED
    assert stack.queue_messages(stack.resources.tasks_queue_url) == []


def test_a_schedule_fires_before_run_at_and_the_dispatcher_holds_the_message_back_until_then(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_at = utc_now() + timedelta(minutes=20)
    task_id = _submit(stack, {"n": 4, "runAt": iso(run_at)})["taskId"]
    [schedule] = _schedules(stack)
    minute_before = moment(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=UTC)

    # Scheduler fires in the minute it is set for: at its last second here, the latest it can.
    fired = fire_due_schedules(now=(minute_before + timedelta(seconds=59)).timestamp())
    assert len(fired.fired) == 1
    assert _schedules(stack) == [], "ActionAfterCompletion DELETE"
    early = run_at - timedelta(seconds=1)
    assert _dispatch_at(stack, monkeypatch, early) == 1

    assert stack.task(task_id).status is TaskStatus.SCHEDULED, "not due: not promoted"
    assert stack.executions() == []
    [again] = stack.clients.sqs.receive_message(
        QueueUrl=stack.resources.tasks_queue_url, WaitTimeSeconds=2, MessageSystemAttributeNames=["All"]
    )["Messages"]
    delayed = int(again["Attributes"]["SentTimestamp"]) / 1000
    assert json.loads(again["Body"]) == {"taskId": task_id, "run": 1}
    stack.clients.sqs.change_message_visibility(
        QueueUrl=stack.resources.tasks_queue_url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=0
    )
    assert time.time() - delayed >= 1, "sent back with the second it still had to wait"

    assert _dispatch_at(stack, monkeypatch, run_at) == 1
    [execution] = stack.wait_for_all_executions()

    assert execution["status"] == "SUCCEEDED"
    assert stack.task(task_id).status is TaskStatus.SUCCEEDED


def test_reconcile_enqueues_a_scheduled_task_whose_message_never_came(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_at = utc_now() + timedelta(minutes=20)
    task_id = _submit(stack, {"n": 5, "runAt": iso(run_at)})["taskId"]
    stack.clients.scheduler.delete_schedule(Name=task_id, GroupName=stack.resources.names.schedule_group)
    reconcile = stack.handlers[Function.RECONCILE]
    threshold = reconcile.dependencies().older_than

    monkeypatch.setattr(reconcile, "utc_now", lambda: run_at + threshold - timedelta(seconds=1))
    assert reconcile.lambda_handler({}, stack.context(Function.RECONCILE))["overdue"] == 0
    monkeypatch.setattr(reconcile, "utc_now", lambda: run_at + threshold + timedelta(seconds=1))
    assert reconcile.lambda_handler({}, stack.context(Function.RECONCILE))["overdue"] == 1

    assert _dispatch_at(stack, monkeypatch, run_at + threshold + timedelta(seconds=2)) == 1
    stack.wait_for_all_executions()
    assert stack.task(task_id).status is TaskStatus.SUCCEEDED


def test_a_replay_keeps_the_first_run_at_and_another_delay_under_the_same_key_conflicts(
    stack: Stack,
) -> None:
    headers = {"Idempotency-Key": "delayed-once"}
    first = stack.api("POST", "/tasks", {"n": 6, "delaySeconds": 3600}, headers)
    again = stack.api("POST", "/tasks", {"n": 6, "delaySeconds": 3600}, headers)
    other = stack.api("POST", "/tasks", {"n": 6, "delaySeconds": 60}, headers)

    assert (first.status, again.status) == (202, 202)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.body == first.body
    assert len(_schedules(stack)) == 1, "the replay finds its schedule there"
    assert other.status == 409

    # The first request died between its record and its schedule: the replay makes the schedule.
    stack.clients.scheduler.delete_schedule(
        Name=first.body["taskId"], GroupName=stack.resources.names.schedule_group
    )
    assert stack.api("POST", "/tasks", {"n": 6, "delaySeconds": 3600}, headers).status == 202
    [schedule] = _schedules(stack)
    assert schedule["ScheduleExpression"] == at_expression(moment(first.body["runAt"])), "its first runAt"


def test_a_promotion_never_happens_before_run_at_nor_after_a_cancel(stack: Stack) -> None:
    from functions.common.errors import TransitionRefusedError

    run_at = utc_now() + timedelta(minutes=20)
    task_id = _submit(stack, {"n": 7, "runAt": iso(run_at)})["taskId"]

    with pytest.raises(TransitionRefusedError):
        stack.table.promote(task_id, run_at - timedelta(milliseconds=1))
    stack.table.promote(task_id, run_at)
    assert stack.task(task_id).status is TaskStatus.QUEUED
    assert _due_entries(stack) == [], "a promoted task leaves the due index"

    cancelled = _submit(stack, {"n": 8, "runAt": iso(run_at)})["taskId"]
    assert stack.api("DELETE", f"/tasks/{cancelled}").status == 200
    with pytest.raises(TransitionRefusedError):
        stack.table.promote(cancelled, run_at)


def test_a_task_promoted_a_moment_ago_is_not_stale_however_long_ago_it_was_created(stack: Stack) -> None:
    """Reconcile re-sends a task QUEUED longer than its threshold; a scheduled task created long
    ago and promoted just now has its message in hand, and gets no duplicate."""
    run_at = utc_now() + timedelta(minutes=20)
    task_id = _submit(stack, {"n": 9, "runAt": iso(run_at)})["taskId"]
    stack.table.promote(task_id, run_at)
    queue = TasksQueue(stack.clients.sqs, stack.resources.tasks_queue_url)

    def sweep(at: datetime) -> list[str]:
        sent, _ = reenqueue_stale(
            table=stack.table, queue=queue, clock=lambda: at, older_than=timedelta(minutes=15)
        )
        return sent

    assert sweep(run_at + timedelta(seconds=1)) == []
    assert sweep(run_at + timedelta(minutes=16)) == [task_id]


def test_a_scheduled_tasks_message_that_exhausts_its_deliveries_fails_the_task_and_leaves_the_due_index(
    stack: Stack,
) -> None:
    """Dispatch kept failing on a due task's message (here: it cannot send an early one back),
    SQS moved it to the DLQ after maxReceiveCount deliveries: the monitor fails the task and
    dead-letters it, as for a QUEUED one, and it leaves the due index."""
    run_at = utc_now() + timedelta(minutes=20)
    task_id = _submit(stack, {"n": 10, "runAt": iso(run_at)})["taskId"]
    stack.clients.sqs.send_message(
        QueueUrl=stack.resources.dead_letter_queue_url, MessageBody=json.dumps({"taskId": task_id, "run": 1})
    )

    [monitored] = stack.event_source(Function.MONITOR).drain()

    assert monitored.deleted == 1
    task = stack.task(task_id)
    assert task.status is TaskStatus.FAILED
    assert task.dead_lettered_at is not None
    assert _due_entries(stack) == []
