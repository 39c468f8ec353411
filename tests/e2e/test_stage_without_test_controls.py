"""A stage whose allowSimulation is off, as production stages are: the API refuses a task's test
controls (``simulate``) with a 400 naming the field, and stores nothing; work without them runs;
``make smoke``'s forced scenarios say in one line that the stage refuses them."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from local.process import REPO
from tests.e2e.conftest import NAMES, RunningStack, running_local_stack
from tests.e2e.documented import shell_environment


@pytest.fixture(scope="module")
def production_like(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    yield from running_local_stack(
        tmp_path_factory, "no-test-controls", "--time-scale", "0.01", "--allow-simulation", "off"
    )


def _stored(stack: RunningStack) -> int:
    return int(stack.clients().dynamodb.scan(TableName=NAMES.table, Select="COUNT")["Count"])


@pytest.mark.parametrize(
    "simulate", [{"failures": 3}, {"timeouts": 4}, {"crashes": 1}, {"permanent": True}, {}]
)
def test_simulate_is_a_400_naming_it_and_nothing_is_stored(
    production_like: RunningStack, simulate: dict[str, object]
) -> None:
    before = _stored(production_like)

    status, _, body = production_like.request("POST", "/tasks", {"orderId": 1, "simulate": simulate})

    assert status == 400
    assert list(body["error"]["fields"]) == ["simulate"]
    assert "allowSimulation" in body["error"]["message"]
    assert _stored(production_like) == before


def test_work_without_test_controls_runs(production_like: RunningStack) -> None:
    status, _, body = production_like.request("POST", "/tasks", {"orderId": 2})
    assert (status, body["status"]) == (202, "QUEUED")


def test_smokes_forced_scenarios_say_in_one_line_that_the_stage_refuses_them(
    production_like: RunningStack,
) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "smoke", "SMOKE_ARGS=--scenario dlq"],
        cwd=REPO,
        env=shell_environment(TASKS_ENDPOINT=production_like.api, SMOKE_TASK_COUNT="2"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 2, result.stdout + result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("smoke: the dlq scenario")]
    assert "allowSimulation is off" in line
