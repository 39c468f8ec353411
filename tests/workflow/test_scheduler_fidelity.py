"""EventBridge Scheduler's one-time schedules fire locally as on AWS: moto stores them and never
fires them; the fidelity layer sends a due schedule's input to its SQS target and deletes it
(``ActionAfterCompletion: DELETE``) (docs/contributing/FIDELITY.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Literal

from local.fidelity import fire_due_schedules, schedule_time
from tests.fixtures.stack import Stack


def _at(moment: datetime) -> str:
    return f"at({moment.astimezone(UTC):%Y-%m-%dT%H:%M:%S})"


def _schedule(
    stack: Stack, name: str, moment: datetime, *, after: Literal["DELETE", "NONE"] = "DELETE", arn: str = ""
) -> None:
    stack.clients.scheduler.create_schedule(
        Name=name,
        ScheduleExpression=_at(moment),
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion=after,
        Target={
            "Arn": arn or stack.resources.tasks_queue_arn,
            "RoleArn": stack.resources.scheduler_role_arn,
            "Input": json.dumps({"taskId": name, "run": 1}),
        },
    )


def _bodies(stack: Stack) -> list[str]:
    return [json.loads(m["Body"])["taskId"] for m in stack.queue_messages(stack.resources.tasks_queue_url)]


def test_a_due_one_time_schedule_sends_its_input_once_and_is_deleted(stack: Stack) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    _schedule(stack, "due", now - timedelta(seconds=1))
    _schedule(stack, "later", now + timedelta(days=3))

    assert _bodies(stack) == [], "moto alone never fires a schedule"
    fired = fire_due_schedules(now.timestamp())

    assert [arn.rsplit("/", 1)[-1] for arn in fired.fired] == ["due"]
    assert _bodies(stack) == ["due"]
    names = [s["Name"] for s in stack.clients.scheduler.list_schedules()["Schedules"]]
    assert names == ["later"], "ActionAfterCompletion DELETE removes the fired schedule"
    assert fire_due_schedules(now.timestamp()).fired == []
    assert [
        arn.rsplit("/", 1)[-1] for arn in fire_due_schedules((now + timedelta(days=3)).timestamp()).fired
    ] == ["later"]


def test_a_schedule_kept_after_completion_fires_only_once(stack: Stack) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    _schedule(stack, "kept", now, after="NONE")

    assert len(fire_due_schedules(now.timestamp()).fired) == 1
    assert fire_due_schedules(now.timestamp() + 60).fired == []
    assert _bodies(stack) == ["kept"]


def test_a_schedule_whose_queue_is_missing_is_retried_then_dropped(stack: Stack) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    missing = stack.resources.tasks_queue_arn.rsplit(":", 1)[0] + ":no-such-queue"
    _schedule(stack, "lost", now, arn=missing)

    first = fire_due_schedules(now.timestamp())
    assert (first.fired, len(first.problems)) == ([], 1)
    assert [s["Name"] for s in stack.clients.scheduler.list_schedules()["Schedules"]] == ["lost"]
    late = fire_due_schedules(now.timestamp() + 86_401)
    assert late.problems[0].endswith("(dropped)")
    assert stack.clients.scheduler.list_schedules()["Schedules"] == []


def test_an_at_expression_is_read_in_its_time_zone() -> None:
    assert schedule_time("at(2027-01-01T09:00:00)", "Europe/Paris") == datetime(2027, 1, 1, 8, 0, tzinfo=UTC)
    assert schedule_time("rate(5 minutes)", None) is None


def test_moto_honours_an_sqs_message_delay_so_the_local_world_needs_no_emulation_of_it(stack: Stack) -> None:
    """The premise that lets delays of up to 15 minutes use SQS ``DelaySeconds`` locally as on AWS:
    a delayed message stays invisible until its delay has passed."""
    url = stack.resources.tasks_queue_url
    stack.clients.sqs.send_message(
        QueueUrl=url, MessageBody=json.dumps({"taskId": "delayed"}), DelaySeconds=1
    )

    assert stack.clients.sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    received = stack.clients.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3).get("Messages", [])
    assert [json.loads(m["Body"])["taskId"] for m in received] == ["delayed"]
