"""The local stack's change log: one line per state change, in order, whatever the threads do."""

from __future__ import annotations

from typing import Any, cast

from functions.common.models import Task, TaskStatus
from functions.common.tasks_table import TasksTable
from infra.names import Function
from local.task_log import TaskChangeLog
from tests.fixtures.tasks import make_task

TASK_ID = "6f1c2a9e-0000-4000-8000-000000000001"


def _task(status: TaskStatus, attempts: int, second: int, **fields: Any) -> Task:
    """The record at a moment: its status, attempts and the second it was written."""
    return make_task(
        task_id=TASK_ID,
        status=status,
        attempts=attempts,
        updated_at=f"2026-11-29T00:00:{second:02d}.000Z",
        **fields,
    )


class _Snapshots:
    """Stands in for the table: hands out the record as it was at each read."""

    def __init__(self, *tasks: Task) -> None:
        self._tasks = list(tasks)

    def get(self, task_id: str) -> Task | None:
        return self._tasks.pop(0) if self._tasks else None


def _run(*snapshots: Task) -> list[str]:
    lines: list[str] = []
    change_log = TaskChangeLog(cast(TasksTable, _Snapshots(*snapshots)), lines.append)
    for _ in snapshots:
        change_log.notice(Function.PROCESS, {"taskId": TASK_ID}, {})
    return lines


def test_each_state_is_printed_once_with_the_retry_and_dead_letter_details() -> None:
    lines = _run(
        _task(TaskStatus.QUEUED, 0, 1),
        _task(TaskStatus.RUNNING, 1, 2),
        _task(TaskStatus.RUNNING, 1, 3, last_error="TaskFailedError: simulated failure"),
        _task(TaskStatus.RUNNING, 1, 3, last_error="TaskFailedError: simulated failure"),
        _task(TaskStatus.FAILED, 1, 4, error="TaskFailedError"),
        _task(TaskStatus.FAILED, 1, 5, error="TaskFailedError", dead_lettered_at="2026-11-29T00:00:05.000Z"),
    )

    assert [line.split()[2] for line in lines] == ["QUEUED", "RUNNING", "RUNNING", "FAILED", "FAILED"]
    assert lines[2].endswith("retrying after: TaskFailedError: simulated failure")
    assert lines[3].endswith("TaskFailedError")
    assert lines[4].endswith("→ dead-lettered")


def test_a_read_older_than_one_already_printed_is_not_printed() -> None:
    lines = _run(
        _task(TaskStatus.SUCCEEDED, 2, 9, result={}),
        _task(TaskStatus.RUNNING, 2, 8, last_error="TaskFailedError: simulated failure"),
    )

    assert len(lines) == 1
    assert "SUCCEEDED" in lines[0]
