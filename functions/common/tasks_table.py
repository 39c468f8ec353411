"""The only module that talks to the tasks table.

Every write is conditional on the state the transition starts from and is named after that
transition, so an at-least-once duplicate (SQS redelivery, a second Express execution, a
late retry) can never move a task backwards or process it twice.

Two kinds of item share the table (docs/DATA_MODEL.md):
- **the record** (``taskId``): status, counters, errors, result. Every transition rewrites it,
  and DynamoDB bills a write on the item's whole size, so it stays under 1 KB: one write unit.
- **the payload** (``<taskId>#payload#<request hash>``): the submitted body, written once before
  the record and never changed. Its key names the body it holds, so two bodies can never share
  one; a submission that dies between the two puts leaves a payload no record points to, which
  nothing lists or reads. A body of ``COMPRESS_FROM_BYTES`` or more is stored zlib-compressed
  (``payloadZ``) when that is smaller, so a 1 KiB JSON body fits one write unit too. Records
  written before the split keep their ``payload`` attribute and are read as they are.
"""

from __future__ import annotations

import json
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from functions.common.aws import aws_errors, error_code, translate
from functions.common.clock import iso
from functions.common.config import STATUS_INDEX
from functions.common.errors import (
    DependencyUnavailableError,
    TaskAlreadyExistsError,
    TransitionRefusedError,
)
from functions.common.models import Task, TaskStatus, TaskSummary
from functions.common.status_shards import ACTIVE, SHARD_ATTRIBUTE, SHARDS, phase_of, phase_shard, shard_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _attr(value: Any) -> Any:
    return _serializer.serialize(value)


def _values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _attr(value) for name, value in values.items()}


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def payload_key(task_id: str, request_hash: str) -> str:
    """The payload item's key: the task and the body it holds (a '#' never occurs in a task id)."""
    return f"{task_id}#payload#{request_hash[:32]}"


PAYLOAD_ATTRIBUTE = "payload"
COMPRESSED_PAYLOAD_ATTRIBUTE = "payloadZ"
COMPRESS_FROM_BYTES = 900
"""From this many bytes of JSON a payload item (its key and attribute names add ~80 bytes)
would cross the first 1 KB write unit, so the body is compressed when that makes it smaller
(DynamoDB's advice for large attribute values: docs/DATA_MODEL.md). Below it compression saves
no write unit and the body stays readable in the console."""


def payload_attributes(payload: Mapping[str, Any]) -> dict[str, str | bytes]:
    """The payload item's body attribute: the JSON text, or its zlib compression when the text is
    ``COMPRESS_FROM_BYTES`` or longer and compressing shrinks it."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    body = text.encode()
    if len(body) >= COMPRESS_FROM_BYTES:
        packed = zlib.compress(body)
        if len(packed) < len(body):
            return {COMPRESSED_PAYLOAD_ATTRIBUTE: packed}
    return {PAYLOAD_ATTRIBUTE: text}


def payload_of(item: Mapping[str, Any]) -> dict[str, Any]:
    """The body held by a payload item (or by a record written before the split), in DynamoDB's
    typed form as the client returns it."""
    if COMPRESSED_PAYLOAD_ATTRIBUTE in item:
        body: dict[str, Any] = json.loads(zlib.decompress(item[COMPRESSED_PAYLOAD_ATTRIBUTE]["B"]))
        return body
    text: dict[str, Any] = json.loads(item[PAYLOAD_ATTRIBUTE]["S"])
    return text


def task_from_item(item: Mapping[str, Any], payload: dict[str, Any]) -> Task:
    plain = _plain(item)
    if "result" in plain:
        plain["result"] = json.loads(plain["result"])
    plain["attempts"] = int(plain.get("attempts", 0))
    plain["runs"] = int(plain.get("runs", 1))
    return Task.model_validate({**plain, "payload": payload})


def summary_from_item(item: Mapping[str, Any]) -> TaskSummary:
    plain = _plain(item)
    plain["attempts"] = int(plain.get("attempts", 0))
    return TaskSummary.model_validate(plain)


SUMMARY_ATTRIBUTES = (
    "taskId",
    "status",
    "createdAt",
    "updatedAt",
    "attempts",
    "runs",
    "error",
    "executionArn",
    "deadLetteredAt",
    "idempotencyKey",
)
"""What a listing reads of each record (TaskSummary's fields, and ``runs`` for reconcile)."""


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


ShardCursors = dict[int, tuple[str, str] | None]
"""Where a listing stands in each index shard: after (createdAt, taskId), or None once the
shard is exhausted; a shard without an entry starts from its newest item."""


def _position(item: Mapping[str, Any]) -> tuple[str, str]:
    return str(item["createdAt"]["S"]), str(item["taskId"]["S"])


@cache
def _shard_pool() -> ThreadPoolExecutor:
    """Created on first use, so handlers that never list pay nothing at init."""
    return ThreadPoolExecutor(max_workers=SHARDS, thread_name_prefix="index-shard")


BATCH_GET_LIMIT = 100
BATCH_GET_ROUNDS = 5
_ONE: Any = {"N": "1"}
READ_BUDGET = 2000
"""Index entries one listing or sweep call reads at most: a page of QUEUED tasks under a large
RUNNING crowd (they share the ACTIVE phase) comes back short, with a token to go on from."""


class _ShardMerge:
    """The index entries of one phase, every shard merged in ``createdAt`` order, read page by
    page as they are consumed. ``cursors()`` says where each shard stands after what was taken,
    so the next call (or the next page's token) goes on with no gap and no repeat."""

    def __init__(
        self,
        table: TasksTable,
        phase: str,
        *,
        newest_first: bool,
        cursors: ShardCursors,
        page: int,
        created_before: str | None = None,
    ) -> None:
        self._table, self._phase, self._newest_first, self._page = table, phase, newest_first, page
        self._created_before = created_before
        self._start = dict(cursors)
        self._open = [shard for shard in range(SHARDS) if not (shard in cursors and cursors[shard] is None)]
        self._items: dict[int, deque[dict[str, Any]]] = {shard: deque() for shard in self._open}
        self._next: dict[int, dict[str, Any] | None] = {}
        self._taken: dict[int, tuple[str, str]] = {}
        first_pages = _shard_pool().map(lambda shard: self._query(shard, self._first_key(shard)), self._open)
        for shard, (items, next_key) in zip(self._open, first_pages, strict=True):
            self._items[shard].extend(items)
            self._next[shard] = next_key

    def _first_key(self, shard: int) -> dict[str, Any] | None:
        after = self._start.get(shard)
        if after is None:
            return None
        return {
            "taskId": _attr(after[1]),
            "createdAt": _attr(after[0]),
            SHARD_ATTRIBUTE: _attr(phase_shard(self._phase, shard)),
        }

    def _query(
        self, shard: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        condition = "#shard = :shard"
        values: dict[str, Any] = {":shard": _attr(phase_shard(self._phase, shard))}
        if self._created_before is not None:
            condition += " AND createdAt < :before"
            values[":before"] = _attr(self._created_before)
        arguments: dict[str, Any] = {
            "TableName": self._table.table_name,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {"#shard": SHARD_ATTRIBUTE},
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not self._newest_first,
            "Limit": self._page,
        }
        if start is not None:
            arguments["ExclusiveStartKey"] = start
        with aws_errors(f"query the {self._phase} index entries"):
            response = self._table._client.query(**arguments)
        return list(response.get("Items", [])), response.get("LastEvaluatedKey")

    def take(self, count: int) -> list[str]:
        """The next ``count`` task ids in order (fewer once every shard is exhausted)."""
        taken: list[str] = []
        while len(taken) < count:
            for shard in self._open:
                if not self._items[shard] and (start := self._next.get(shard)) is not None:
                    items, self._next[shard] = self._query(shard, start)
                    self._items[shard].extend(items)
            heads = [shard for shard in self._open if self._items[shard]]
            if not heads:
                break
            pick = max if self._newest_first else min
            shard = pick(heads, key=lambda head: _position(self._items[head][0]))
            item = self._items[shard].popleft()
            self._taken[shard] = _position(item)
            taken.append(str(item["taskId"]["S"]))
        return taken

    def cursors(self) -> ShardCursors | None:
        """Where each shard stands, or None when every shard is exhausted."""
        cursors: ShardCursors = {}
        for shard in range(SHARDS):
            exhausted = shard not in self._items or (not self._items[shard] and self._next.get(shard) is None)
            if exhausted:
                cursors[shard] = None
            elif shard in self._taken:
                cursors[shard] = self._taken[shard]
            elif shard in self._start:
                cursors[shard] = self._start[shard]
        return None if all(cursors.get(shard, ()) is None for shard in range(SHARDS)) else cursors


class TasksTable:
    """Data access for task records, one method per state transition."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    @contextmanager
    def _write(self, task_id: str, transition: str) -> Iterator[None]:
        """A refused condition is the transition's answer; anything else is an AWS failure."""
        try:
            yield
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                old = cast(dict[str, Any], exc.response).get("Item")
                current = _deserializer.deserialize(old["status"]) if old else None
                raise TransitionRefusedError(task_id, transition, current) from exc
            raise translate(exc, f"{transition} for task {task_id}") from exc
        except BotoCoreError as exc:
            raise translate(exc, f"{transition} for task {task_id}") from exc

    def create(self, task: Task) -> None:
        """Insert a new QUEUED task; refuses if the id exists (idempotent replay or conflict).

        The payload goes first, so a record never points to a missing payload; a payload item
        that already exists holds this very body (its key says so) and is left as it is."""
        with aws_errors(f"store the payload of task {task.task_id}"):
            try:
                self._client.put_item(
                    TableName=self.table_name,
                    Item=_values(
                        {
                            "taskId": payload_key(task.task_id, task.request_hash),
                            **payload_attributes(task.payload),
                        }
                    ),
                    ConditionExpression="attribute_not_exists(taskId)",
                )
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
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
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=_values(item),
                ConditionExpression="attribute_not_exists(taskId)",
                # A replay learns what the record holds from the refusal: no read after it.
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                old = cast(dict[str, Any], exc.response).get("Item") or {}
                raise TaskAlreadyExistsError(task.task_id, _plain(old)) from exc
            raise translate(exc, f"create task {task.task_id}") from exc
        except BotoCoreError as exc:
            raise translate(exc, f"create task {task.task_id}") from exc

    def get(self, task_id: str) -> Task | None:
        with aws_errors(f"get task {task_id}"):
            response = self._client.get_item(
                TableName=self.table_name, Key={"taskId": _attr(task_id)}, ConsistentRead=True
            )
        item = response.get("Item")
        if not item or "status" not in item:
            return None
        return self._with_payload(item, consistent=True)

    def _with_payload(self, item: Mapping[str, Any], *, consistent: bool) -> Task:
        """The record as a Task, with its payload read from the payload item. An eventually
        consistent read that misses (the payload was written just before the record) is read
        again strongly."""
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
    ) -> dict[str, Any]:
        """One conditional UpdateItem; the condition always reads ``#status``. A refusal raises
        TransitionRefusedError with the status found (ReturnValuesOnConditionCheckFailure).
        ``to`` sets the new status and, when the phase changes with it (``moves``), the index
        key; ``update`` holds the rest. A claim (QUEUED → RUNNING) stays in the ACTIVE phase and
        leaves the index key alone, so DynamoDB does not write the index."""
        values = dict(values)
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
            "ExpressionAttributeNames": {"#status": "status", **(names or {})},
            "ExpressionAttributeValues": _values(values),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if return_item:
            arguments["ReturnValues"] = "ALL_NEW"
        with self._write(task_id, transition):
            response: dict[str, Any] = dict(self._client.update_item(**arguments))
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
        )

    def mark_undeliverable(self, task_id: str, error: str, cause: str, now: datetime) -> None:
        """QUEUED/RUNNING → FAILED + dead-lettered: the task's message exhausted its deliveries
        on the tasks queue without a workflow ever finishing it. A task an execution holds under
        a live lease is left to that execution (reconcile takes it back if it dies)."""
        self._fail_and_dead_letter(
            task_id,
            "mark_undeliverable",
            error,
            cause,
            now,
            condition="#status = :queued OR (#status = :running AND leaseExpiresAt < :now)",
            condition_values={":queued": TaskStatus.QUEUED.value, ":running": TaskStatus.RUNNING.value},
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
        item = {name: _deserializer.deserialize(value) for name, value in response["Attributes"].items()}
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
                "REMOVE leaseExpiresAt, deadLetterDue"
            ),
            condition=condition,
            names={"#error": "error", "#cause": "cause"},
            values={":error": error, ":cause": cause, ":now": iso(now), **condition_values},
            to=TaskStatus.FAILED,
        )

    def cancel(self, task_id: str, now: datetime) -> Task:
        """QUEUED → CANCELLED: only a task no execution has claimed yet."""
        response = self._transition(
            task_id,
            "cancel",
            update="SET updatedAt = :now",
            condition="#status = :queued",
            values={":queued": TaskStatus.QUEUED.value, ":now": iso(now)},
            to=TaskStatus.CANCELLED,
            return_item=True,
        )
        return self._with_payload(response["Attributes"], consistent=True)

    def redrive(self, task_id: str, now: datetime) -> Task:
        """FAILED → QUEUED for another run: ``runs`` + 1, ``attempts`` kept, failure fields cleared."""
        response = self._transition(
            task_id,
            "redrive",
            update=(
                "SET runs = if_not_exists(runs, :one) + :one, updatedAt = :now "
                "REMOVE deadLetteredAt, #error, #cause, lastError, leaseExpiresAt, rescues, rescuedAt"
            ),
            condition="#status = :failed",
            names={"#error": "error", "#cause": "cause"},
            values={
                ":failed": TaskStatus.FAILED.value,
                ":one": 1,
                ":now": iso(now),
            },
            to=TaskStatus.QUEUED,
            moves=True,
            return_item=True,
        )
        return self._with_payload(response["Attributes"], consistent=True)

    def _records(
        self, task_ids: list[str], attributes: tuple[str, ...], *, consistent: bool, what: str
    ) -> dict[str, dict[str, Any]]:
        """The named attributes of each existing record, by id (one BatchGetItem per 100 ids)."""
        found: dict[str, dict[str, Any]] = {}
        names = {f"#a{index}": name for index, name in enumerate(attributes)}
        unique = list(dict.fromkeys(task_ids))
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            pending: dict[str, Any] = {
                self.table_name: {
                    "Keys": [
                        {"taskId": _attr(task_id)} for task_id in unique[start : start + BATCH_GET_LIMIT]
                    ],
                    "ProjectionExpression": ", ".join(names),
                    "ExpressionAttributeNames": names,
                    "ConsistentRead": consistent,
                }
            }
            for _ in range(BATCH_GET_ROUNDS):
                if not pending:
                    break
                with aws_errors(what):
                    response = self._client.batch_get_item(RequestItems=pending)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    found[str(item["taskId"]["S"])] = item
                pending = dict(response.get("UnprocessedKeys") or {})
            if pending:
                raise DependencyUnavailableError(f"{what}: {BATCH_GET_ROUNDS} rounds left keys unread")
        return found

    def _select(
        self,
        merge: _ShardMerge,
        limit: int,
        accept: Callable[[dict[str, Any]], bool],
        attributes: tuple[str, ...],
        what: str,
    ) -> list[dict[str, Any]]:
        """Take index entries in order, read their records, keep those ``accept`` admits, until
        ``limit`` are kept, the entries run out or READ_BUDGET entries were read."""
        kept: list[dict[str, Any]] = []
        read = 0
        while len(kept) < limit and read < READ_BUDGET:
            ids = merge.take(min(limit - len(kept), BATCH_GET_LIMIT, READ_BUDGET - read))
            if not ids:
                break
            read += len(ids)
            records = self._records(ids, attributes, consistent=False, what=what)
            kept += [records[task_id] for task_id in ids if task_id in records and accept(records[task_id])]
        return kept

    def queued_before(self, cutoff: datetime, limit: int) -> list[tuple[str, int]]:
        """(id, run) of tasks still QUEUED that were created before ``cutoff``, oldest first."""
        merge = _ShardMerge(
            self, ACTIVE, newest_first=False, cursors={}, page=BATCH_GET_LIMIT, created_before=iso(cutoff)
        )
        queued = self._select(
            merge,
            limit,
            lambda record: record["status"]["S"] == TaskStatus.QUEUED.value,
            ("taskId", "status", "runs"),
            "read queued tasks",
        )
        return [(str(record["taskId"]["S"]), int(record.get("runs", _ONE)["N"])) for record in queued]

    def running_before(self, cutoff: datetime, limit: int) -> list[str]:
        """Ids of RUNNING tasks not written since ``cutoff`` (so their lease, set by the claim,
        has expired when ``cutoff`` is a lease ago), oldest first."""
        merge = _ShardMerge(self, ACTIVE, newest_first=False, cursors={}, page=BATCH_GET_LIMIT)
        before = iso(cutoff)
        stale = self._select(
            merge,
            limit,
            lambda record: (
                record["status"]["S"] == TaskStatus.RUNNING.value and str(record["updatedAt"]["S"]) < before
            ),
            ("taskId", "status", "updatedAt"),
            "read running tasks",
        )
        return [str(record["taskId"]["S"]) for record in stale]

    def list_by_status(
        self, status: TaskStatus, limit: int, cursors: ShardCursors | None = None
    ) -> tuple[list[TaskSummary], ShardCursors | None]:
        """Newest first across every shard of the status's phase; returns (page, cursors of the
        next page, or None after the last page).

        The index holds keys only: each entry's record is read (BatchGetItem, eventually
        consistent) and kept when its status is the one listed. QUEUED and RUNNING share the
        ACTIVE phase, so their pages read through each other's entries; a page that reads
        READ_BUDGET entries ends there, short, with cursors to go on from.
        """
        merge = _ShardMerge(
            self, phase_of(status.value), newest_first=True, cursors=dict(cursors or {}), page=limit
        )
        records = self._select(
            merge,
            limit,
            lambda record: record["status"]["S"] == status.value,
            SUMMARY_ATTRIBUTES,
            f"list {status} tasks",
        )
        return [summary_from_item(record) for record in records], merge.cursors()

    def statuses(self, task_ids: list[str]) -> dict[str, TaskStatus]:
        """Current status of each existing task (one BatchGetItem per 100 ids; strongly consistent)."""
        records = self._records(task_ids, ("taskId", "status"), consistent=True, what="read task statuses")
        return {
            task_id: TaskStatus(record["status"]["S"])
            for task_id, record in records.items()
            if "status" in record
        }
