"""The only module that talks to the tasks table.

Every write is conditional on the state the transition starts from and is named after that
transition, so an at-least-once duplicate (SQS redelivery, a second Express execution, a
late retry) can never move a task backwards or process it twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
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
from functions.common.status_shards import SHARD_ATTRIBUTE, SHARDS, shard_of, status_shard

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _attr(value: Any) -> Any:
    return _serializer.serialize(value)


def _values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _attr(value) for name, value in values.items()}


def task_from_item(item: Mapping[str, Any]) -> Task:
    plain = {name: _deserializer.deserialize(value) for name, value in item.items()}
    plain["payload"] = json.loads(plain["payload"])
    if "result" in plain:
        plain["result"] = json.loads(plain["result"])
    plain["attempts"] = int(plain.get("attempts", 0))
    plain["runs"] = int(plain.get("runs", 1))
    return Task.model_validate(plain)


def summary_from_item(item: Mapping[str, Any]) -> TaskSummary:
    plain = {name: _deserializer.deserialize(value) for name, value in item.items()}
    plain["attempts"] = int(plain.get("attempts", 0))
    return TaskSummary.model_validate(plain)


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
        """Insert a new QUEUED task; refuses if the id exists (idempotent replay or conflict)."""
        item: dict[str, Any] = {
            "taskId": task.task_id,
            "status": task.status.value,
            SHARD_ATTRIBUTE: status_shard(task.status.value, shard_of(task.task_id)),
            "payload": json.dumps(task.payload, separators=(",", ":"), ensure_ascii=False),
            "attempts": 0,
            "runs": 1,
            "createdAt": task.created_at,
            "updatedAt": task.updated_at,
            "requestHash": task.request_hash,
        }
        if task.idempotency_key is not None:
            item["idempotencyKey"] = task.idempotency_key
        try:
            with self._write(task.task_id, "create"):
                self._client.put_item(
                    TableName=self.table_name,
                    Item=_values(item),
                    ConditionExpression="attribute_not_exists(taskId)",
                )
        except TransitionRefusedError as exc:
            raise TaskAlreadyExistsError(task.task_id) from exc

    def get(self, task_id: str) -> Task | None:
        with aws_errors(f"get task {task_id}"):
            response = self._client.get_item(
                TableName=self.table_name, Key={"taskId": _attr(task_id)}, ConsistentRead=True
            )
        item = response.get("Item")
        return task_from_item(item) if item else None

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
        return_item: bool = False,
    ) -> dict[str, Any]:
        """One conditional UpdateItem; the condition always reads ``#status``. A refusal raises
        TransitionRefusedError with the status found (ReturnValuesOnConditionCheckFailure).
        ``to`` sets the new status and, with it, the index shard key; ``update`` holds the rest."""
        values = dict(values)
        if to is not None:
            if not update.startswith("SET "):
                raise ValueError("a status change needs a SET clause")
            update = f"SET #status = :to, {SHARD_ATTRIBUTE} = :toShard, {update.removeprefix('SET ')}"
            values |= {":to": to.value, ":toShard": status_shard(to.value, shard_of(task_id))}
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
        return task_from_item(response["Attributes"])

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

    def mark_succeeded(self, task_id: str, execution_arn: str, result: dict[str, Any], now: datetime) -> Task:
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
        return task_from_item(response["Attributes"])

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
        on the tasks queue without a workflow ever finishing it."""
        self._fail_and_dead_letter(
            task_id,
            "mark_undeliverable",
            error,
            cause,
            now,
            condition="#status IN (:queued, :running)",
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
        return task_from_item(response["Attributes"])

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
            return_item=True,
        )
        return task_from_item(response["Attributes"])

    def _query_shards(
        self,
        status: TaskStatus,
        what: str,
        query: Callable[[int], dict[str, Any]],
        shards: Iterable[int] = range(SHARDS),
    ) -> list[tuple[int, list[dict[str, Any]], bool]]:
        """Run one index Query per shard (concurrently); returns (shard, items, has_more)."""

        def one(shard: int) -> tuple[int, list[dict[str, Any]], bool]:
            arguments = {
                "TableName": self.table_name,
                "IndexName": STATUS_INDEX,
                "ExpressionAttributeNames": {"#shard": SHARD_ATTRIBUTE},
                **query(shard),
            }
            arguments["ExpressionAttributeValues"] = {
                ":shard": _attr(status_shard(status.value, shard)),
                **arguments.get("ExpressionAttributeValues", {}),
            }
            with aws_errors(what):
                response = self._client.query(**arguments)
            return shard, list(response.get("Items", [])), "LastEvaluatedKey" in response

        return list(_shard_pool().map(one, shards))

    def queued_before(self, cutoff: datetime, limit: int) -> list[tuple[str, int]]:
        """(id, run) of tasks still QUEUED that were created before ``cutoff``, oldest first."""
        results = self._query_shards(
            TaskStatus.QUEUED,
            "query queued tasks",
            lambda _: {
                "KeyConditionExpression": "#shard = :shard AND createdAt < :cutoff",
                "ExpressionAttributeValues": {":cutoff": _attr(iso(cutoff))},
                "ScanIndexForward": True,
                "Limit": limit,
            },
        )
        oldest = sorted((item for _, items, _ in results for item in items), key=_position)[:limit]
        return [
            (
                str(_deserializer.deserialize(item["taskId"])),
                int(_deserializer.deserialize(item.get("runs", _ONE))),
            )
            for item in oldest
        ]

    def running_before(self, cutoff: datetime, limit: int) -> list[str]:
        """Ids of RUNNING tasks not written since ``cutoff`` (so their lease, set by the claim,
        has expired when ``cutoff`` is a lease ago). RUNNING shards hold only tasks in flight."""
        results = self._query_shards(
            TaskStatus.RUNNING,
            "query running tasks",
            lambda _: {
                "KeyConditionExpression": "#shard = :shard",
                "FilterExpression": "updatedAt < :cutoff",
                "ExpressionAttributeValues": {":cutoff": _attr(iso(cutoff))},
                "ScanIndexForward": True,
            },
        )
        stale = sorted((item for _, items, _ in results for item in items), key=_position)[:limit]
        return [str(_deserializer.deserialize(item["taskId"])) for item in stale]

    def list_by_status(
        self, status: TaskStatus, limit: int, cursors: ShardCursors | None = None
    ) -> tuple[list[TaskSummary], ShardCursors | None]:
        """Newest first across every shard of the byStatus index; returns (page, cursors of the
        next page, or None after the last page).

        Each shard yields up to ``limit`` items from its cursor, the merge keeps the newest
        ``limit``, and each shard's cursor moves past what it contributed. Index items are a few
        hundred bytes, so a shard's query never stops short at DynamoDB's 1 MB page size.
        """
        cursors = dict(cursors or {})

        def query(shard: int) -> dict[str, Any]:
            arguments: dict[str, Any] = {
                "KeyConditionExpression": "#shard = :shard",
                "ScanIndexForward": False,
                "Limit": limit,
            }
            if after := cursors.get(shard):
                arguments["ExclusiveStartKey"] = {
                    "taskId": _attr(after[1]),
                    "createdAt": _attr(after[0]),
                    SHARD_ATTRIBUTE: _attr(status_shard(status.value, shard)),
                }
            return arguments

        open_shards = [shard for shard in range(SHARDS) if not (shard in cursors and cursors[shard] is None)]
        results = self._query_shards(status, f"list {status} tasks", query, open_shards)
        merged = sorted(
            ((item, shard) for shard, items, _ in results for item in items),
            key=lambda pair: _position(pair[0]),
            reverse=True,
        )[:limit]
        for shard, items, has_more in results:
            taken = [item for item, source in merged if source == shard]
            if len(taken) == len(items) and not has_more:
                cursors[shard] = None
            elif taken:
                cursors[shard] = _position(taken[-1])
        finished = all(cursors.get(shard, ()) is None for shard in range(SHARDS))
        return [summary_from_item(item) for item, _ in merged], None if finished else cursors

    def statuses(self, task_ids: list[str]) -> dict[str, TaskStatus]:
        """Current status of each existing task (one BatchGetItem per 100 ids; strongly consistent)."""
        found: dict[str, TaskStatus] = {}
        unique = list(dict.fromkeys(task_ids))
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            pending: dict[str, Any] = {
                self.table_name: {
                    "Keys": [
                        {"taskId": _attr(task_id)} for task_id in unique[start : start + BATCH_GET_LIMIT]
                    ],
                    "ProjectionExpression": "taskId, #status",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ConsistentRead": True,
                }
            }
            for _ in range(BATCH_GET_ROUNDS):
                if not pending:
                    break
                with aws_errors("read task statuses"):
                    response = self._client.batch_get_item(RequestItems=pending)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    found[str(_deserializer.deserialize(item["taskId"]))] = TaskStatus(
                        _deserializer.deserialize(item["status"])
                    )
                pending = dict(response.get("UnprocessedKeys") or {})
            if pending:
                raise DependencyUnavailableError(
                    f"read task statuses: {BATCH_GET_ROUNDS} rounds left keys unread"
                )
        return found
