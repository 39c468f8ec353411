from __future__ import annotations

import pytest

from functions.api.settings import ApiSettings
from functions.common.config import ConfigurationError
from functions.common.errors import ApiError
from functions.common.models import Task, TaskStatus
from functions.common.workflow import MAX_EXECUTION_NAME, execution_name
from functions.process.settings import ProcessSettings

PROCESS_ENVIRONMENT = {
    "TASKS_TABLE": "t",
    "LIMITS_TABLE": "l",
    "FAILURE_RATE": "0.3",
    "LEASE_SECONDS": "120",
    "TASK_RETENTION_SECONDS": "0",
}


def test_settings_are_read_from_the_environment_with_optional_ones_absent() -> None:
    settings = ProcessSettings.from_env(PROCESS_ENVIRONMENT)
    assert (settings.tasks_table, settings.failure_rate, settings.failure_seed, settings.lease_seconds) == (
        "t",
        0.3,
        None,
        120,
    )


def test_timings_have_no_second_default_in_the_settings() -> None:
    """The spec gives LEASE_SECONDS and FAILURE_RATE; a function deployed without them fails at init."""
    for missing in ("LEASE_SECONDS", "FAILURE_RATE"):
        environ = {name: value for name, value in PROCESS_ENVIRONMENT.items() if name != missing}
        with pytest.raises(ConfigurationError, match=missing):
            ProcessSettings.from_env(environ)


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"TASKS_TABLE": ""},
        {**PROCESS_ENVIRONMENT, "TASKS_TABLE": ""},
        {**PROCESS_ENVIRONMENT, "FAILURE_RATE": "1.5"},
        {**PROCESS_ENVIRONMENT, "FAILURE_RATE": "x"},
        {**PROCESS_ENVIRONMENT, "LEASE_SECONDS": "0"},
    ],
)
def test_invalid_settings_fail_loudly(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        ProcessSettings.from_env(environ)


def test_api_settings_name_the_missing_variable() -> None:
    with pytest.raises(ConfigurationError, match="TASKS_QUEUE_URL"):
        ApiSettings.from_env({"TASKS_TABLE": "t"})


def test_api_errors_have_distinct_codes_and_client_or_retry_statuses() -> None:
    def subclasses(cls: type[ApiError]) -> list[type[ApiError]]:
        return [cls, *(grand for sub in cls.__subclasses__() for grand in subclasses(sub))]

    errors = subclasses(ApiError)
    codes = [error.code for error in errors]
    assert len(codes) == len(set(codes))
    assert all(400 <= error.status_code < 500 or error.status_code == 503 for error in errors)


def test_task_api_view_is_camel_case_and_hides_internals() -> None:
    task = Task(
        task_id="t",
        status=TaskStatus.QUEUED,
        payload={"a": 1},
        created_at="c",
        updated_at="u",
        request_hash="h",
    )
    assert task.to_api() == {
        "taskId": "t",
        "status": "QUEUED",
        "payload": {"a": 1},
        "attempts": 0,
        "runs": 1,
        "createdAt": "c",
        "updatedAt": "u",
    }


def test_terminal_states() -> None:
    assert {status for status in TaskStatus if status.is_terminal} == {"SUCCEEDED", "FAILED", "CANCELLED"}


def test_execution_names_are_per_delivery_safe_and_bounded() -> None:
    assert execution_name("abc-123", 1, 2) == "abc-123-r1-d2"
    assert execution_name("abc-123", 2, 1) == "abc-123-r2-d1"
    assert execution_name("a b/c", 1, 1) == "a_b_c-r1-d1"
    assert len(execution_name("x" * 200, 9, 99)) == MAX_EXECUTION_NAME


@pytest.mark.parametrize("dead_lettered", [False, True])
@pytest.mark.parametrize("status", list(TaskStatus))
def test_a_task_is_settled_once_terminal_and_a_failed_one_once_dead_lettered(
    status: TaskStatus, dead_lettered: bool
) -> None:
    """What the smoke run, the benchmarks and the local view wait for: nothing more will happen."""
    expected = status in {TaskStatus.SUCCEEDED, TaskStatus.CANCELLED} or (
        status is TaskStatus.FAILED and dead_lettered
    )
    assert status.settled(dead_lettered) is expected
