"""The scheduled sweep that leaves no task stranded: QUEUED without a message (sent again),
RUNNING without a live execution (re-enqueued once its lease expired, dead-lettered after
``MAX_RESCUES`` rescues or when the workflow could not dead-letter it), SCHEDULED past its time
(sent to the queue for the dispatcher to promote); nothing is sent again while dispatch is
paused. docs/RELIABILITY.md gives the cases, the bound and their tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from functions.common.clock import Clock
from functions.common.dead_letter_queue import DeadLetterQueue
from functions.common.errors import (
    DependencyMisconfiguredError,
    DependencyUnavailableError,
    TransitionRefusedError,
)
from functions.common.models import StrandedTask
from functions.common.tasks_queue import TasksQueue
from functions.common.tasks_table import Rescue, TasksTable

SWEEP_LIMIT = 500
STRANDED_ERROR = "TaskStranded"
STALE_QUEUED = "stale QUEUED"
OVERDUE_SCHEDULED = "overdue SCHEDULED"
EXPIRED_RUNNING = "expired RUNNING"
"""The sweep's three parts, as its outcome names them."""
DependencyError = DependencyUnavailableError | DependencyMisconfiguredError
_Result = TypeVar("_Result")


@dataclass(frozen=True)
class Sweep:
    reenqueued: list[str]
    """QUEUED tasks sent again."""
    overdue: list[str]
    """SCHEDULED tasks past their ``runAt`` by the threshold, sent to the queue."""
    refused: list[str]
    """Tasks the queue did not accept this time (the next sweep tries again)."""
    rescued: list[str]
    """RUNNING tasks whose execution died, re-enqueued."""
    dead_lettered: list[str]
    """RUNNING tasks sent to the DLQ (runs kept dying, or the workflow's dead-lettering failed)."""
    failed: dict[str, DependencyError] = field(default_factory=dict)
    """The parts that could not run this time, by name, and why: each part runs on its own, so
    one that fails (an index still being built, a permission missing) stops none of the others."""


def reenqueue_stale(
    *, table: TasksTable, queue: TasksQueue, clock: Clock, older_than: timedelta, limit: int = SWEEP_LIMIT
) -> tuple[list[str], list[str]]:
    """Returns (re-enqueued ids, ids the queue refused this time). A redriven task is sent for
    its current run."""
    stale = table.index.queued_before(clock() - older_than, limit)
    refused = queue.enqueue_many(stale)
    return [task_id for task_id, _ in stale if task_id not in refused], refused


def enqueue_overdue(
    *, table: TasksTable, queue: TasksQueue, clock: Clock, older_than: timedelta, limit: int = SWEEP_LIMIT
) -> tuple[list[str], list[str]]:
    """Returns (enqueued ids, ids the queue refused this time) of SCHEDULED tasks whose ``runAt``
    passed more than ``older_than`` ago."""
    due = table.index.scheduled_due_before(clock() - older_than, limit)
    refused = queue.enqueue_many(due)
    return [task_id for task_id, _ in due if task_id not in refused], refused


def _stranded(rescue: Rescue, max_rescues: int) -> StrandedTask:
    if rescue.dead_letter_due:
        # The workflow's own verdict stands; only its dead-lettering is done here.
        error = rescue.error or STRANDED_ERROR
        cause = rescue.cause or "the DLQ refused the workflow's message"
    else:
        error = STRANDED_ERROR
        cause = (
            f"run {rescue.run}'s executions died {rescue.rescues} times without finishing "
            f"(reconcile re-drives a run {max_rescues} times); last error: {rescue.error or 'none recorded'}"
        )
    return StrandedTask(
        kind="stranded",
        task_id=rescue.task_id,
        run=rescue.run,
        error=error,
        cause=cause,
        rescues=rescue.rescues,
    )


def rescue_running(
    *,
    table: TasksTable,
    queue: TasksQueue,
    dead_letters: DeadLetterQueue,
    clock: Clock,
    lease: timedelta,
    max_rescues: int,
    limit: int = SWEEP_LIMIT,
) -> tuple[list[str], list[str], list[str]]:
    """Returns (re-enqueued ids, dead-lettered ids, ids the queue refused this time)."""
    now = clock()
    rescues: list[Rescue] = []
    for task_id in table.index.running_before(now - lease, limit):
        try:
            rescues.append(table.rescue(task_id, now, not_since=now - lease))
        except TransitionRefusedError:
            continue  # claimed again, finished, or already rescued by a concurrent sweep
    dead: list[str] = []
    again: list[tuple[str, int]] = []
    for rescue in rescues:
        if rescue.dead_letter_due or rescue.rescues > max_rescues:
            dead_letters.send_stranded(_stranded(rescue, max_rescues))
            dead.append(rescue.task_id)
        else:
            again.append((rescue.task_id, rescue.run))
    refused = queue.enqueue_many(again)
    return [task_id for task_id, _ in again if task_id not in refused], dead, refused


def _no_ids() -> tuple[list[str], list[str]]:
    return [], []


def _no_rescues() -> tuple[list[str], list[str], list[str]]:
    return [], [], []


def sweep(
    *,
    table: TasksTable,
    queue: TasksQueue,
    dead_letters: DeadLetterQueue,
    clock: Clock,
    older_than: timedelta,
    lease: timedelta,
    max_rescues: int,
    dispatch_paused: bool = False,
) -> Sweep:
    """``dispatch_paused``: the tasks queue is not consumed (``ptm pause``), so a QUEUED task's
    message, or a due SCHEDULED one's, is waiting, not lost: sending it again would only pile
    duplicates into the queue. RUNNING tasks are still rescued (their message waits with the
    others)."""
    failed: dict[str, DependencyError] = {}

    def part(name: str, run: Callable[[], _Result], nothing: Callable[[], _Result]) -> _Result:
        try:
            return run()
        except (DependencyUnavailableError, DependencyMisconfiguredError) as exc:
            failed[name] = exc
            return nothing()

    reenqueued: list[str] = []
    overdue: list[str] = []
    refused: list[str] = []
    if not dispatch_paused:
        reenqueued, refused = part(
            STALE_QUEUED,
            lambda: reenqueue_stale(table=table, queue=queue, clock=clock, older_than=older_than),
            _no_ids,
        )
        overdue, overdue_refused = part(
            OVERDUE_SCHEDULED,
            lambda: enqueue_overdue(table=table, queue=queue, clock=clock, older_than=older_than),
            _no_ids,
        )
        refused += overdue_refused
    rescued, dead_lettered, rescue_refused = part(
        EXPIRED_RUNNING,
        lambda: rescue_running(
            table=table,
            queue=queue,
            dead_letters=dead_letters,
            clock=clock,
            lease=lease,
            max_rescues=max_rescues,
        ),
        _no_rescues,
    )
    return Sweep(reenqueued, overdue, refused + rescue_refused, rescued, dead_lettered, failed)
