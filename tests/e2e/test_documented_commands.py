"""Every command the README and docs/*.md show a user runs in ``make test`` as written, or is
rehearsed offline because it needs an AWS account, or is started, checked and stopped because it
runs until Ctrl-C or needs something outside this machine. ``tests/e2e/documented.py`` lists which
is which; a command on no list fails the suite, and so does a list entry no document shows."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from infra.names import LOCAL_CREDENTIALS, Output, StageNames
from local.process import REPO
from tests.e2e.conftest import RunningStack
from tests.e2e.documented import (
    LONG_RUNNING,
    NEEDS_AWS,
    NODE_VERSION,
    PYTHON_BLOCKS,
    RUN_HERE,
    Rehearsal,
    Run,
    TaskId,
    bash,
    documented_commands,
    documents,
    fences,
    python_block,
    python_blocks,
    shell_environment,
)

LISTS: dict[str, dict[str, Any]] = {
    "run here": RUN_HERE,
    "needs AWS": NEEDS_AWS,
    "long-running or external": LONG_RUNNING,
    "the Node.js version's": NODE_VERSION,
}
LOCAL_ADDRESS = re.compile(r"\b(?:localhost|127\.0\.0\.1):8000\b")
SUBMITTED_FOR = {
    TaskId.ANY: {"orderId": 1},
    TaskId.SCHEDULED: {"orderId": 2, "delaySeconds": 3600},
    TaskId.FAILED: {"orderId": 3, "simulate": {"permanent": True}},
}


def stack_environment(stack: RunningStack, **extra: str) -> dict[str, str]:
    """The shell of a user whose TASKS_ENDPOINT is the stack, with a short smoke run."""
    return shell_environment(TASKS_ENDPOINT=stack.api, SMOKE_TASK_COUNT="4", SMOKE_INTERVAL_MS="200", **extra)


def on_the_stack(command: str, stack: RunningStack) -> str:
    """The command as a user would type it for this stack: its address for localhost:8000."""
    return LOCAL_ADDRESS.sub(stack.api.removeprefix("http://"), command)


def _task(stack: RunningStack, kind: TaskId) -> str:
    status, _, body = stack.request("POST", "/tasks", SUBMITTED_FOR[kind])
    assert status == 202, body
    task_id = str(body["taskId"])
    deadline = time.monotonic() + 30
    while kind is TaskId.FAILED and stack.request("GET", f"/tasks/{task_id}")[2]["status"] != "FAILED":
        assert time.monotonic() < deadline, f"{task_id} not FAILED"
        time.sleep(0.1)
    return task_id


def _test_exists(reference: str) -> bool:
    """A top-level test function of that name in that file (read, not imported: some load CDK)."""
    path, _, name = reference.partition("::")
    tree = ast.parse((REPO / path).read_text())
    return name.startswith("test_") and any(
        isinstance(node, ast.FunctionDef) and node.name == name for node in tree.body
    )


def test_every_documented_command_is_on_exactly_one_list() -> None:
    found = documented_commands()
    listed = Counter(command for commands in LISTS.values() for command in commands)

    unlisted = [
        f"{documented.where}: {command}" for command, documented in found.items() if not listed[command]
    ]
    assert not unlisted, "documented but on no list (tests/e2e/documented.py):\n" + "\n".join(unlisted)
    assert not [command for command, times in listed.items() if times > 1], "on two lists"
    stale = [command for command in listed if command not in found]
    assert not stale, "listed but no document shows it any more:\n" + "\n".join(stale)


def test_every_rehearsal_and_runner_names_a_test_that_exists() -> None:
    named = [run.by for run in RUN_HERE.values() if run.by] + [
        rehearsal.test for rehearsal in (NEEDS_AWS | LONG_RUNNING).values() if rehearsal.test
    ]
    assert all(rehearsal.test or rehearsal.dry_run for rehearsal in (NEEDS_AWS | LONG_RUNNING).values())
    assert [reference for reference in named if not _test_exists(reference)] == []


def test_each_of_the_node_versions_commands_has_its_equivalent_on_a_list() -> None:
    ours = RUN_HERE | NEEDS_AWS | LONG_RUNNING
    assert [equivalent for equivalent in NODE_VERSION.values() if equivalent not in ours] == []


@pytest.mark.parametrize("command", [command for command, run in RUN_HERE.items() if run.by is None])
def test_each_command_runs_as_written(local_stack: RunningStack, command: str) -> None:
    run: Run = RUN_HERE[command]
    typed = on_the_stack(command, local_stack)
    if run.task is not None:
        typed = typed.replace("<taskId>", _task(local_stack, run.task))

    result = bash(typed, stack_environment(local_stack))
    if run.then is not None:
        assert bash(run.then, stack_environment(local_stack)).returncode == 0

    assert result.returncode == 0, f"{typed}\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    assert run.expect in result.stdout + result.stderr, result.stdout[-3000:]


DRY_RUNS = {
    command: rehearsal for command, rehearsal in (NEEDS_AWS | LONG_RUNNING).items() if rehearsal.dry_run
}


@pytest.mark.parametrize("command", list(DRY_RUNS))
def test_each_dry_run_assembles_the_documented_command(command: str) -> None:
    rehearsal: Rehearsal = DRY_RUNS[command]
    assert rehearsal.dry_run is not None

    result = bash(rehearsal.dry_run, shell_environment())

    assert result.returncode == 0, result.stdout + result.stderr
    assert rehearsal.expect in result.stdout, result.stdout


def _rehearsed_by(test: str) -> list[str]:
    return [
        command
        for command, rehearsal in NEEDS_AWS.items()
        if rehearsal.test and rehearsal.test.endswith(test)
    ]


def test_ptm_stage_reads_the_outputs_make_deploy_saved(local_stack: RunningStack, tmp_path: Path) -> None:
    """``ptm --stage <stage> …`` against the file ``make deploy`` writes (cdk deploy's
    --outputs-file shape, every output of the stack with webhooks on), with the local stack's
    resources in it and the emulator answering for AWS (AWS_ENDPOINT_URL). Only the stage's name
    differs from the documented commands: the local stack's resources are named for ``local``."""
    info = local_stack.request("GET", "/ui/info.json")[2]
    stage = str(info["Stage"])
    outputs = {output.value: str(info.get(output, f"{output.value}-of-{stage}")) for output in Output}
    (tmp_path / "cdk.out").mkdir()
    (tmp_path / "cdk.out" / f"outputs-{stage}.json").write_text(
        json.dumps({StageNames(stage).stack: outputs})
    )
    stages = tmp_path / "stages"
    stages.mkdir()
    saved = {"production": False, "webhooks": "on"}
    (stages / f"{stage}.json").write_text(json.dumps(saved))
    environment = shell_environment(
        AWS_ENDPOINT_URL=local_stack.emulator,
        AWS_REGION=str(info["Region"]),
        PTM_STAGES_DIR=str(stages),
        **LOCAL_CREDENTIALS,
    )
    commands = _rehearsed_by("test_ptm_stage_reads_the_outputs_make_deploy_saved")
    assert len(commands) == 3

    for command in commands:
        rehearsed = command.replace("--stage dev", f"--stage {stage}").replace(" --follow", "")
        result = bash(rehearsed, environment, cwd=tmp_path)
        assert result.returncode == 0, f"{rehearsed}\n{result.stdout}{result.stderr}"
    described = bash(f"ptm --stage {stage} --json info", environment, cwd=tmp_path)
    assert described.returncode == 0, described.stderr
    body = json.loads(described.stdout)
    assert {output.value for output in Output} <= set(body)
    assert set(body["QueueDepths"]) == {Output.TASKS_QUEUE_URL, Output.DEAD_LETTER_QUEUE_URL}
    assert body["Dispatch"]["paused"] is False
    assert body["SavedOptions"] == saved, "the stage's file, as synthesis reads it"


@pytest.mark.xdist_group("cdk")  # jsii is warm on the worker that synthesizes the matrix
def test_documented_stage_files_synthesize_as_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each complete stage file the docs show (a ```json block stating "production") is saved as
    its stage's file and synthesized offline, cdk-nag clean (placeholders filled in)."""
    from infra.stage_options import STAGES_DIR_VARIABLE
    from tests.infra.conftest import OFFLINE, synthesize  # CDK loads on the synthesizing worker only

    blocks = [
        json.loads(re.sub(r"<[^>]+>", "example-value", block))
        for document in documents()
        for block in fences(document.read_text(), "json")
        if '"production"' in block
    ]
    assert len(blocks) == 3
    for index, options in enumerate(blocks):
        stage = "prod" if options["production"] else "dev"
        directory = tmp_path / f"stages-{index}"
        directory.mkdir()
        (directory / f"{stage}.json").write_text(json.dumps(options))
        monkeypatch.setenv(STAGES_DIR_VARIABLE, str(directory))
        outdir = tmp_path / str(index)
        outdir.mkdir()
        synth = synthesize(outdir, OFFLINE, stage=stage)
        nag = synth.plugin_report("AwsSolutions")
        assert (nag["conclusion"], nag["violations"]) == ("success", []), options


def test_documented_aws_calls_are_valid_requests_for_the_stack_s_resources() -> None:
    """Each ``aws`` call the docs show, as the request it sends (the CLI's shorthand and JSON read
    into parameters), is valid for botocore's model of the operation and names the production
    stage's own table and index, or the layer parameter the stack resolves."""
    from botocore.session import get_session
    from botocore.validate import validate_parameters

    from functions.common.config import PHASE_INDEX
    from infra.components.compute import powertools_layer_parameter
    from infra.names import StageNames
    from infra.stage_config import StageConfig

    commands = _rehearsed_by("test_documented_aws_calls_are_valid_requests_for_the_stack_s_resources")
    assert len(commands) == 3
    for command in commands:
        _, service, operation, *words = shlex.split(command)
        model = (
            get_session()
            .get_service_model(service)
            .operation_model("".join(part.title() for part in operation.split("-")))
        )
        shape = model.input_shape
        assert shape is not None, command
        params: dict[str, Any] = {}
        for flag, value in zip(words[::2], words[1::2], strict=True):
            name = "".join(part.title() for part in flag.removeprefix("--").split("-"))
            member = shape.members[name]
            if value.startswith(("[", "{")):
                params[name] = json.loads(value)
            elif member.type_name == "structure":
                params[name] = {k: int(v) for k, v in (pair.split("=") for pair in value.split(","))}
            else:
                params[name] = value
        validate_parameters(params, shape)
        if service == "ssm":
            assert params["Name"] == powertools_layer_parameter(StageConfig().powertools_version), command
            continue
        assert params["TableName"] == StageNames("prod").table, command
        for update in params.get("GlobalSecondaryIndexUpdates", []):
            assert update["Update"]["IndexName"] == PHASE_INDEX, command


def _interrupted(
    command: str, environment: dict[str, str], seconds: float, act: Any = None
) -> tuple[int, str]:
    """Start ``command`` as a terminal would (its own process group), let it run, then Ctrl-C."""
    process = subprocess.Popen(
        ["bash", "-c", command],
        cwd=REPO,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    time.sleep(seconds)
    if act is not None:
        act()
        time.sleep(seconds)
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    return process.returncode, output


def test_ptm_watch_redraws_until_ctrl_c(local_stack: RunningStack) -> None:
    task_id = _task(local_stack, TaskId.ANY)

    code, output = _interrupted("ptm watch", stack_environment(local_stack), 3)

    assert code == 0, output
    assert task_id[:8] in output


def test_ptm_logs_follow_prints_new_lines_until_ctrl_c(local_stack: RunningStack) -> None:
    """It keeps reading: a task submitted after it started shows up before Ctrl-C."""
    submitted: list[str] = []

    code, output = _interrupted(
        "ptm logs processTask --follow",
        stack_environment(local_stack),
        3,
        act=lambda: submitted.append(_task(local_stack, TaskId.ANY)),
    )

    assert code == 0, output
    assert submitted[0] in output


def test_the_readme_client_example_runs_against_the_local_stack(
    local_stack: RunningStack, tmp_path: Path
) -> None:
    """The README's Python client block, as written, with ``make deploy``'s outputs file for
    ``prod`` pointing at the local stack (its only stand-in for a deployment)."""
    example = python_block("README.md", "from ptm_client import")
    (tmp_path / "cdk.out").mkdir()
    outputs = {StageNames("prod").stack: {Output.TASKS_ENDPOINT.value: local_stack.api}}
    (tmp_path / "cdk.out" / "outputs-prod.json").write_text(json.dumps(outputs))
    result = subprocess.run(
        [sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    first, second = result.stdout.splitlines()[:2]
    assert first.endswith(" QUEUED")
    assert second.split()[0] in {"QUEUED", "RUNNING", "SUCCEEDED", "FAILED"}


def test_every_python_block_of_the_docs_is_run_by_a_listed_test() -> None:
    """Each block's first line names it in PYTHON_BLOCKS, with the test that runs it (which must
    exist); a new block fails here until a test runs it."""
    assert set(python_blocks()) == set(PYTHON_BLOCKS)
    for test in set(PYTHON_BLOCKS.values()):
        path, _, name = test.partition("::")
        assert f"def {name}(" in (REPO / path).read_text(), test
