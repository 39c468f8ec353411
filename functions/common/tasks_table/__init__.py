"""The only module that talks to the tasks table.

Every write is conditional on the state the transition starts from and is named after that
transition, so an at-least-once duplicate (SQS redelivery, a second Express execution, a
late retry) can never move a task backwards or process it twice.

Two kinds of item share the table (docs/DATA_MODEL.md):
- **the record** (``taskId``): status, counters, errors, result. Every transition rewrites it,
  and DynamoDB bills a write on the item's whole size, so it stays under 1 KB: one write unit.
  A body small enough (stored, compressed if that is smaller) lives **inline** in the record
  when the record still fits one write unit with it for the rest of its life
  (``fits_inline``): then the task has no payload item, and a claim returns the body with the
  record. A 1 KiB JSON body usually does.
- **the payload** (``<taskId>#payload#<request hash>``), for a body that does not fit inline:
  the submitted body, written once before the record and never changed. Its key names the
  body it holds, so two bodies can never share one; a submission that dies between the two
  puts leaves a payload no record points to, which nothing lists or reads.

A body of ``COMPRESS_FROM_BYTES`` or more is stored zlib-compressed (``payloadZ``) when that is
smaller, inline or not.

Retention: a transition that finishes a task (SUCCEEDED, CANCELLED, FAILED and dead-lettered)
gives the record an ``expiresAt`` (DynamoDB TTL) ``retention_seconds`` ahead, then gives its
payload item the same one; a redrive takes the payload item's expiry away first, then the
record's. Either order leaves the payload outliving its record when the second write fails,
never the reverse. An item past its expiry is gone to every read and transition here, though
DynamoDB deletes it only some time later.

The package has three modules, one job each: ``codec`` (items to and from models, payload
compression), ``index`` (the byPhase index's shards merged in order) and this one, the table:
one method per transition, and the reads and listings over the other two.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from functions.common.aws import aws_errors, error_code, translate
from functions.common.clock import iso, utc_now
from functions.common.errors import (
    DependencyUnavailableError,
    TaskAlreadyExistsError,
    TransitionRefusedError,
)
from functions.common.models import Task, TaskStatus, TaskSummary
from functions.common.status_shards import (
    ACTIVE,
    DUE_SHARD_ATTRIBUTE,
    SHARD_ATTRIBUTE,
    due_shard,
    phase_of,
    phase_shard,
    shard_of,
)
from functions.common.tasks_table.codec import (
    COMPRESS_FROM_BYTES,
    COMPRESSED_PAYLOAD_ATTRIBUTE,
    EXPIRY_ATTRIBUTE,
    INLINE_RESERVE_BYTES,
    PAYLOAD_ATTRIBUTE,
    _attr,
    _plain,
    _values,
    expired,
    fits_inline,
    has_inline_payload,
    item_size,
    payload_attributes,
    payload_key,
    payload_of,
    summary_from_item,
    task_from_item,
)
from functions.common.tasks_table.index import IndexedReads, ShardCursors, TaskDue

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "COMPRESSED_PAYLOAD_ATTRIBUTE",
    "COMPRESS_FROM_BYTES",
    "EXPIRY_ATTRIBUTE",
    "INLINE_RESERVE_BYTES",
    "PAYLOAD_ATTRIBUTE",
    "Rescue",
    "ShardCursors",
    "TaskDue",
    "TasksTable",
    "item_size",
    "new_record",
    "payload_attributes",
    "payload_key",
    "payload_of",
    "summary_from_item",
]


def new_record(task: Task) -> dict[str, Any]:
    """A new task's record (typed), without its body."""
    item: dict[str, Any] = {
        "taskId": task.task_id,
        "status": task.status.value,
        SHARD_ATTRIBUTE: phase_shard(task.status.value, shard_of(task.task_id)),
        "attempts": 0,
        "runs": 1,
        "createdAt": task.created_at,
        "updatedAt": task.updated_at,
        "requestHash": task.request_hash,
    }
    if task.idempotency_key is not None:
        item["idempotencyKey"] = task.idempotency_key
    if task.run_at is not None:
        item["runAt"] = task.run_at
        if task.status is TaskStatus.SCHEDULED:  # the sparse byRunAt index's key, while it waits
            item[DUE_SHARD_ATTRIBUTE] = due_shard(shard_of(task.task_id))
    return _values(item)


@dataclass(frozen=True)
class Rescue:
    task_id: str
    run: int
    rescues: int
    """How many sweeps have found this run's executions dead, this one included."""
    dead_letter_due: bool
    """The workflow failed the task but could not dead-letter it (ReopenForDeadLetter)."""
    error: str
    """The workflow's error (deadLetterDue) or the last attempt's."""
    cause: str


class TasksTable(IndexedReads):
    """Data access for task records, one method per state transition (the listings and batch
    reads come from ``IndexedReads``)."""

    def __init__(self, client: DynamoDBClient, table_name: str, retention_seconds: int = 0) -> None:
        """``retention_seconds``: how long a finished task stays (0: for ever)."""
        self._client = client
        self.table_name = table_name
        self.retention_seconds = retention_seconds

    @contextmanager
    def _write(self, task_id: str, transition: str, now: datetime | None = None) -> Iterator[None]:
        """A refused condition is the transition's answer (an item past its expiry refuses as no
        item); anything else is an AWS failure."""
        try:
            yield
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                old = cast(dict[str, Any], exc.response).get("Item") or {}
                if expired(old, now or utc_now()):
                    old = {}
                raise TransitionRefusedError(task_id, transition, _plain(old)) from exc
            raise translate(exc, f"{transition} for task {task_id}") from exc
        except BotoCoreError as exc:
            raise translate(exc, f"{transition} for task {task_id}") from exc

    def _set_payload_expiry(self, record: Mapping[str, Any], *, clear: bool = False) -> None:
        """Give the payload item of ``record`` (typed, with ``requestHash``) the record's expiry,
        or take its expiry away (``clear``). A missing payload item is left alone."""
        expiry = record.get(EXPIRY_ATTRIBUTE)
        if "requestHash" not in record or has_inline_payload(record) or (expiry is None and not clear):
            return
        task_id = str(record["taskId"]["S"])
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {"taskId": _attr(payload_key(task_id, str(record["requestHash"]["S"])))},
            "ConditionExpression": "attribute_exists(taskId)",
            "ExpressionAttributeNames": {"#expiry": EXPIRY_ATTRIBUTE},
        }
        if clear:
            arguments["UpdateExpression"] = "REMOVE #expiry"
        else:
            arguments["UpdateExpression"] = "SET #expiry = :expiry"
            arguments["ExpressionAttributeValues"] = {":expiry": expiry}
        with aws_errors(f"set the expiry of the payload of task {task_id}"):
            try:
                self._client.update_item(**arguments)
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise

    def _finished(self, record: Mapping[str, Any]) -> None:
        """After a finishing transition: the payload item expires with its record. A failure here
        leaves the payload item unexpired (it outlives its record), so it is logged, not raised:
        the task's transition stands."""
        try:
            self._set_payload_expiry(record)
        except DependencyUnavailableError as exc:
            # Imported here: the Logger reads its service name when first imported, and the local
            # stack and the benchmarks import this module before they set it.
            from functions.common.observability import logger  # noqa: PLC0415

            logger.warning(
                "the payload item keeps no expiry", extra={"taskId": record["taskId"]["S"], "error": str(exc)}
            )

    def create(self, task: Task) -> None:
        """Insert a new QUEUED (or SCHEDULED) task; refuses if the id exists (idempotent replay or conflict).

        The payload goes first, so a record never points to a missing payload; a payload item
        that already exists holds this very body (its key says so) and is left as it is. A task
        past its expiry is gone: its id (an Idempotency-Key's) is free for a new task, whose
        payload item, if the old one is still there, loses the old task's expiry."""
        now = datetime.fromisoformat(task.created_at)
        record, body = new_record(task), _values(payload_attributes(task.payload))
        payload_existed = False
        if fits_inline(record, body):
            record.update(body)
        else:
            payload_existed = self._put_payload(task, body, now)
        try:
            with self._write(task.task_id, "create", now):
                self._client.put_item(
                    TableName=self.table_name,
                    Item=record,
                    **self._absent_or_expired(now),
                    # A replay learns what the record holds from the refusal: no read after it.
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except TransitionRefusedError as refused:
            raise TaskAlreadyExistsError(task.task_id, refused.found) from refused
        if payload_existed:
            self._set_payload_expiry(record, clear=True)

    def _put_payload(self, task: Task, body: dict[str, Any], now: datetime) -> bool:
        """The payload item, put before its record; True when it was already there."""
        with aws_errors(f"store the payload of task {task.task_id}"):
            try:
                self._client.put_item(
                    TableName=self.table_name,
                    Item={"taskId": _attr(payload_key(task.task_id, task.request_hash)), **body},
                    **self._absent_or_expired(now),
                )
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
                return True
        return False

    @staticmethod
    def _absent_or_expired(now: datetime) -> dict[str, Any]:
        return {
            "ConditionExpression": "attribute_not_exists(taskId) OR #expiry <= :now",
            "ExpressionAttributeNames": {"#expiry": EXPIRY_ATTRIBUTE},
            "ExpressionAttributeValues": {":now": _attr(int(now.timestamp()))},
        }

    def _record(self, task_id: str) -> dict[str, Any] | None:
        """The record as stored (strongly consistent), expired or not; None when there is none."""
        with aws_errors(f"get task {task_id}"):
            response = self._client.get_item(
                TableName=self.table_name, Key={"taskId": _attr(task_id)}, ConsistentRead=True
            )
        item = response.get("Item")
        return dict(item) if item and "status" in item else None

    def get(self, task_id: str, now: datetime | None = None) -> Task | None:
        """The task, or None when there is none or it is past its expiry."""
        item = self._record(task_id)
        if item is None or expired(item, now or utc_now()):
            return None
        return self._with_payload(item, consistent=True)

    def _with_payload(self, item: Mapping[str, Any], *, consistent: bool) -> Task:
        """The record as a Task, with its payload: inline, or read from the payload item. An
        eventually consistent read that misses (the payload was written just before the record)
        is read again strongly."""
        if has_inline_payload(item):
            return task_from_item(item, payload_of(item))
        task_id, request_hash = str(item["taskId"]["S"]), str(item["requestHash"]["S"])
        key = {"taskId": _attr(payload_key(task_id, request_hash))}
        for strongly in (consistent, True):
            with aws_errors(f"read the payload of task {task_id}"):
                found = self._client.get_item(
                    TableName=self.table_name, Key=key, ConsistentRead=strongly
                ).get("Item")
            if found:
                return task_from_item(item, payload_of(found))
            if strongly:
                break
        raise DependencyUnavailableError(f"task {task_id}: its payload item is missing")

    def _transition(
        self,
        task_id: str,
        transition: str,
        *,
        update: str,
        condition: str,
        values: Mapping[str, Any],
        names: Mapping[str, str] | None = None,
        to: TaskStatus | None = None,
        moves: bool = False,
        return_item: bool = False,
        now: datetime | None = None,
        finishes: bool = False,
    ) -> dict[str, Any]:
        """One conditional UpdateItem; the condition always reads ``#status``. A refusal raises
        TransitionRefusedError with the status found (ReturnValuesOnConditionCheckFailure).
        ``to`` sets the new status and, when the phase changes with it (``moves``), the index
        key; ``update`` holds the rest. A claim (QUEUED → RUNNING) stays in the ACTIVE phase and
        leaves the index key alone, so DynamoDB does not write the index. A transition that
        ``finishes`` the task at ``now`` gives the record its expiry (kept if it has one), then
        its payload item. ``now`` also decides whether a refusing item is past its expiry."""
        values = dict(values)
        names = dict(names or {})
        now = now or utc_now()
        if finishes and self.retention_seconds:
            if not update.startswith("SET "):
                raise ValueError("a finishing transition needs a SET clause")
            update = f"SET #expiry = if_not_exists(#expiry, :expiry), {update.removeprefix('SET ')}"
            names["#expiry"] = EXPIRY_ATTRIBUTE
            values[":expiry"] = int(now.timestamp()) + self.retention_seconds
            return_item = True
        if to is not None:
            if not update.startswith("SET "):
                raise ValueError("a status change needs a SET clause")
            values[":to"] = to.value
            changes = "#status = :to"
            if phase_of(to.value) != ACTIVE or moves:
                changes += f", {SHARD_ATTRIBUTE} = :toShard"
                values[":toShard"] = phase_shard(to.value, shard_of(task_id))
            update = f"SET {changes}, {update.removeprefix('SET ')}"
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {"taskId": _attr(task_id)},
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#status": "status", **names},
            "ExpressionAttributeValues": _values(values),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if return_item:
            arguments["ReturnValues"] = "ALL_NEW"
        with self._write(task_id, transition, now):
            response: dict[str, Any] = dict(self._client.update_item(**arguments))
        if finishes and self.retention_seconds:
            self._finished(response["Attributes"])
        return response

    def claim_for_processing(
        self, task_id: str, execution_arn: str, now: datetime, lease_until: datetime
    ) -> Task:
        """QUEUED → RUNNING, or RUNNING → RUNNING for the execution that holds the claim (a retry)
        or for any execution once the previous holder's lease has expired. Counts the attempt."""
        response = self._transition(
            task_id,
            "claim_for_processing",
            update=(
                "SET attempts = attempts + :one, executionArn = :execution, "
                "leaseExpiresAt = :lease, updatedAt = :now"
            ),
            condition=(
                "#status = :queued OR (#status = :running AND "
                "(executionArn = :execution OR leaseExpiresAt < :now))"
            ),
            values={
                ":running": TaskStatus.RUNNING.value,
                ":queued": TaskStatus.QUEUED.value,
                ":one": 1,
                ":execution": execution_arn,
                ":lease": iso(lease_until),
                ":now": iso(now),
            },
            to=TaskStatus.RUNNING,
            return_item=True,
        )
        return self._with_payload(response["Attributes"], consistent=False)

    def record_attempt_failure(self, task_id: str, execution_arn: str, error: str, now: datetime) -> None:
        """RUNNING → RUNNING: keeps the latest attempt's error visible while the workflow retries."""
        self._transition(
            task_id,
            "record_attempt_failure",
            update="SET lastError = :error, updatedAt = :now",
            condition="#status = :running AND executionArn = :execution",
            values={
                ":error": error,
                ":now": iso(now),
                ":running": TaskStatus.RUNNING.value,
                ":execution": execution_arn,
            },
        )

    def mark_succeeded(
        self, task_id: str, execution_arn: str, result: dict[str, Any], now: datetime
    ) -> TaskSummary:
        """RUNNING → SUCCEEDED, only for the execution holding the claim."""
        response = self._transition(
            task_id,
            "mark_succeeded",
            update="SET #result = :result, updatedAt = :now REMOVE leaseExpiresAt, lastError, deadLetterDue",
            condition="#status = :running AND executionArn = :execution",
            names={"#result": "result"},
            values={
                ":result": json.dumps(result, separators=(",", ":")),
                ":now": iso(now),
                ":running": TaskStatus.RUNNING.value,
                ":execution": execution_arn,
            },
            to=TaskStatus.SUCCEEDED,
            return_item=True,
            now=now,
            finishes=True,
        )
        return summary_from_item(response["Attributes"])

    def mark_dead_lettered(self, task_id: str, now: datetime) -> None:
        """FAILED → FAILED with ``deadLetteredAt`` (kept from the first time the monitor saw it)."""
        self._transition(
            task_id,
            "mark_dead_lettered",
            update="SET deadLetteredAt = if_not_exists(deadLetteredAt, :now)",
            condition="#status = :failed",
            values={":now": iso(now), ":failed": TaskStatus.FAILED.value},
            now=now,
            finishes=True,
        )

    def mark_undeliverable(self, task_id: str, error: str, cause: str, now: datetime) -> None:
        """SCHEDULED/QUEUED/RUNNING → FAILED + dead-lettered: the task's message exhausted its
        deliveries on the tasks queue without a workflow ever finishing it (a scheduled task's
        too: its message came and dispatch kept failing on it). A task an execution holds under
        a live lease is left to that execution (reconcile takes it back if it dies)."""
        self._fail_and_dead_letter(
            task_id,
            "mark_undeliverable",
            error,
            cause,
            now,
            condition="#status IN (:queued, :scheduled) OR (#status = :running AND leaseExpiresAt < :now)",
            condition_values={
                ":queued": TaskStatus.QUEUED.value,
                ":scheduled": TaskStatus.SCHEDULED.value,
                ":running": TaskStatus.RUNNING.value,
            },
        )

    def mark_stranded(self, task_id: str, run: int, error: str, cause: str, now: datetime) -> None:
        """RUNNING → FAILED + dead-lettered: reconcile found the run's executions dying (or the
        workflow's own dead-lettering failing) and sent the task to the DLQ. Only for that run,
        so a late message can never fail a newer run."""
        self._fail_and_dead_letter(
            task_id,
            "mark_stranded",
            error,
            cause,
            now,
            condition="#status = :running AND runs = :run",
            condition_values={":running": TaskStatus.RUNNING.value, ":run": run},
        )

    def rescue(self, task_id: str, now: datetime, not_since: datetime) -> Rescue:
        """RUNNING whose lease expired (its execution died) → counted as rescued once per sweep:
        reconcile then re-enqueues it, or dead-letters it when its runs keep dying or the
        workflow marked it ``deadLetterDue``."""
        response = self._transition(
            task_id,
            "rescue",
            update="SET rescues = if_not_exists(rescues, :zero) + :one, rescuedAt = :now",
            condition=(
                "#status = :running AND leaseExpiresAt < :now AND "
                "(attribute_not_exists(rescuedAt) OR rescuedAt < :notSince)"
            ),
            values={
                ":running": TaskStatus.RUNNING.value,
                ":now": iso(now),
                ":notSince": iso(not_since),
                ":zero": 0,
                ":one": 1,
            },
            return_item=True,
        )
        item = _plain(response["Attributes"])
        return Rescue(
            task_id=task_id,
            run=int(item.get("runs", 1)),
            rescues=int(item["rescues"]),
            dead_letter_due=bool(item.get("deadLetterDue", False)),
            error=str(item.get("error") or item.get("lastError") or ""),
            cause=str(item.get("cause") or ""),
        )

    def _fail_and_dead_letter(
        self,
        task_id: str,
        transition: str,
        error: str,
        cause: str,
        now: datetime,
        *,
        condition: str,
        condition_values: Mapping[str, Any],
    ) -> None:
        """→ FAILED with the error, cause and ``deadLetteredAt``, from the states ``condition``
        allows (the lease and any ``deadLetterDue`` mark go with the run)."""
        self._transition(
            task_id,
            transition,
            update=(
                "SET #error = :error, #cause = :cause, updatedAt = :now, deadLetteredAt = :now "
                f"REMOVE leaseExpiresAt, deadLetterDue, {DUE_SHARD_ATTRIBUTE}"
            ),
            condition=condition,
            names={"#error": "error", "#cause": "cause"},
            values={":error": error, ":cause": cause, ":now": iso(now), **condition_values},
            to=TaskStatus.FAILED,
            now=now,
            finishes=True,
        )

    def promote(self, task_id: str, now: datetime) -> None:
        """SCHEDULED → QUEUED once its ``runAt`` has come (the dispatcher, on the task's message):
        it leaves the byRunAt index and joins the ACTIVE phase."""
        self._transition(
            task_id,
            "promote",
            update=f"SET updatedAt = :now REMOVE {DUE_SHARD_ATTRIBUTE}",
            condition="#status = :scheduled AND runAt <= :now",
            values={":scheduled": TaskStatus.SCHEDULED.value, ":now": iso(now)},
            to=TaskStatus.QUEUED,
            moves=True,
            now=now,
        )

    def cancel(self, task_id: str, now: datetime) -> Task:
        """QUEUED or SCHEDULED → CANCELLED: only a task no execution has claimed yet."""
        response = self._transition(
            task_id,
            "cancel",
            update=f"SET updatedAt = :now REMOVE {DUE_SHARD_ATTRIBUTE}",
            condition="#status IN (:queued, :scheduled)",
            values={
                ":queued": TaskStatus.QUEUED.value,
                ":scheduled": TaskStatus.SCHEDULED.value,
                ":now": iso(now),
            },
            to=TaskStatus.CANCELLED,
            return_item=True,
            now=now,
            finishes=True,
        )
        return self._with_payload(response["Attributes"], consistent=True)

    def redrive(self, task_id: str, now: datetime) -> Task:
        """FAILED → QUEUED for another run: ``runs`` + 1, ``attempts`` kept, failure fields and the
        expiry cleared (the payload item's first). A task past its expiry is gone."""
        record = self._record(task_id)  # for the payload item's key; the condition decides
        if record is None:
            raise TransitionRefusedError(task_id, "redrive", {})
        if EXPIRY_ATTRIBUTE in record:  # a record without one has a payload item without one
            self._set_payload_expiry(record, clear=True)
        try:
            response = self._transition(
                task_id,
                "redrive",
                update=(
                    "SET runs = if_not_exists(runs, :one) + :one, updatedAt = :now "
                    "REMOVE deadLetteredAt, #error, #cause, lastError, leaseExpiresAt, rescues, "
                    "rescuedAt, #expiry"
                ),
                condition="#status = :failed AND (attribute_not_exists(#expiry) OR #expiry > :nowEpoch)",
                names={"#error": "error", "#cause": "cause", "#expiry": EXPIRY_ATTRIBUTE},
                values={
                    ":failed": TaskStatus.FAILED.value,
                    ":one": 1,
                    ":now": iso(now),
                    ":nowEpoch": int(now.timestamp()),
                },
                to=TaskStatus.QUEUED,
                moves=True,
                return_item=True,
                now=now,
            )
        except TransitionRefusedError:
            if EXPIRY_ATTRIBUTE in record:  # it stays finished: its payload item expires with it again
                self._finished(record)
            raise
        return self._with_payload(response["Attributes"], consistent=True)
