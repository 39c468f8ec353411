"""Users of the Node.js version arrive with its configuration block and its commands: the smoke
script takes the block verbatim against the local stack, every misconfiguration ends with exit 2
and one line naming the variable, and ``ptm logs`` / ``ptm info`` replace ``serverless logs`` and
``npm run info``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from local.process import REPO, user_environment
from ptm.main import app
from tests.e2e.conftest import NAMES, RunningStack

runner = CliRunner()


def _smoke(stack: RunningStack, **variables: str) -> tuple[int, str]:
    defaults = {"SMOKE_TASK_COUNT": "2", "SMOKE_TIMEOUT_MS": "60000", "SMOKE_INTERVAL_MS": "200"}
    environment = user_environment(COLUMNS="200", **{**defaults, **variables})
    result = subprocess.run(
        [sys.executable, "-m", "smoke", "--scenario", "success"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def test_the_node_versions_configuration_block_runs_verbatim(local_stack: RunningStack) -> None:
    """As its README has it: the endpoint ends in /tasks, the table is named, a region and a
    profile are set (another region than the emulator's, a profile this machine does not have:
    against the local stack the cross-check reads the emulator's table anyway)."""
    code, output = _smoke(
        local_stack,
        AWS_PROFILE="ptm-no-such-profile",
        AWS_REGION="eu-west-3",
        AWS_SDK_LOAD_CONFIG="1",
        TASKS_ENDPOINT=f"{local_stack.api}/tasks",
        TASKS_TABLE=NAMES.table,
    )

    assert code == 0, output
    assert "no violations" in output


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"TASKS_TABLE": "no-such-table"}, "TASKS_TABLE='no-such-table' does not exist"),
        ({"SMOKE_TASK_COUNT": "ten"}, "SMOKE_TASK_COUNT='ten' is not a whole number"),
        ({"SMOKE_TIMEOUT_MS": "0"}, "SMOKE_TIMEOUT_MS='0' must be greater than zero"),
        ({"TASKS_API_AUTH": "oauth"}, "TASKS_API_AUTH='oauth' must be one of auto, iam, jwt, none"),
    ],
)
def test_a_misconfiguration_is_exit_2_and_one_line_naming_the_variable(
    local_stack: RunningStack, variables: dict[str, str], named: str
) -> None:
    code, output = _smoke(local_stack, TASKS_ENDPOINT=local_stack.api, **variables)

    assert code == 2, output
    assert named in output
    assert "Traceback" not in output
    assert len(output.strip().splitlines()) == 1, output


def test_an_endpoint_that_is_not_this_api_is_exit_2(local_stack: RunningStack) -> None:
    """The emulator answers HTTP, but not as the tasks API."""
    code, output = _smoke(local_stack, TASKS_ENDPOINT=local_stack.emulator)

    assert code == 2, output
    assert "is not the Process Task Manager API" in output
    assert "Traceback" not in output


def _submit(stack: RunningStack, payload: dict[str, Any]) -> str:
    result = runner.invoke(app, ["--endpoint", stack.api, "--json", "submit", json.dumps(payload)])
    assert result.exit_code == 0, result.output
    task_id: str = json.loads(result.output)["taskId"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = runner.invoke(app, ["--endpoint", stack.api, "--json", "status", task_id])
        if json.loads(status.output)["status"] in {"SUCCEEDED", "FAILED"}:
            return task_id
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} did not finish")


def _read_logs(stack: RunningStack, *args: str) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["--endpoint", f"{stack.api}/tasks", "--json", "logs", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.strip()]


def _logs(
    stack: RunningStack,
    *args: str,
    until: Callable[[list[dict[str, Any]]], bool] = bool,
    within: float = 20.0,
) -> list[dict[str, Any]]:
    """ptm logs lines (JSON) once ``until`` holds for them. Log delivery is eventual, on AWS
    as on the local stack (its runtime writes in batches from a background thread, and a loaded
    machine delays them), so a test polls for what it expects instead of sleeping a fixed time;
    the last read is returned either way, for the test's own assertions to explain."""
    deadline = time.monotonic() + within
    lines = _read_logs(stack, *args)
    while not until(lines) and time.monotonic() < deadline:
        time.sleep(0.25)
        lines = _read_logs(stack, *args)
    return lines


def _process_messages(lines: list[dict[str, Any]]) -> list[str]:
    return [str(line["message"]) for line in lines if line["source"] == "process"]


def _workflow_events(lines: list[dict[str, Any]]) -> list[str]:
    return [json.loads(line["message"])["type"] for line in lines if line["source"] == "workflow"]


def test_logs_follow_a_retried_task_through_every_function_and_the_workflow(
    local_stack: RunningStack,
) -> None:
    task_id = _submit(local_stack, {"simulate": {"failures": 1}})

    lines = _logs(
        local_stack,
        "--task",
        task_id,
        "--since",
        "5m",
        until=lambda lines: (
            {"api", "dispatch", "process", "workflow"} <= {line["source"] for line in lines}
            and any("attempt failed" in message for message in _process_messages(lines))
            and _workflow_events(lines)[-1:] == ["ExecutionSucceeded"]
        ),
    )

    sources = {line["source"] for line in lines}
    assert {"api", "dispatch", "process", "workflow"} <= sources, sources
    assert all(task_id in line["message"] for line in lines)
    process = _process_messages(lines)
    assert any("attempt failed" in message and "TaskFailedError" in message for message in process), process
    workflow = _workflow_events(lines)
    assert workflow.count("LambdaFunctionFailed") + workflow.count("TaskFailed") >= 1, workflow
    assert workflow[-1] == "ExecutionSucceeded", workflow


@pytest.mark.parametrize("name", ["process", "processTask"])
def test_logs_of_one_function_by_its_name_or_the_node_versions(local_stack: RunningStack, name: str) -> None:
    task_id = _submit(local_stack, {"n": 1})

    lines = _logs(
        local_stack,
        name,
        "--since",
        "5m",
        until=lambda lines: (
            any(task_id in line["message"] for line in lines)
            and any(line["message"].startswith("REPORT RequestId:") for line in lines)
        ),
    )

    assert {line["source"] for line in lines} == {"process"}
    assert any(line["message"].startswith("START RequestId:") for line in lines)
    assert any(line["message"].startswith("REPORT RequestId:") for line in lines)
    assert any(task_id in line["message"] for line in lines)


def test_logs_since_leaves_out_older_lines(local_stack: RunningStack) -> None:
    task_id = _submit(local_stack, {"n": 2})
    time.sleep(3)

    assert _logs(local_stack, "--task", task_id, "--since", "1m") != []
    assert _read_logs(local_stack, "--task", task_id, "--since", "1s") == []


def test_logs_refuse_an_unknown_function_and_duration(local_stack: RunningStack) -> None:
    unknown = runner.invoke(app, ["--endpoint", local_stack.api, "logs", "sendEmail"])
    assert unknown.exit_code == 2
    assert "processTask" in unknown.output
    bad = runner.invoke(app, ["--endpoint", local_stack.api, "logs", "--since", "yesterday"])
    assert bad.exit_code == 2
    assert "--since" in bad.output


def test_info_describes_the_running_local_stack(local_stack: RunningStack, tmp_path: Path) -> None:
    result = runner.invoke(app, ["--endpoint", local_stack.api, "--json", "info"])

    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["Stage"] == "local"
    assert info["TasksEndpoint"] == local_stack.api
    assert info["TasksTable"] == NAMES.table
    assert info["StateMachineLogGroup"] == NAMES.state_machine_log_group
    assert info["LogGroups"]["process"] == "/aws/lambda/ptm-local-process"
    assert set(info["QueueDepths"]) == {"TasksQueueUrl", "DeadLetterQueueUrl"}
    assert all(set(depth) == {"visible", "inFlight"} for depth in info["QueueDepths"].values())
    assert info["Links"]["execution view"] == f"{local_stack.api}/ui"
    assert NAMES.signing_secret in info["WebhookSigningSecret"]
