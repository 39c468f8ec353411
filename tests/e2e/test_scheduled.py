"""Scheduled tasks on the running local stack, through its HTTP API and ``ptm``, as a user meets them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.common.clock import utc_now
from tests.e2e.conftest import NAMES, RunningStack, run_benchmark
from tests.fixtures.ptm_cli import eventually_listed, ptm, ptm_json

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


def _record(stack: RunningStack, task_id: str) -> dict[str, Any]:
    status, _, body = stack.request("GET", f"/tasks/{task_id}")
    assert status == 200, body
    record: dict[str, Any] = body
    return record


def test_a_delayed_task_does_not_start_early_and_then_runs(local_stack: RunningStack) -> None:
    status, _, accepted = local_stack.request(
        "POST", "/tasks", {"simulate": {"failures": 0}, "delaySeconds": 2}
    )
    assert status == 202, accepted
    run_at = datetime.fromisoformat(accepted["runAt"])
    assert accepted["status"] == "SCHEDULED"

    seen = set()
    deadline = time.monotonic() + 30
    while (record := _record(local_stack, accepted["taskId"]))["status"] not in TERMINAL:
        seen.add(record["status"])
        if record["status"] != "SCHEDULED":
            assert utc_now() >= run_at, f"{record['status']} before its runAt"
        assert time.monotonic() < deadline, record
        time.sleep(0.1)

    assert "SCHEDULED" in seen
    assert record["status"] == "SUCCEEDED"
    assert record["runAt"] == accepted["runAt"]
    execution = local_stack.clients().sfn.describe_execution(executionArn=record["executionArn"])
    assert execution["startDate"] >= run_at


def test_a_task_three_days_ahead_is_listed_scheduled_and_can_be_cancelled(local_stack: RunningStack) -> None:
    at = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    submitted = ptm_json(local_stack, "submit", '{"n": 1}', "--at", at)
    task_id = submitted["taskId"]
    assert (submitted["status"], submitted["runAt"]) == ("SCHEDULED", at.replace("Z", ".000Z"))
    scheduler = local_stack.clients().scheduler

    def scheduled() -> list[str]:
        """The group's schedules (other tests on this stack, the fuzzer's, may have some too)."""
        return [s["Name"] for s in scheduler.list_schedules(GroupName=NAMES.schedule_group)["Schedules"]]

    assert task_id in scheduled()

    listed = eventually_listed(local_stack, task_id, "list", "--status", "scheduled")
    assert task_id in [item["taskId"] for item in listed["items"]]
    code, table = ptm(local_stack, "list", "--status", "SCHEDULED")
    assert code == 0
    assert "runs at" in table

    code, output = ptm(local_stack, "cancel", task_id)

    assert code == 0, output
    assert "CANCELLED" in output
    assert task_id not in scheduled()


def test_ptm_submit_delay_takes_a_duration(local_stack: RunningStack) -> None:
    before = utc_now()
    submitted = ptm_json(local_stack, "submit", '{"n": 2}', "--delay", "1h30m")
    run_at = datetime.fromisoformat(submitted["runAt"])
    assert timedelta(hours=1, minutes=30) <= run_at - before < timedelta(hours=1, minutes=31)
    assert ptm_json(local_stack, "cancel", submitted["taskId"])["status"] == "CANCELLED"

    code, output = ptm(local_stack, "submit", '{"n": 3}', "--delay", "soon")
    assert code == 2
    assert "--delay 'soon'" in output
    code, output = ptm(local_stack, "submit", '{"n": 3}', "--delay", "10m", "--at", "2030-01-01T00:00:00Z")
    assert code == 2


def test_a_bad_schedule_is_a_400_naming_its_fields_through_the_http_api(local_stack: RunningStack) -> None:
    """One case through the real HTTP API; every kind of bad schedule is covered against the
    handler (tests/integration/test_api.py) and the rules themselves (tests/unit/test_scheduling.py)."""
    late = {"delaySeconds": 10, "runAt": "2999-01-01T00:00:00Z"}
    status, headers, body = local_stack.request("POST", "/tasks", {"n": 1, **late})

    assert status == 400
    assert headers["Content-Type"] == "application/json"
    assert body["error"]["code"] == "INVALID_SCHEDULE"
    assert set(body["error"]["fields"]) == {"delaySeconds", "runAt"}


def test_the_schedule_precision_benchmark_runs_at_a_small_size_on_this_stack(
    local_stack: RunningStack,
) -> None:
    """``make bench-schedule`` at a small size (delays are never scaled, so the shared stack's time
    scale does not touch them; no stack of its own to start)."""
    result = run_benchmark(
        "bench.schedule_precision",
        *("--tasks", "3", "--delay", "1", "--endpoint", local_stack.api, "--emulator", local_stack.emulator),
        timeout=120,
    )

    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert "started before runAt: 0 of 3" in result.stdout, result.stdout
