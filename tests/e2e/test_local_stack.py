"""The local stack as a user runs it, checked with the smoke script and by reading the emulator."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from functions.common.clock import iso, utc_now
from functions.common.tasks_table import summary_from_item
from infra.workflow_definition import retry_policy
from local.options import ensure_port_free
from local.process import REPO, start_local_stack, stop, wait_until_serving
from tests.e2e.conftest import NAMES, RunningStack

POLICY = retry_policy()
RANDOM_TASKS = 24


def _all_tasks(stack: RunningStack, created_since: str = "") -> list[dict[str, object]]:
    """Every task record in the emulator's table created since then (the stack is shared)."""
    paginator = stack.clients().dynamodb.get_paginator("scan")
    return [
        summary_from_item(item).to_api()
        for page in paginator.paginate(TableName=NAMES.table)
        for item in page["Items"]
        if "status" in item and str(item["createdAt"]["S"]) >= created_since  # records, not payloads
    ]


def _visible(stack: RunningStack, queue: str) -> int:
    sqs = stack.clients().sqs
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_random_failures_at_the_default_rate_all_end_accounted_for(
    local_stack: RunningStack, tmp_path: Path
) -> None:
    code, summary, output = local_stack.smoke(count=RANDOM_TASKS, tmp_path=tmp_path)

    assert code == 0, output
    row = summary["scenarios"]["random"]
    assert row["submitted"] == RANDOM_TASKS
    assert row["succeeded"] + row["failed"] == RANDOM_TASKS
    assert row["deadLettered"] == row["failed"]
    assert set(map(int, row["attempts"])) <= set(range(1, POLICY.total_attempts + 1))
    assert any(int(attempts) > 1 for attempts in row["attempts"]), "some tasks were retried"


def test_each_deterministic_scenario_takes_its_path(local_stack: RunningStack, tmp_path: Path) -> None:
    scenarios = ["success", "retry", "dlq", "permanent"]
    code, summary, output = local_stack.smoke(
        *[arg for name in scenarios for arg in ("--scenario", name)], count=4, tmp_path=tmp_path
    )

    assert code == 0, output
    rows = summary["scenarios"]
    assert rows["success"]["attempts"] == {"1": 4}
    assert rows["retry"]["attempts"] == {str(POLICY.total_attempts): 4}
    assert (rows["dlq"]["failed"], rows["dlq"]["deadLettered"]) == (4, 4)
    assert rows["dlq"]["attempts"] == {str(POLICY.total_attempts): 4}
    assert (rows["permanent"]["failed"], rows["permanent"]["attempts"]) == (4, {"1": 4})


def test_the_emulator_agrees_every_task_is_terminal_and_failed_ones_were_dead_lettered(
    local_stack: RunningStack, tmp_path: Path
) -> None:
    started = iso(utc_now())
    code, _, output = local_stack.smoke(
        "--scenario", "dlq", "--scenario", "random", count=10, tmp_path=tmp_path
    )
    assert code == 0, output

    tasks = _all_tasks(local_stack, created_since=started)
    assert tasks
    assert all(task["status"] in {"SUCCEEDED", "FAILED"} for task in tasks)
    failed = [task for task in tasks if task["status"] == "FAILED"]
    assert failed
    assert all(task.get("deadLetteredAt") for task in failed)
    assert all(
        task["attempts"] == POLICY.total_attempts for task in failed if task["error"] == "TaskFailedError"
    )
    assert _visible(local_stack, NAMES.dead_letter_queue) == 0, "the monitor consumed every dead letter"
    assert "FAILED" in local_stack.log()
    assert "dead-lettered" in local_stack.log()
    assert "retrying after: TaskFailedError" in local_stack.log()


def test_a_poison_message_is_redriven_and_never_kills_the_stack(
    local_stack: RunningStack, tmp_path: Path
) -> None:
    sqs = local_stack.clients().sqs
    sqs.send_message(
        QueueUrl=sqs.get_queue_url(QueueName=NAMES.tasks_queue)["QueueUrl"], MessageBody="not a task"
    )

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (
        _visible(local_stack, NAMES.tasks_queue) or _visible(local_stack, NAMES.dead_letter_queue)
    ):
        time.sleep(0.5)

    assert _visible(local_stack, NAMES.tasks_queue) == 0
    assert _visible(local_stack, NAMES.dead_letter_queue) == 0
    assert "ptm-local-dispatch" in local_stack.log()
    assert local_stack.process.poll() is None
    code, _, output = local_stack.smoke("--scenario", "success", count=2, tmp_path=tmp_path)
    assert code == 0, output


def test_smoke_takes_the_node_versions_endpoint_ending_in_tasks(
    local_stack: RunningStack, tmp_path: Path
) -> None:
    """Its README sets TASKS_ENDPOINT="https://<api_id>.execute-api.<region>.amazonaws.com/tasks"."""
    code, summary, output = local_stack.smoke(
        "--scenario", "success", count=2, tmp_path=tmp_path, endpoint=f"{local_stack.api}/tasks"
    )

    assert code == 0, output
    assert summary["scenarios"]["success"]["succeeded"] == 2, output


def test_smoke_against_an_unreachable_endpoint_fails_clearly() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-m", "smoke"],
        cwd=REPO,
        env={"PATH": "", "TASKS_ENDPOINT": f"http://127.0.0.1:{port}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert f"cannot reach http://127.0.0.1:{port}" in result.stdout


@pytest.mark.parametrize(
    "variable", ["SMOKE_TASK_COUNT=ten", "SMOKE_TIMEOUT_MS=-1", "TASKS_ENDPOINT=ftp://x"]
)
def test_smoke_with_a_bad_variable_names_it(variable: str) -> None:
    name, value = variable.split("=", 1)
    result = subprocess.run(
        [sys.executable, "-m", "smoke"],
        cwd=REPO,
        env={name: value},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert name in result.stdout


def test_a_taken_port_is_a_one_line_error_and_nothing_is_left_running(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process, _, emulator_port = start_local_stack(tmp_path / "taken.log", "--api-port", str(port))
        code = process.wait(timeout=30)

    output = (tmp_path / "taken.log").read_text().strip()
    assert code == 2
    assert output.splitlines() == [
        f"ptm local: port {port} on 127.0.0.1 is already in use; choose another with --api-port"
    ]
    ensure_port_free("127.0.0.1", emulator_port, "--emulator-port")


def test_sigterm_stops_cleanly_and_frees_the_ports(tmp_path: Path) -> None:
    log = tmp_path / "stop.log"
    process, api_port, emulator_port = start_local_stack(log)
    wait_until_serving(f"http://127.0.0.1:{api_port}", process, log)

    assert stop(process) == 0
    assert "Traceback" not in log.read_text()
    for port in (api_port, emulator_port):
        ensure_port_free("127.0.0.1", port, "--api-port")


def test_banner_shows_endpoints_and_examples(local_stack: RunningStack) -> None:
    banner = local_stack.log()
    assert f"API        {local_stack.api}" in banner
    assert f"emulator   {local_stack.emulator}" in banner
    for example in ("curl -s -X POST", "python -m smoke", "--endpoint-url"):
        assert example in banner
    assert json.dumps({"hello": "world"}) in banner


def test_a_failed_tasks_times_are_in_one_form_and_its_cause_is_the_message_alone(
    local_stack: RunningStack,
) -> None:
    """Over HTTP: every time on a record the workflow failed reads ``…:38.152Z``, whichever piece
    wrote it (the api, the process function, the state machine's MarkFailed, the monitor); its
    cause is the error's message, never the function's stack trace (paths, source lines)."""
    _, _, accepted = local_stack.request("POST", "/tasks", {"simulate": {"permanent": True}})
    deadline = time.monotonic() + 30
    while (record := local_stack.request("GET", f"/tasks/{accepted['taskId']}")[2]).get(
        "deadLetteredAt"
    ) is None:
        assert time.monotonic() < deadline, record
        time.sleep(0.1)

    times = {name: record[name] for name in ("createdAt", "updatedAt", "deadLetteredAt", "expiresAt")}
    assert all(
        re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?Z", value)
        for value in times.values()
    ), times
