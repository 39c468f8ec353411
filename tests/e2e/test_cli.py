"""``ptm`` against the running local stack, as an operator uses it."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Any

import pytest

from ptm.main import app
from tests.e2e.conftest import RunningStack
from tests.e2e.documented import RUN_HERE
from tests.fixtures.ptm_cli import eventually_listed, ptm, ptm_json, runner


def _wait_for(stack: RunningStack, task_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        record: dict[str, Any] = ptm_json(stack, "status", task_id)
        if record["status"] == status and (status != "FAILED" or record.get("deadLetteredAt")):
            return record
        time.sleep(0.2)
    raise TimeoutError(f"{task_id} never reached {status}")


def test_submit_status_list_and_redrive_all_failed(local_stack: RunningStack) -> None:
    failing = ptm_json(local_stack, "submit", '{"simulate": {"failures": 3}}', "--key", "cli-failing")
    again = ptm_json(local_stack, "submit", '{"simulate": {"failures": 3}}', "--key", "cli-failing")
    assert again["taskId"] == failing["taskId"]
    _wait_for(local_stack, failing["taskId"], "FAILED")

    listed = eventually_listed(local_stack, failing["taskId"], "list", "--status", "FAILED", "--all")
    assert failing["taskId"] in [item["taskId"] for item in listed["items"]]
    code, table = ptm(local_stack, "list", "--status", "failed")
    assert code == 0
    assert failing["taskId"][:8] in table

    redriven = ptm_json(local_stack, "redrive", "--all-failed", "--rate", "50")
    assert failing["taskId"] in [item["taskId"] for item in redriven["redriven"]]
    record = _wait_for(local_stack, failing["taskId"], "SUCCEEDED")
    assert (record["runs"], record["attempts"]) == (2, 4)


def test_cancel_and_its_refusal(local_stack: RunningStack) -> None:
    done = ptm_json(local_stack, "submit", '{"simulate": {"failures": 0}}')
    _wait_for(local_stack, done["taskId"], "SUCCEEDED")

    code, output = ptm(local_stack, "cancel", done["taskId"])

    assert code == 1
    assert "TASK_NOT_CANCELLABLE" in output
    assert "SUCCEEDED" in output


def test_watch_once_shows_recent_tasks(local_stack: RunningStack) -> None:
    submitted = ptm_json(local_stack, "submit", '{"n": 1}')
    snapshot = eventually_listed(local_stack, submitted["taskId"], "watch", "--once")
    assert submitted["taskId"] in [item["taskId"] for item in snapshot["items"]]


def test_bad_input_and_unreachable_endpoints_exit_2(local_stack: RunningStack) -> None:
    assert ptm(local_stack, "submit", "not json")[0] == 2
    assert ptm(local_stack, "redrive")[0] == 2
    code, output = ptm(local_stack, "--endpoint", "http://127.0.0.1:9", "status", "x")
    assert code == 2
    assert "cannot reach" in output


def test_unknown_task_is_a_clear_api_error(local_stack: RunningStack) -> None:
    code, output = ptm(local_stack, "status", "no-such-task")
    assert code == 1
    assert "404 TASK_NOT_FOUND" in output


def test_stage_reads_the_endpoint_from_the_deploy_outputs(
    local_stack: RunningStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cdk.out").mkdir()
    outputs = {"ProcessTaskManager-demo": {"TasksEndpoint": local_stack.api + "/"}}
    (tmp_path / "cdk.out" / "outputs-demo.json").write_text(json.dumps(outputs))

    result = runner.invoke(
        app, ["--stage", "demo", "--json", "submit", '{"n": 1}'], env={"TASKS_ENDPOINT": ""}
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "QUEUED"
    missing = runner.invoke(app, ["--stage", "nowhere", "status", "x"], env={"TASKS_ENDPOINT": ""})
    assert missing.exit_code == 2


def test_pause_holds_new_tasks_queued_and_resume_drains_them(local_stack: RunningStack) -> None:
    paused = ptm_json(local_stack, "pause")
    try:
        assert (paused["state"], paused["paused"]) == ("Disabled", True)
        held = [
            ptm_json(local_stack, "submit", json.dumps({"simulate": {"failures": 0}, "n": n}))
            for n in range(3)
        ]
        time.sleep(1)

        assert [ptm_json(local_stack, "status", t["taskId"])["status"] for t in held] == ["QUEUED"] * 3
        info = ptm_json(local_stack, "info")
        assert info["Dispatch"]["paused"] is True
        assert info["Dispatch"]["pausedSince"] is not None
        assert info["Dispatch"]["queueRetentionSeconds"] == 7 * 86_400
        assert info["QueueDepths"]["TasksQueueUrl"]["visible"] >= 3
        code, text = ptm(local_stack, "info")
        assert code == 0
        assert "dispatch PAUSED (Disabled) since" in text
        assert "warning: the tasks queue keeps a message 7 d 0 h" in text
    finally:
        resumed = ptm_json(local_stack, "resume")

    assert (resumed["state"], resumed["paused"]) == ("Enabled", False)
    for task in held:
        _wait_for(local_stack, task["taskId"], "SUCCEEDED")


def test_info_capacity_on_the_local_stack_is_its_stage_as_make_deploy_would_deploy_it(
    local_stack: RunningStack,
) -> None:
    """The README's `ptm info --capacity`, as written, against the local stack."""
    [command] = [command for command, run in RUN_HERE.items() if run.by and run.by.endswith(CAPACITY_TEST)]
    code, text = ptm(local_stack, *shlex.split(command)[1:])
    assert code == 0, text
    lines = text.strip().splitlines()
    assert "as make deploy would deploy it" in " ".join(lines[:3])
    assert lines[-1].startswith("ceiling: "), lines[-1]
    assert lines[-1].endswith("(binding: API stage throttle)"), lines[-1]


CAPACITY_TEST = "test_info_capacity_on_the_local_stack_is_its_stage_as_make_deploy_would_deploy_it"
