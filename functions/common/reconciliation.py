"""Re-enqueueing tasks whose queue message was never sent (or was lost).

Submission writes the record before sending; a send that fails leaves the task QUEUED with
no message. This sweep finds tasks QUEUED for longer than the threshold and sends them again.
A task that merely waits in a long backlog gets a duplicate message, which dispatch and
process absorb.
"""

from __future__ import annotations

from datetime import timedelta

from functions.common.clock import Clock
from functions.common.tasks_queue import TasksQueue
from functions.common.tasks_table import TasksTable

SWEEP_LIMIT = 500


def reenqueue_stale(
    *, table: TasksTable, queue: TasksQueue, clock: Clock, older_than: timedelta, limit: int = SWEEP_LIMIT
) -> tuple[list[str], list[str]]:
    """Returns (re-enqueued ids, ids the queue refused this time). A redriven task is sent for
    its current run."""
    stale = table.queued_before(clock() - older_than, limit)
    refused = queue.enqueue_many(stale)
    return [task_id for task_id, _ in stale if task_id not in refused], refused
