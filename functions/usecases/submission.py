"""Accepting a task: validation, idempotency, the conditional create and the enqueue.

Order of writes: the record first (conditional put), then the queue message. If the send is
throttled or SQS is down after the record exists, the caller still gets 202 — the task is
durably accepted — the ``EnqueueDeferred`` metric alarms, and the reconcile function
re-enqueues tasks left QUEUED past ``RECONCILE_AFTER_SECONDS``. A send that no retry can fix
(access denied, a wrong queue URL) is a 500 and the ``DependencyMisconfigured`` alarm, never a
quiet 202. Sending twice is harmless: dispatch and process are idempotent.

A body with ``delaySeconds`` or ``runAt`` (reserved top-level keys, never part of the payload)
creates a SCHEDULED task, delivered when due: by an SQS delay up to 900 s ahead, by an
EventBridge Scheduler schedule further ahead (functions/common/scheduling.py). A schedule that
could not be created is repaired the same way: reconcile enqueues a task left SCHEDULED past its
``runAt`` by ``RECONCILE_AFTER_SECONDS``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from functions.common import json_text
from functions.common.clock import Clock, iso, moment, utc_now
from functions.common.config import MAX_IDEMPOTENCY_KEY_LENGTH, MAX_PAYLOAD_BYTES
from functions.common.errors import (
    DependencyUnavailableError,
    IdempotencyConflictError,
    InvalidIdempotencyKeyError,
    InvalidJsonError,
    InvalidRequestError,
    PayloadNotObjectError,
    PayloadTooLargeError,
    ServiceUnavailableError,
    TaskAlreadyExistsError,
)
from functions.common.flow_control import CONCURRENCY_KEY_FIELD, concurrency_key, implied_subjects, subjects
from functions.common.models import Task, TaskStatus
from functions.common.scheduling import message_delay, split_schedule, uses_scheduler
from functions.common.task_schedules import TaskSchedules
from functions.common.tasks_queue import TasksQueue
from functions.common.tasks_table import TasksTable
from functions.task_types import TASK_TYPES
from functions.task_types import registry as task_types

IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c1f0e-6a43-4c4f-9d7e-2b1f3c5a9e10")
MAX_NESTING_DEPTH = 64


@dataclass(frozen=True)
class Submission:
    task: Task
    created: bool
    """False when an Idempotency-Key replay returned the existing task."""
    enqueued: bool
    """False when the record was written but the queue (or Scheduler) was unavailable;
    reconciliation will enqueue it."""


def validate_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH or not all(" " <= ch <= "~" for ch in key):
        raise InvalidIdempotencyKeyError(
            f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters"
        )
    return key


def _depth(value: Any) -> int:
    depth, level = 0, [value]
    while level:
        depth += 1
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
    return depth - 1


def canonical_json(payload: dict[str, Any]) -> bytes:
    """The body's JSON value as one text: sorted keys, no white space, numbers normalized (``1E2``
    and ``100.0`` alike, every digit kept), UTF-8. Raises ValueError for a string holding a lone
    UTF-16 surrogate (``"\\ud800"``), which JSON text may escape but which is not Unicode text."""
    text = json_text.dumps(payload, sort_keys=True, canonical=True)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("a string holds a lone UTF-16 surrogate, which is not Unicode text") from exc


def _legacy_hash(payload: dict[str, Any]) -> str | None:
    """The hash of a task accepted before numbers were kept exactly: the body with its numbers
    rounded to doubles (None where one overflows, as such a body was refused then). A replay of
    such a task still matches it."""
    as_doubles = json_text.map_scalars(
        payload, lambda value: float(value) if isinstance(value, Decimal) else value
    )
    try:
        text = json.dumps(
            as_doubles, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
    except (ValueError, UnicodeEncodeError):
        return None


@dataclass(frozen=True)
class ParsedBody:
    payload: dict[str, Any]
    """The body without ``delaySeconds`` / ``runAt``: a JSON object its task type accepts."""
    body: dict[str, Any]
    """The whole body: a replay must repeat its schedule too."""
    canonical: bytes
    """The whole body's canonical JSON."""
    run_at: datetime | None
    """When the task runs (None: now)."""
    registered_type: str | None = None
    """The body's type when it is a registered one: its tasks run in the user's function."""
    concurrency_key: str | None = None
    limit_subjects: tuple[str, ...] = ()
    """What limits may hold the task back (its type, its webhook host, its ``concurrencyKey``),
    when that is more than its type (``implied_subjects``)."""

    @property
    def hash(self) -> str:
        """Same JSON value, same hash, whatever the key order or white space of the body (the
        whole body: its ``delaySeconds`` or ``runAt`` too)."""
        return _digest(self.canonical)


def parse_body(
    body: bytes, environment: task_types.TaskEnvironment | None = None, now: datetime | None = None
) -> ParsedBody:
    """A request body as its task type accepts it, or a typed 400/413 error."""
    if len(body) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLargeError(f"the body is {len(body)} bytes; the limit is {MAX_PAYLOAD_BYTES}")
    if not body.strip():
        raise InvalidJsonError("the body is empty; send a JSON object")
    try:
        document = json_text.parse(body)
    except json_text.JsonTextError as exc:
        raise InvalidJsonError(f"the body is not JSON text this API takes: {exc}") from exc
    if not isinstance(document, dict):
        raise PayloadNotObjectError(f"the body must be a JSON object, not {type(document).__name__}")
    if _depth(document) > MAX_NESTING_DEPTH:
        raise InvalidRequestError(f"the body nests deeper than {MAX_NESTING_DEPTH} levels")
    try:
        canonical = canonical_json(document)
    except ValueError as exc:
        raise InvalidJsonError(f"the body is not JSON text this API takes: {exc}") from exc
    payload, run_at = split_schedule(document, now or utc_now())
    key = concurrency_key(payload.pop(CONCURRENCY_KEY_FIELD)) if CONCURRENCY_KEY_FIELD in payload else None
    task_type, host = TASK_TYPES.accept(payload, environment or task_types.TaskEnvironment())
    registered = None if TASK_TYPES.is_built_in(task_type) else task_type.name
    found = subjects(task_type.name, host, key)
    stored = () if found == implied_subjects(registered, TASK_TYPES.default.name) else found
    return ParsedBody(payload, document, canonical, run_at, registered, key, stored)


HASH_DOMAIN = b"ptm request, numbers exact\n"
"""Prefixed to the canonical body before hashing: no body's hash can equal another body's hash
of the form before numbers were kept exactly (``_legacy_hash``)."""


def _digest(canonical: bytes) -> str:
    return hashlib.sha256(HASH_DOMAIN + canonical).hexdigest()


def task_id_for(idempotency_key: str | None) -> str:
    """A key always maps to the same id, so the conditional put itself detects replays."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, idempotency_key))


@dataclass(frozen=True)
class Firing:
    """A recurring schedule's firing that submits a task: its id is derived from the firing
    (functions/common/recurring.py), so the conditional put meets any earlier delivery of it."""

    schedule: str
    scheduled_time: str
    task_id: str


def submit_task(
    body: bytes,
    idempotency_key: str | None,
    *,
    table: TasksTable,
    queue: TasksQueue,
    schedules: TaskSchedules | None,
    clock: Clock,
    environment: task_types.TaskEnvironment | None = None,
    firing: Firing | None = None,
) -> Submission:
    """Validate (nothing is stored for a refused body), create, enqueue (or schedule). A
    recurring schedule's ``firing`` submits through here too, with the id its firing names
    (``schedules`` may then be None: such a task runs now, never later)."""
    key = validate_idempotency_key(idempotency_key)
    submitted = clock()
    parsed = parse_body(body, environment, submitted)
    run_at = parsed.run_at
    now = iso(submitted)
    task = Task(
        task_id=firing.task_id if firing else task_id_for(key),
        schedule=firing.schedule if firing else None,
        scheduled_time=firing.scheduled_time if firing else None,
        status=TaskStatus.QUEUED if run_at is None else TaskStatus.SCHEDULED,
        payload=parsed.payload,
        created_at=now,
        updated_at=now,
        idempotency_key=key,
        run_at=None if run_at is None else iso(run_at),
        request_hash=parsed.hash,
        registered_type=parsed.registered_type,
        concurrency_key=parsed.concurrency_key,
        limit_subjects=parsed.limit_subjects,
    )
    delivery = Delivery(queue, schedules, submitted)
    try:
        table.create(task)
    except TaskAlreadyExistsError as exc:
        return _replay(task, parsed.body, exc.existing, delivery)
    return Submission(task=task, created=True, enqueued=delivery.send(task.task_id, 1, run_at))


@dataclass(frozen=True)
class Delivery:
    """How a task's message reaches the tasks queue: now, after an SQS delay, or by a schedule."""

    queue: TasksQueue
    schedules: TaskSchedules | None
    now: datetime

    def send(self, task_id: str, run: int, run_at: datetime | None) -> bool:
        """False when SQS or Scheduler is busy: the record is durable, and reconcile enqueues it
        later (a QUEUED task past its threshold, a SCHEDULED one past its ``runAt``)."""
        try:
            if run_at is not None and uses_scheduler(run_at, self.now):
                if self.schedules is None:  # pragma: no cover - a firing's task has no runAt
                    raise ValueError("a task due this far ahead needs Scheduler")
                self.schedules.create(task_id, run, run_at)
            else:
                delay = 0 if run_at is None else message_delay(run_at, self.now)
                self.queue.enqueue(task_id, run, delay_seconds=delay)
        except DependencyUnavailableError:
            return False
        return True


def _replay(
    candidate: Task, candidate_body: dict[str, Any], existing: Mapping[str, Any], delivery: Delivery
) -> Submission:
    """The same key again: the same body is the task already accepted, another body a conflict.

    A replay of a task still QUEUED sends its message again, and of a task still SCHEDULED
    arranges its delivery again for its stored ``runAt``: the first request may have died
    between its two writes (its function timed out, its caller saw a 5xx and retried), and
    nothing else would deliver it before reconcile's threshold. A second message for a task
    already enqueued is harmless: dispatch starts executions only for QUEUED tasks (promoting a
    due SCHEDULED one first), only one execution can claim it, and a schedule that exists is
    left as it is."""
    if "status" not in existing:  # pragma: no cover - DynamoDB returns the item it refused over
        raise ServiceUnavailableError("the task store answered without the task; retry the same request")
    if existing.get("requestHash") not in (candidate.request_hash, _legacy_hash(candidate_body)):
        raise IdempotencyConflictError(
            "this Idempotency-Key was already used with a different body; use a new key"
        )
    status = TaskStatus(existing["status"])
    run_at = existing.get("runAt")
    task = candidate.model_copy(
        update={"status": status, "created_at": existing.get("createdAt"), "run_at": run_at}
    )
    run = int(existing.get("runs", 1))
    if status is TaskStatus.QUEUED:
        enqueued = delivery.send(candidate.task_id, run, None)
    elif status is TaskStatus.SCHEDULED:
        enqueued = delivery.send(candidate.task_id, run, moment(str(run_at)) if run_at else None)
    else:
        enqueued = True
    return Submission(task=task, created=False, enqueued=enqueued)
