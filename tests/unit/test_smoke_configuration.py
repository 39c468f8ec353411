"""Misconfigurations against a deployment, found before any request: each a one-line
SmokeConfigError naming the variable (the smoke script exits 2 with it). Run without network:
the AWS config files are empty and instance metadata is off."""

from __future__ import annotations

from pathlib import Path

import pytest

from ptm.logs import ALIASES, LogsUsageError, parse_since, render, resolve_source
from smoke.config import SmokeConfigError, load
from smoke.run import Outcome, Tracked
from smoke.scenarios import Scenario
from smoke.table_check import cross_check, open_table

ENDPOINT = "https://abc123.execute-api.eu-west-1.amazonaws.com/tasks"


@pytest.fixture(autouse=True)
def _no_aws_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _refusal(**variables: str) -> str:
    config = load({"TASKS_ENDPOINT": ENDPOINT, "TASKS_TABLE": "ptm-dev-tasks", **variables})
    with pytest.raises(SmokeConfigError) as refused:
        open_table(config)
    message = str(refused.value)
    assert "\n" not in message
    return message


def test_no_region_names_aws_region() -> None:
    assert "set AWS_REGION" in _refusal()


def test_no_credentials_names_what_to_set() -> None:
    assert "no AWS credentials" in _refusal(AWS_REGION="eu-west-1")


def test_a_profile_that_does_not_exist_names_aws_profile() -> None:
    assert "AWS_PROFILE='nobody' is not in your AWS config" in _refusal(
        AWS_PROFILE="nobody", AWS_REGION="eu-west-1"
    )


@pytest.mark.parametrize("name", ["SMOKE_TASK_COUNT", "SMOKE_TIMEOUT_MS", "SMOKE_INTERVAL_MS"])
@pytest.mark.parametrize("value", ["x", "-1", "0", "1.5"])
def test_a_malformed_smoke_variable_is_named(name: str, value: str) -> None:
    with pytest.raises(SmokeConfigError, match=name):
        load({"TASKS_ENDPOINT": ENDPOINT, name: value})


def test_an_endpoint_that_is_no_url_is_named() -> None:
    with pytest.raises(SmokeConfigError, match="TASKS_ENDPOINT"):
        load({"TASKS_ENDPOINT": "execute-api/tasks"})


@pytest.mark.parametrize(
    ("given", "source"), [*ALIASES.items(), ("process", "process"), ("workflow", "workflow")]
)
def test_logs_take_this_projects_function_names_and_the_node_versions(given: str, source: str) -> None:
    assert resolve_source(given) == source


def test_logs_refuse_unknown_names_and_durations() -> None:
    with pytest.raises(LogsUsageError, match="dlqMonitor"):
        resolve_source("sendEmail")
    assert [parse_since(raw) for raw in ("30s", "10m", "2h", "1d")] == [30, 600, 7200, 86400]
    with pytest.raises(LogsUsageError, match="--since"):
        parse_since("10 minutes")


def test_log_lines_read_as_a_person_would() -> None:
    line = (
        '{"level":"WARNING","message":"attempt failed","service":"ptm-dev",'
        '"attempt":1,"error":"TaskFailedError"}'
    )
    assert render(line) == "WARNING attempt failed  attempt=1 error=TaskFailedError"
    event = (
        '{"id": "5", "type": "LambdaFunctionFailed", "details": {"error": "Sandbox.Timedout"}, '
        '"execution_arn": "arn:aws:states:r:1:express:m:task-r1-d1:uuid"}'
    )
    assert render(event) == "LambdaFunctionFailed  Sandbox.Timedout  (task-r1-d1)"
    assert render("START RequestId: abc Version: $LATEST\n") == "START RequestId: abc Version: $LATEST"


class _Table:
    """A table that answers each task's status from a dict (no AWS)."""

    def __init__(self, statuses: dict[str, str | None]) -> None:
        self.statuses = statuses
        self.name, self.where = "tasks", "here"

    def status(self, task_id: str) -> str | None:
        return self.statuses[task_id]


@pytest.mark.parametrize(
    ("api_said", "table_says", "violation"),
    [
        ("SUCCEEDED", "SUCCEEDED", False),
        ("RUNNING", "SUCCEEDED", False),  # the table moved on after the API was read
        ("QUEUED", "FAILED", False),
        ("SUCCEEDED", "FAILED", True),  # a terminal status never changes
        ("FAILED", "SUCCEEDED", True),
        ("CANCELLED", "QUEUED", True),
        ("RUNNING", "QUEUED", True),  # the table is never behind the API
        ("SUCCEEDED", None, True),  # no item at all
    ],
)
def test_the_table_cross_check_finds_a_status_that_went_back_or_changed_after_it_ended(
    api_said: str, table_says: str | None, violation: bool
) -> None:
    outcome = Outcome()
    outcome.tracked = [Tracked(Scenario.SUCCESS, "t-1", {"status": api_said})]

    cross_check(_Table({"t-1": table_says}), outcome)  # type: ignore[arg-type]

    assert bool(outcome.violations) is violation, outcome.violations
