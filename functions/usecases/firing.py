"""A recurring schedule's firing → exactly one task (docs/RELIABILITY.md, "Recurring schedules").

A firing arrives on the tasks queue as ``{"schedule", "scheduledTime"}`` (EventBridge Scheduler's
target input, functions/common/task_schedules.py). ``fire`` reads the schedule's item, decides
(overlap, a later firing already claimed, a paused or deleted schedule), claims the firing on the
item with one conditional write, and submits the stored task through ``submit_task`` — the same
validation and conditional put as ``POST /tasks`` — under the id the firing names.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from functions.common.clock import Clock
from functions.common.errors import DependencyUnavailableError, IdempotencyConflictError, InvalidRequestError
from functions.common.models import TaskStatus
from functions.common.recurring import (
    NAME_PATTERN,
    Overlap,
    ScheduleState,
    firing_task_id,
    scheduled_time,
    scheduled_time_text,
)
from functions.common.schedules_table import SchedulesTable, StoredSchedule
from functions.common.tasks_queue import TasksQueue
from functions.common.tasks_table import TasksTable
from functions.task_types.registry import TaskEnvironment
from functions.usecases.submission import Firing, submit_task

UNFINISHED = frozenset({TaskStatus.SCHEDULED, TaskStatus.QUEUED, TaskStatus.RUNNING})
"""A previous task in one of these still runs (or will): ``overlap: skip`` submits nothing."""
CLAIM_ROUNDS = 3
"""Firings of one schedule racing for its item: each refused claim re-reads it and decides again."""


class FiringMessage(BaseModel):
    """A recurring schedule's firing, as Scheduler sends it to the tasks queue."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schedule: str = Field(pattern=NAME_PATTERN.pattern)
    scheduledTime: str = Field(min_length=1, max_length=64)  # noqa: N815 - the message's field


@dataclass(frozen=True)
class FiringOutcome:
    schedule: str
    scheduled_time: str
    task_id: str
    submitted: bool
    """A task was created (False: it existed already — this firing was delivered before)."""
    skipped: str | None = None
    """Why nothing was submitted."""


SUBMIT, CLAIM = "submit", "claim"


def _verdict(schedule: StoredSchedule, when: str, table: TasksTable) -> str:
    """What a firing at ``when`` does: SUBMIT (it was claimed already, or overlaps are allowed
    for a late one), CLAIM (it is the newest, and nothing it would overlap is unfinished), or the
    reason it submits nothing."""
    if schedule.state != ScheduleState.ENABLED:
        return "the schedule is disabled"
    exclusive = schedule.overlap == Overlap.SKIP
    last = schedule.last_scheduled_time
    if last == when:
        return SUBMIT
    if last is not None and last > when:
        return f"a later firing ({last}) ran first" if exclusive else SUBMIT
    if exclusive and schedule.last_task_id:
        state = table.index.due_states([schedule.last_task_id]).get(schedule.last_task_id)
        if state is not None and state.status in UNFINISHED:
            return f"overlap: task {schedule.last_task_id} of the firing at {last} is {state.status.value}"
    return CLAIM


def fire(
    message: FiringMessage,
    *,
    schedules: SchedulesTable,
    table: TasksTable,
    queue: TasksQueue,
    environment: TaskEnvironment,
    clock: Clock,
) -> FiringOutcome:
    """One task for this firing, or none and why (recorded on the schedule)."""
    name = message.schedule
    try:
        moment = scheduled_time(message.scheduledTime)
    except ValueError:
        raise InvalidRequestError(f"scheduledTime {message.scheduledTime!r} is not a date-time") from None
    when, task_id = scheduled_time_text(moment), firing_task_id(name, moment)
    now = clock()
    for _ in range(CLAIM_ROUNDS):
        schedule = schedules.get(name)
        if schedule is None:
            return FiringOutcome(name, when, task_id, submitted=False, skipped="the schedule was deleted")
        verdict = _verdict(schedule, when, table)
        if verdict == CLAIM and schedules.claim_firing(
            name,
            when,
            task_id,
            previous_task=schedule.last_task_id,
            exclusive=schedule.overlap == Overlap.SKIP,
            now=now,
        ):
            verdict = SUBMIT
        if verdict == SUBMIT:
            return _submit(
                schedule,
                when,
                task_id,
                schedules=schedules,
                table=table,
                queue=queue,
                environment=environment,
                clock=clock,
            )
        if verdict != CLAIM:
            schedules.record_skip(name, when, verdict, now)
            return FiringOutcome(name, when, task_id, submitted=False, skipped=verdict)
    raise DependencyUnavailableError(f"schedule {name}: {CLAIM_ROUNDS} claims refused; the firing comes back")


def _submit(
    schedule: StoredSchedule,
    when: str,
    task_id: str,
    *,
    schedules: SchedulesTable,
    table: TasksTable,
    queue: TasksQueue,
    environment: TaskEnvironment,
    clock: Clock,
) -> FiringOutcome:
    try:
        submission = submit_task(
            schedule.task.encode(),
            None,
            table=table,
            queue=queue,
            schedules=None,
            clock=clock,
            environment=environment,
            firing=Firing(schedule.name, when, task_id),
        )
    except IdempotencyConflictError:
        # The schedule's task was replaced after this firing made its task: that task stands.
        return FiringOutcome(schedule.name, when, task_id, submitted=False)
    except InvalidRequestError as exc:
        # The stored task no longer passes (a task type turned off since): nothing to retry.
        reason = f"the task is refused: {exc.message}"
        schedules.record_skip(schedule.name, when, reason, clock())
        return FiringOutcome(schedule.name, when, task_id, submitted=False, skipped=reason)
    return FiringOutcome(schedule.name, when, task_id, submitted=submission.created)
