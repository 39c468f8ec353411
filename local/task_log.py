"""One line per task state change on the local stack's console, read from the table as each
invocation returns."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from functions.common.models import Task
from functions.common.tasks_table import TasksTable
from infra.names import Function


class TaskChangeLog:
    """Prints one line per task state change, read from the table as each invocation returns.

    The read happens in the invoking thread, before the caller (a poller, the HTTP API or the
    state machine) moves on, so no intermediate state is skipped however fast retries run.
    """

    def __init__(self, table: TasksTable, emit: Callable[[str], None]) -> None:
        self._table = table
        self._emit = emit
        self._seen: dict[str, tuple[str, tuple[str, int, bool, bool]]] = {}
        self._lock = threading.Lock()

    def notice(self, function: Function | None, event: Any, outcome: Any) -> None:
        """After an invocation of ``function`` (None: not one of ours) with ``event``."""
        for task_id in task_ids(function, event, outcome):
            try:
                task = self._table.get(task_id)
            except Exception:
                continue
            if task is not None:
                self._report(task)

    def _report(self, task: Task) -> None:
        state = (
            task.status.value,
            task.attempts,
            task.last_error is not None,
            task.dead_lettered_at is not None,
        )
        detail = ""
        if task.status.value == "RUNNING" and task.last_error:
            detail = f"  retrying after: {task.last_error}"
        elif task.status.value == "FAILED":
            detail = f"  {task.error}" + ("  → dead-lettered" if task.dead_lettered_at else "")
        with self._lock:
            seen = self._seen.get(task.task_id)
            # Concurrent invocations read in any order: never step back to an older write.
            if seen is not None and (seen[1] == state or seen[0] > task.updated_at):
                return
            self._seen[task.task_id] = (task.updated_at, state)
            self._emit(f"task {task.task_id}  {task.status.value:<9}  attempt {task.attempts}{detail}")


def task_ids(function: Function | None, event: Any, outcome: Any) -> list[str]:
    """Which tasks an invocation touched, from its event or its response."""
    ids: list[str] = []
    if function is Function.API and isinstance(outcome, dict):
        try:
            body = json.loads(outcome.get("body") or "{}")
        except json.JSONDecodeError:
            return ids
        if isinstance(body, dict) and isinstance(body.get("taskId"), str):
            ids.append(body["taskId"])
    elif isinstance(event, dict) and isinstance(event.get("taskId"), str):
        ids.append(event["taskId"])
    elif isinstance(event, dict):
        for record in event.get("Records", []):
            try:
                body = json.loads(record.get("body", ""))
            except json.JSONDecodeError:
                continue
            if isinstance(body, dict) and isinstance(body.get("taskId"), str):
                ids.append(body["taskId"])
    return ids
