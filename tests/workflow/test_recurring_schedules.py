"""Recurring schedules through the real handlers on moto: the api stores a schedule and its
EventBridge Scheduler schedule; the local Scheduler fires it (local/recurring.py, on a clock the
test moves); the dispatcher turns each firing into exactly one task, skips a firing that would
overlap an unfinished task, and says why on the schedule."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.common.errors import InvalidScheduleError
from functions.common.models import Task, TaskStatus
from functions.common.recurring import NEXT_FIRINGS_SHOWN, firing_task_id, scheduled_time
from functions.common.schedules_table import SchedulesTable
from functions.common.task_schedules import FIRING_INPUT, RecurringTiming
from infra.names import Function
from local.recurring import RecurringFirer
from tests.fixtures.receiver import PublicHostStandIn, running_receiver
from tests.fixtures.stack import Stack

TASK = {"report": "nightly", "n": 7}


def _put(stack: Stack, name: str, body: dict[str, Any], expected: int = 201) -> dict[str, Any]:
    response = stack.api("PUT", f"/schedules/{name}", body)
    assert response.status == expected, response.body
    return dict(response.body)


def _scheduler_schedules(stack: Stack) -> list[dict[str, Any]]:
    group = stack.resources.names.recurring_schedule_group
    return [
        dict(stack.clients.scheduler.get_schedule(Name=summary["Name"], GroupName=group))
        for summary in stack.clients.scheduler.list_schedules(GroupName=group)["Schedules"]
    ]


def _dispatch(stack: Stack) -> int:
    return sum(poll.received for poll in stack.event_source(Function.DISPATCH).drain())


def _firer(stack: Stack) -> tuple[RecurringFirer, float]:
    """A local Scheduler whose clock is the wall clock, and the wall-clock time its schedules were
    last changed (so a test can fire 'a minute later' without waiting a minute)."""
    [schedule] = _scheduler_schedules(stack)
    changed = schedule["LastModificationDate"].timestamp()
    return RecurringFirer(time_scale=1.0, started=changed), changed


def _send_firing(stack: Stack, name: str, when: str) -> None:
    body = (FIRING_INPUT % name).replace("<aws.scheduler.scheduled-time>", when)
    stack.clients.sqs.send_message(QueueUrl=stack.resources.tasks_queue_url, MessageBody=body)


def _schedule_tasks(stack: Stack, name: str) -> list[dict[str, Any]]:
    response = stack.api("GET", f"/tasks?schedule={name}")
    assert response.status == 200, response.body
    return list(response.body["items"])


def test_a_put_creates_one_scheduler_schedule_and_the_same_put_again_changes_nothing(stack: Stack) -> None:
    body = {"expression": "rate(1 minute)", "task": TASK}
    created = _put(stack, "every-minute", body)
    [schedule] = _scheduler_schedules(stack)

    assert created["state"] == "ENABLED"
    assert created["overlap"] == "skip"
    assert created["timezone"] == "UTC"
    assert created["task"] == TASK
    assert schedule["ScheduleExpression"] == "rate(1 minute)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["Target"]["Arn"] == stack.resources.tasks_queue_arn
    assert schedule["Target"]["RoleArn"] == stack.resources.scheduler_role_arn
    assert json.loads(schedule["Target"]["Input"]) == {
        "schedule": "every-minute",
        "scheduledTime": "<aws.scheduler.scheduled-time>",
    }, "the input names the firing only: the task is read from the schedule's item when it fires"

    again = _put(stack, "every-minute", body, expected=200)
    [unchanged] = _scheduler_schedules(stack)
    assert unchanged["LastModificationDate"] == schedule["LastModificationDate"], (
        "an unchanged PUT updates nothing"
    )
    assert again["createdAt"] == created["createdAt"]
    listed = stack.api("GET", "/schedules").body["items"]
    assert [item["name"] for item in listed] == ["every-minute"]

    exact = '{"expression": "rate(2 minutes)", "task": {"n": 12345678901234567890.5e-3}}'
    replaced = stack.api("PUT", "/schedules/every-minute", exact)
    assert replaced.status == 200, replaced.body
    assert '"task":{"n":12345678901234567.8905}' in replaced.text, "the same number, every digit kept"
    [changed] = _scheduler_schedules(stack)
    assert changed["ScheduleExpression"] == "rate(2 minutes)"


def test_rate_one_minute_makes_one_task_per_firing_with_the_derived_ids(stack: Stack) -> None:
    _put(stack, "every-minute", {"expression": "rate(1 minute)", "task": TASK, "overlap": "allow"})
    firer, changed = _firer(stack)

    fired = [firer.fire(real=changed + seconds) for seconds in (0.5, 60.5, 120.5, 121)]

    assert [len(batch.fired) for batch in fired] == [1, 1, 1, 0], "at its creation, then once a minute"
    assert _dispatch(stack) >= 3
    start = datetime.fromtimestamp(changed, UTC)
    expected = [
        firing_task_id("every-minute", scheduled_time(start.isoformat()) + timedelta(minutes=k))
        for k in range(3)
    ]
    tasks = _schedule_tasks(stack, "every-minute")
    assert [item["taskId"] for item in tasks] == expected[::-1], "newest firing first"
    for task_id in expected:
        task = stack.task(task_id)
        assert task.payload == TASK, "the stored body, every digit kept"
        assert task.schedule == "every-minute"
        assert task.scheduled_time is not None
        assert task.task_id == firing_task_id("every-minute", scheduled_time(task.scheduled_time))
    view = stack.api("GET", "/schedules/every-minute").body
    assert view["lastFiring"]["taskId"] == expected[-1]
    assert view["lastFiring"]["status"] in {"QUEUED", "RUNNING", "SUCCEEDED"}


def test_a_firing_delivered_twice_makes_one_task(stack: Stack) -> None:
    """Scheduler retrying a firing, or SQS delivering its message twice: the same scheduled
    time, the same task id, one conditional put."""
    _put(stack, "nightly", {"expression": "cron(0 3 * * ? *)", "task": TASK})
    when = "2027-03-29T03:00:00Z"
    _send_firing(stack, "nightly", when)
    _send_firing(stack, "nightly", when)

    _dispatch(stack)
    stack.wait_for_all_executions()
    _send_firing(stack, "nightly", "2027-03-29T03:00:00.000Z")  # a replay, the same time in another form
    _dispatch(stack)

    tasks = _schedule_tasks(stack, "nightly")
    task_id = firing_task_id("nightly", scheduled_time(when))
    assert [item["taskId"] for item in tasks] == [task_id]
    stack.wait_for_all_executions()
    assert stack.completed_work == [task_id], (
        "its work ran once (a second message's execution is refused its claim)"
    )
    record = stack.api("GET", f"/tasks/{task_id}").body
    assert (record["schedule"], record["scheduledTime"]) == ("nightly", when)
    assert stack.task(task_id).status is TaskStatus.SUCCEEDED
    assert "lastSkipped" not in stack.api("GET", "/schedules/nightly").body


def test_overlap_skip_submits_nothing_while_the_previous_task_still_runs_and_says_so(stack: Stack) -> None:
    """A task that runs longer than the period: the firings during it submit nothing."""
    release = threading.Event()

    def long_work(task: Task) -> dict[str, Any]:
        release.wait(timeout=20)
        return {"ok": True}

    stack.set_work(long_work)
    _put(stack, "busy", {"expression": "rate(1 minute)", "task": TASK})
    first = firing_task_id("busy", scheduled_time("2027-01-01T00:00:00Z"))
    _send_firing(stack, "busy", "2027-01-01T00:00:00Z")
    _dispatch(stack)  # the firing, then its task's message: an execution that is still working
    _until_status(stack, first, TaskStatus.RUNNING)

    for minute in (1, 2):
        _send_firing(stack, "busy", f"2027-01-01T00:0{minute}:00Z")
        _dispatch(stack)

    view = stack.api("GET", "/schedules/busy").body
    assert view["skippedFirings"] == 2
    assert view["lastSkipped"] == {
        "scheduledTime": "2027-01-01T00:02:00Z",
        "reason": f"overlap: task {first} of the firing at 2027-01-01T00:00:00Z is RUNNING",
    }
    assert view["lastFiring"] == {
        "scheduledTime": "2027-01-01T00:00:00Z",
        "taskId": first,
        "status": "RUNNING",
    }
    assert [item["taskId"] for item in _schedule_tasks(stack, "busy")] == [first]

    release.set()
    stack.wait_for_all_executions()
    _send_firing(stack, "busy", "2027-01-01T00:03:00Z")
    _dispatch(stack)
    assert len(_schedule_tasks(stack, "busy")) == 2, "once the previous task finished, the next firing runs"


def _until_status(stack: Stack, task_id: str, status: TaskStatus, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while stack.task(task_id).status is not status:
        assert time.monotonic() < deadline, stack.task(task_id).status
        time.sleep(0.02)


def test_overlap_allow_submits_every_firing(stack: Stack) -> None:
    _put(stack, "all", {"expression": "rate(1 minute)", "task": TASK, "overlap": "allow"})
    for minute in range(3):
        _send_firing(stack, "all", f"2027-01-01T00:0{minute}:00Z")
    _dispatch(stack)

    assert len(_schedule_tasks(stack, "all")) == 3


def test_firings_queued_while_dispatch_is_paused_run_once_after_resume_with_overlap_skip(
    stack: Stack,
) -> None:
    """ptm pause stops the dispatcher: firings wait in the queue; on resume they arrive together,
    and with overlap skip the first one claimed runs, the others find it unfinished (or later)."""
    _put(stack, "paused", {"expression": "rate(1 minute)", "task": TASK})
    for minute in range(4):
        _send_firing(stack, "paused", f"2027-01-01T00:0{minute}:00Z")

    _dispatch(stack)

    assert len(_schedule_tasks(stack, "paused")) == 1
    assert stack.api("GET", "/schedules/paused").body["skippedFirings"] == 3


def test_a_disabled_schedule_fires_nothing_and_enabled_again_fires_no_backlog(stack: Stack) -> None:
    body = {"expression": "rate(1 minute)", "task": TASK, "overlap": "allow"}
    _put(stack, "sometimes", {**body, "state": "DISABLED"})
    firer, changed = _firer(stack)

    assert firer.fire(real=changed + 300).fired == [], "five minutes disabled: nothing"
    assert stack.api("GET", "/schedules/sometimes").body["nextFirings"] == []

    _put(stack, "sometimes", body, expected=200)
    [enabled] = _scheduler_schedules(stack)
    assert enabled["State"] == "ENABLED"
    again = enabled["LastModificationDate"].timestamp()
    fired = firer.fire(real=again + 1)

    assert len(fired.fired) == 1, "the next firing only, no catch-up burst"


def test_delete_stops_the_schedule_and_a_firing_on_its_way_submits_nothing(stack: Stack) -> None:
    _put(stack, "gone", {"expression": "rate(1 minute)", "task": TASK})
    firer, changed = _firer(stack)
    assert len(firer.fire(real=changed + 1).fired) == 1

    assert stack.api("DELETE", "/schedules/gone").status == 204
    assert _scheduler_schedules(stack) == []
    assert firer.fire(real=changed + 3600).fired == [], "deleted: it fires no more"
    _dispatch(stack)  # the firing sent before the delete

    assert _schedule_tasks(stack, "gone") == []
    assert stack.api("GET", "/schedules/gone").status == 404
    assert stack.api("DELETE", "/schedules/gone").status == 404


def test_a_cron_schedule_in_berlin_lists_its_next_firings_across_the_change(stack: Stack) -> None:
    view = _put(
        stack,
        "berlin",
        {
            "expression": "cron(30 2 * * ? *)",
            "timezone": "Europe/Berlin",
            "startAt": "2099-03-26T00:00:00Z",
            "task": TASK,
        },
    )

    # 2099-03-29 is the last Sunday of March: 02:30 does not exist in Berlin that day.
    assert view["nextFirings"] == [
        "2099-03-26T01:30:00Z",
        "2099-03-27T01:30:00Z",
        "2099-03-28T01:30:00Z",
        "2099-03-30T00:30:00Z",
        "2099-03-31T00:30:00Z",
    ]
    [schedule] = _scheduler_schedules(stack)
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Berlin"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"expression": "rate(1 fortnight)", "task": TASK}, "INVALID_SCHEDULE", "expression"),
        ({"expression": "cron(0 9 * * MON-FRI *)", "task": TASK}, "INVALID_SCHEDULE", "expression"),
        (
            {"expression": "rate(1 hour)", "timezone": "Mars/Base", "task": TASK},
            "INVALID_SCHEDULE",
            "timezone",
        ),
        ({"expression": "rate(1 hour)", "task": {"type": "nope"}}, "UNKNOWN_TASK_TYPE", None),
        ({"expression": "rate(1 hour)", "task": {"type": "webhook"}}, "INVALID_REQUEST", None),
        ({"expression": "rate(1 hour)", "task": {**TASK, "delaySeconds": 5}}, "INVALID_SCHEDULE", "task"),
        ({"expression": "rate(1 hour)", "task": [1]}, "INVALID_SCHEDULE", "task"),
        ({"expression": "rate(1 hour)"}, "INVALID_SCHEDULE", "task"),
        ({"task": TASK}, "INVALID_SCHEDULE", "expression"),
        ({"expression": "rate(1 hour)", "task": TASK, "overlap": "queue"}, "INVALID_SCHEDULE", "overlap"),
        ({"expression": "rate(1 hour)", "task": TASK, "state": "on"}, "INVALID_SCHEDULE", "state"),
        (
            {"expression": "rate(1 hour)", "task": TASK, "endAt": "2001-01-01T00:00:00Z"},
            "INVALID_SCHEDULE",
            "endAt",
        ),
        ({"expression": "rate(1 hour)", "task": TASK, "startAt": "tomorrow"}, "INVALID_SCHEDULE", "startAt"),
        ({"expression": "rate(1 hour)", "task": TASK, "every": 5}, "INVALID_REQUEST", "every"),
    ],
)
def test_a_bad_schedule_is_a_400_naming_what_is_wrong_and_nothing_is_stored(
    stack: Stack, body: dict[str, Any], code: str, field: str | None
) -> None:
    response = stack.api("PUT", "/schedules/refused", body)

    assert response.status == 400, response.body
    assert response.body["error"]["code"] == code
    if field is not None:
        assert field in response.body["error"]["fields"]
    assert stack.api("GET", "/schedules/refused").status == 404
    assert _scheduler_schedules(stack) == []


@pytest.mark.parametrize("name", ["x" * 65, "with space", "semi;colon", "%C3%A9t%C3%A9"])
def test_a_name_scheduler_would_refuse_is_a_400(stack: Stack, name: str) -> None:
    response = stack.api("PUT", f"/schedules/{name}", {"expression": "rate(1 hour)", "task": TASK})

    assert response.status == 400, response.body
    assert response.body["error"]["fields"] == {
        "name": response.body["error"]["message"].removeprefix("name: ")
    }


def test_schedules_list_in_pages_and_a_schedules_tasks_list_with_a_checked_token(stack: Stack) -> None:
    for index in range(3):
        _put(stack, f"s{index}", {"expression": "rate(1 hour)", "task": TASK, "overlap": "allow"})
    first = stack.api("GET", "/schedules?limit=2").body
    assert [item["name"] for item in first["items"]] == ["s0", "s1"]
    rest = stack.api("GET", f"/schedules?limit=2&nextToken={first['nextToken']}").body
    assert [item["name"] for item in rest["items"]] == ["s2"]

    for minute in range(3):
        _send_firing(stack, "s0", f"2027-01-01T00:0{minute}:00Z")
    _dispatch(stack)
    page = stack.api("GET", "/tasks?schedule=s0&limit=2").body
    assert [item["scheduledTime"] for item in page["items"]] == [
        "2027-01-01T00:02:00Z",
        "2027-01-01T00:01:00Z",
    ]
    last = stack.api("GET", f"/tasks?schedule=s0&limit=2&nextToken={page['nextToken']}").body
    assert [item["scheduledTime"] for item in last["items"]] == ["2027-01-01T00:00:00Z"]
    for query in (
        f"schedule=s1&nextToken={page['nextToken']}",
        "schedule=s0&nextToken=bm9wZQ",
        "schedule=a%20b",
    ):
        refused = stack.api("GET", f"/tasks?{query}")
        assert refused.status == 400, (query, refused.body)
    assert stack.api("GET", "/tasks?schedule=s0&status=QUEUED").status == 400
    assert stack.api("GET", "/schedules?nextToken=!!").status == 400


def test_the_firing_path_takes_its_time_from_the_firer_not_the_wall_clock(stack: Stack) -> None:
    """On a scaled clock (make local --time-scale), a rate(1 minute) fires every scaled minute and
    names each firing by the scaled clock's time."""
    _put(stack, "fast", {"expression": "rate(1 minute)", "task": TASK, "overlap": "allow"})
    [schedule] = _scheduler_schedules(stack)
    changed = schedule["LastModificationDate"].timestamp()
    firer = RecurringFirer(time_scale=0.01, started=changed)

    fired = firer.fire(real=changed + 1.25)  # 125 scaled seconds

    assert len(fired.fired) == 3
    assert time.time() - changed < 60, "no real minute passed"


def test_a_claim_holds_each_rule_of_its_condition(stack: Stack) -> None:
    """The schedule's item is claimed for a firing only if the schedule exists, no later (or this
    very) firing was claimed, and, exclusive (overlap skip), its last task is the one seen."""
    table = SchedulesTable(stack.clients.dynamodb, stack.resources.names.schedules_table)
    now = datetime.now(UTC)

    def claim(when: str, task: str, previous: str | None = None, *, exclusive: bool = False) -> bool:
        return table.claim_firing("claims", when, task, previous_task=previous, exclusive=exclusive, now=now)

    assert not claim("2027-01-01T00:00:00Z", "t0"), "no such schedule: refused"
    assert table.get("claims") is None, "and nothing written"
    _put(stack, "claims", {"expression": "rate(1 minute)", "task": TASK})
    assert claim("2027-01-01T00:01:00Z", "t1", exclusive=True), "the first firing, nothing before it"
    assert not claim("2027-01-01T00:01:00Z", "t1b"), "this very firing again"
    assert not claim("2027-01-01T00:00:00Z", "t0"), "an earlier firing after a later one"
    assert not claim("2027-01-01T00:02:00Z", "t2", None, exclusive=True), (
        "skip: it saw no last task; there is one"
    )
    assert not claim("2027-01-01T00:02:00Z", "t2", "t0", exclusive=True), "skip: it saw another last task"
    assert claim("2027-01-01T00:02:00Z", "t2", "t1", exclusive=True)
    stored = table.get("claims")
    assert stored is not None
    assert (stored.last_scheduled_time, stored.last_task_id) == ("2027-01-01T00:02:00Z", "t2")


def test_a_firing_redelivered_after_its_claim_still_makes_its_task(stack: Stack) -> None:
    """A dispatcher that died between the claim and the create: the firing comes back, finds its
    own time claimed, and creates the task (no overlap with itself)."""
    _put(stack, "halfway", {"expression": "rate(1 minute)", "task": TASK})
    when = "2027-01-01T00:00:00Z"
    task_id = firing_task_id("halfway", scheduled_time(when))
    table = SchedulesTable(stack.clients.dynamodb, stack.resources.names.schedules_table)
    now = datetime.now(UTC)
    assert table.claim_firing("halfway", when, task_id, previous_task=None, exclusive=True, now=now)

    _send_firing(stack, "halfway", when)
    _dispatch(stack)

    assert [item["taskId"] for item in _schedule_tasks(stack, "halfway")] == [task_id]
    assert "lastSkipped" not in stack.api("GET", "/schedules/halfway").body


def test_with_overlap_skip_a_firing_later_than_one_already_run_submits_nothing(stack: Stack) -> None:
    _put(stack, "ordered", {"expression": "rate(1 minute)", "task": TASK})
    _send_firing(stack, "ordered", "2027-01-01T00:02:00Z")
    _dispatch(stack)
    stack.wait_for_all_executions()
    _send_firing(stack, "ordered", "2027-01-01T00:01:00Z")  # delivered late
    _dispatch(stack)

    assert len(_schedule_tasks(stack, "ordered")) == 1
    assert stack.api("GET", "/schedules/ordered").body["lastSkipped"] == {
        "scheduledTime": "2027-01-01T00:01:00Z",
        "reason": "a later firing (2027-01-01T00:02:00Z) ran first",
    }


def test_a_firing_of_a_paused_schedule_submits_nothing(stack: Stack) -> None:
    """A firing already queued when the schedule was paused (Scheduler itself fires none after)."""
    _put(stack, "held", {"expression": "rate(1 minute)", "task": TASK, "overlap": "allow"})
    assert stack.api("POST", "/schedules/held/pause").body["state"] == "DISABLED"
    [schedule] = _scheduler_schedules(stack)
    assert schedule["State"] == "DISABLED"
    _send_firing(stack, "held", "2027-01-01T00:00:00Z")
    _dispatch(stack)

    assert _schedule_tasks(stack, "held") == []
    assert stack.api("GET", "/schedules/held").body["lastSkipped"]["reason"] == "the schedule is disabled"
    resumed = stack.api("POST", "/schedules/held/resume").body
    assert (resumed["state"], len(resumed["nextFirings"])) == ("ENABLED", NEXT_FIRINGS_SHOWN)
    assert stack.api("POST", "/schedules/nothing/pause").status == 404


def test_a_schedules_webhook_headers_are_never_shown(stack: Stack) -> None:
    """A schedule's task is shown as a task's payload is: header values redacted; its firing's
    task gets them as given."""
    canary = f"header-canary-{uuid.uuid4().hex}"
    for function in (Function.API, Function.DISPATCH, Function.PROCESS):
        dependencies = stack.dependencies(function)
        dependencies.environment = dataclasses.replace(
            dependencies.environment, destinations=PublicHostStandIn()
        )
    with running_receiver() as receiver:
        url = receiver.answer("/ok", (200, b"{}", {}, 0.0))
        task = {"type": "webhook", "url": url, "body": {"n": 1}, "headers": {"Authorization": canary}}
        shown = [_put(stack, "hooked", {"expression": "rate(1 hour)", "task": task, "overlap": "allow"})]
        shown += [stack.api("GET", "/schedules/hooked").body, *stack.api("GET", "/schedules").body["items"]]
        _send_firing(stack, "hooked", "2027-01-01T00:00:00Z")
        _dispatch(stack)
        stack.wait_for_all_executions()

        assert all(view["task"]["headers"] == {"Authorization": "[redacted]"} for view in shown)
        assert canary not in json.dumps(shown)
        assert receiver.to("/ok")[0].headers["Authorization"] == canary


def test_a_schedule_scheduler_refuses_is_the_callers_400_not_an_alarm(stack: Stack) -> None:
    """Scheduler's ValidationException (moto, like Scheduler, refuses a recurring StartDate over 5
    minutes past) is an INVALID_SCHEDULE naming what Scheduler said."""
    recurring = stack.dependencies(Function.API).recurring
    past = datetime.now(UTC) - timedelta(minutes=10)
    with pytest.raises(InvalidScheduleError) as refused:
        recurring.put("refused", RecurringTiming("cron(0 9 * * ? *)", "UTC", "ENABLED", start=past))
    assert "EventBridge Scheduler refused the schedule" in refused.value.message
    assert _scheduler_schedules(stack) == []


def test_a_firing_whose_target_is_unreachable_is_sent_later_with_its_own_time(stack: Stack) -> None:
    """An outage of the target: Scheduler retries a firing (up to MaximumEventAgeInSeconds), and
    the retry carries the firing's own scheduled time, so it still makes exactly its task."""
    _put(stack, "outage", {"expression": "rate(1 hour)", "task": TASK})
    firer, changed = _firer(stack)
    queue = stack.resources.tasks_queue_url
    attributes = stack.clients.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    stack.clients.sqs.delete_queue(QueueUrl=queue)

    down = firer.fire(real=changed + 1)
    assert down.fired == [], down
    assert len(down.problems) == 1, down

    stack.clients.sqs.create_queue(
        QueueName=stack.resources.names.tasks_queue,
        Attributes={
            "VisibilityTimeout": attributes["VisibilityTimeout"],
            "RedrivePolicy": attributes["RedrivePolicy"],
        },
    )
    up = firer.fire(real=changed + 120)
    assert len(up.fired) == 1, up
    _dispatch(stack)
    first = scheduled_time(datetime.fromtimestamp(changed, UTC).isoformat())
    assert [item["taskId"] for item in _schedule_tasks(stack, "outage")] == [firing_task_id("outage", first)]
