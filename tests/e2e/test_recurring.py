"""Recurring schedules on the shared local stack (its clock scaled 100x: a minute is 0.6 s), through
``ptm schedules`` and the HTTP API, as a user meets them."""

from __future__ import annotations

import itertools
import json
import time
import zoneinfo
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from functions.common.recurring import firing_task_id, scheduled_time
from tests.e2e.conftest import RunningStack
from tests.fixtures.ptm_cli import ptm, ptm_json

TASK = json.dumps({"simulate": {"failures": 0}, "report": "daily"})
_BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
MINUTE = 0.6
"""A scaled minute on the shared stack (--time-scale 0.01), in real seconds."""


def _tasks(stack: RunningStack, name: str) -> list[dict[str, Any]]:
    status, _, body = stack.request("GET", f"/tasks?schedule={name}&limit=100")
    assert status == 200, body
    return list(body["items"])


def _until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return found


def test_rate_one_minute_submits_one_task_a_minute_with_the_derived_ids_until_deleted(
    local_stack: RunningStack,
) -> None:
    put = ["schedules", "put", "e2e-minutely", "--expression", "rate(1 minute)", "--task", TASK]
    created = ptm_json(local_stack, *put, "--overlap", "allow")
    assert (created["expression"], created["state"]) == ("rate(1 minute)", "ENABLED")
    assert ptm_json(local_stack, *put, "--overlap", "allow")["createdAt"] == created["createdAt"]
    listed = [item["name"] for item in ptm_json(local_stack, "schedules", "list")["items"]]
    assert listed.count("e2e-minutely") == 1, "the same PUT twice leaves one schedule"

    tasks = _until(lambda: (found := _tasks(local_stack, "e2e-minutely")) and len(found) >= 3 and found)
    times = [scheduled_time(item["scheduledTime"]) for item in reversed(tasks)][:3]
    assert [later - earlier for earlier, later in itertools.pairwise(times)] == [timedelta(minutes=1)] * 2
    for item in tasks:
        assert item["taskId"] == firing_task_id("e2e-minutely", scheduled_time(item["scheduledTime"]))
    code, shown = ptm(local_stack, "schedules", "show", "e2e-minutely", "--tasks")
    assert code == 0, shown
    assert "tasks of e2e-minutely" in shown

    assert ptm_json(local_stack, "schedules", "delete", "e2e-minutely") == {
        "name": "e2e-minutely",
        "deleted": True,
    }
    settled = len(_tasks(local_stack, "e2e-minutely"))
    time.sleep(3 * MINUTE)
    assert len(_tasks(local_stack, "e2e-minutely")) <= settled + 1, (
        "deleted: no more firings (one in flight at most)"
    )
    code, output = ptm(local_stack, "schedules", "show", "e2e-minutely")
    assert code == 1
    assert "SCHEDULE_NOT_FOUND" in output


def test_firings_while_dispatch_is_paused_run_once_after_resume_with_overlap_skip(
    local_stack: RunningStack,
) -> None:
    ptm_json(local_stack, "schedules", "put", "e2e-held", "--expression", "rate(1 minute)", "--task", TASK)
    _until(lambda: _tasks(local_stack, "e2e-held"))  # its first firing, at creation
    _until(lambda: all(item["status"] == "SUCCEEDED" for item in _tasks(local_stack, "e2e-held")))
    before = len(_tasks(local_stack, "e2e-held"))
    ptm_json(local_stack, "pause")
    try:
        time.sleep(3 * MINUTE)  # firings wait in the queue
        assert len(_tasks(local_stack, "e2e-held")) == before
    finally:
        ptm_json(local_stack, "resume")
    shown = _until(
        lambda: (
            (body := ptm_json(local_stack, "schedules", "show", "e2e-held"))["skippedFirings"] >= 2 and body
        )
    )
    ptm_json(local_stack, "schedules", "delete", "e2e-held")

    skipped = shown["lastSkipped"]
    assert skipped["reason"].startswith(("overlap: task", "a later firing")), skipped
    upto = [
        item for item in _tasks(local_stack, "e2e-held") if item["scheduledTime"] <= skipped["scheduledTime"]
    ]
    assert len(upto) == before + 1, "the firings held during the pause made one task between them"


def test_a_paused_schedule_fires_nothing_and_resumes_with_no_catch_up(local_stack: RunningStack) -> None:
    ptm_json(local_stack, "schedules", "put", "e2e-paused", "--expression", "rate(1 minute)", "--task", TASK)
    _until(lambda: _tasks(local_stack, "e2e-paused"))
    paused = ptm_json(local_stack, "schedules", "pause", "e2e-paused")
    assert (paused["state"], paused["nextFirings"]) == ("DISABLED", [])
    count = len(_tasks(local_stack, "e2e-paused"))
    time.sleep(3 * MINUTE)
    assert len(_tasks(local_stack, "e2e-paused")) <= count + 1, "paused: at most the firing in flight"
    count = len(_tasks(local_stack, "e2e-paused"))

    resumed = ptm_json(local_stack, "schedules", "resume", "e2e-paused")
    assert resumed["state"] == "ENABLED"
    _until(lambda: len(_tasks(local_stack, "e2e-paused")) > count)
    assert len(_tasks(local_stack, "e2e-paused")) == count + 1, "one firing at resume, no backlog of three"
    ptm_json(local_stack, "schedules", "delete", "e2e-paused")


def test_a_cron_in_berlin_shows_its_next_firings_in_utc(local_stack: RunningStack) -> None:
    body = {
        "expression": "cron(0 9 ? * MON-FRI *)",
        "timezone": "Europe/Berlin",
        "task": json.loads(TASK),
        "state": "DISABLED",
    }
    status, _, created = local_stack.request("PUT", "/schedules/e2e-berlin", body)
    assert status == 201, created
    status, _, shown = local_stack.request("POST", "/schedules/e2e-berlin/resume")
    assert status == 200, shown
    firings = [datetime.fromisoformat(moment) for moment in shown["nextFirings"]]
    assert len(firings) == 5
    assert all(moment.astimezone(_BERLIN).hour == 9 for moment in firings)
    assert all(moment.astimezone(_BERLIN).weekday() < 5 for moment in firings)
    assert ptm_json(local_stack, "schedules", "delete", "e2e-berlin")["deleted"] is True
