"""The sharded indexes read in order: every shard of a phase merged by ``createdAt`` (byPhase), or
of the scheduled tasks by ``runAt`` (byRunAt), page by page, with cursors to go on from (the
indexes are write-sharded: functions/common/status_shards.py)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from functions.common.attribute_values import to_attribute
from functions.common.aws import aws_errors
from functions.common.clock import iso, moment, utc_now
from functions.common.config import DUE_INDEX, PHASE_INDEX, SCHEDULE_INDEX
from functions.common.errors import DependencyUnavailableError
from functions.common.models import TaskStatus, TaskSummary
from functions.common.status_shards import (
    ACTIVE,
    DUE_SHARD_ATTRIBUTE,
    SHARD_ATTRIBUTE,
    SHARDS,
    due_shard,
    phase_of,
    phase_shard,
)
from functions.common.tasks_table.codec import (
    LIMIT_SUBJECTS_ATTRIBUTE,
    REGISTERED_TYPE_ATTRIBUTE,
    SCHEDULE_ATTRIBUTE,
    SCHEDULED_TIME_ATTRIBUTE,
    SUMMARY_ATTRIBUTES,
    WAITING_FOR_ATTRIBUTE,
    expired,
    summary_from_item,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_dynamodb import DynamoDBClient

ShardCursors = dict[int, tuple[str, str] | None]
"""Where a listing stands in each index shard: after (createdAt, taskId), or None once the
shard is exhausted; a shard without an entry starts from its newest item."""


@dataclass(frozen=True)
class TableIndex:
    """A keys-only GSI: its name and key attributes (both strings)."""

    name: str
    partition_attribute: str
    sort_attribute: str


@dataclass(frozen=True)
class ShardedIndex(TableIndex):
    """A keys-only GSI whose partition key is ``<prefix>#<shard>`` and whose sort key is a time."""

    partition: Callable[[str, int], str]
    """(phase, shard) → the partition key's value."""


BY_PHASE = ShardedIndex(PHASE_INDEX, SHARD_ATTRIBUTE, "createdAt", phase_shard)
BY_RUN_AT = ShardedIndex(DUE_INDEX, DUE_SHARD_ATTRIBUTE, "runAt", lambda _phase, shard: due_shard(shard))
SHARDED_INDEXES = (BY_PHASE, BY_RUN_AT)
BY_SCHEDULE = TableIndex(SCHEDULE_INDEX, SCHEDULE_ATTRIBUTE, SCHEDULED_TIME_ATTRIBUTE)
"""Sparse: only a task a recurring schedule submitted carries its keys (written once, at create)."""
TABLE_INDEXES: tuple[TableIndex, ...] = (*SHARDED_INDEXES, BY_SCHEDULE)
"""The table's secondary indexes, declared once: the CDK stack and the local stack create these."""

ScheduleCursor = tuple[str, str]
"""Where a schedule's listing stands: after (scheduledTime, taskId)."""


@cache
def _shard_pool() -> ThreadPoolExecutor:
    """Created on first use, so handlers that never list pay nothing at init."""
    return ThreadPoolExecutor(max_workers=SHARDS, thread_name_prefix="index-shard")


class ShardMerge:
    """The index entries of one phase, every shard merged in ``createdAt`` order, read page by
    page as they are consumed. ``cursors()`` says where each shard stands after what was taken,
    so the next call (or the next page's token) goes on with no gap and no repeat."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        phase: str,
        *,
        newest_first: bool,
        cursors: ShardCursors,
        page: int,
        sorted_before: str | None = None,
        index: ShardedIndex = BY_PHASE,
    ) -> None:
        """``sorted_before``: only entries whose sort key (``createdAt``; ``runAt`` in
        byRunAt) is before it."""
        self._client, self._table_name, self._index = client, table_name, index
        self._phase, self._newest_first, self._page = phase, newest_first, page
        self._sorted_before = sorted_before
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
            "taskId": to_attribute(after[1]),
            self._index.sort_attribute: to_attribute(after[0]),
            self._index.partition_attribute: to_attribute(self._index.partition(self._phase, shard)),
        }

    def _position(self, item: Mapping[str, Any]) -> tuple[str, str]:
        return str(item[self._index.sort_attribute]["S"]), str(item["taskId"]["S"])

    def _query(
        self, shard: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        condition = "#shard = :shard"
        values: dict[str, Any] = {":shard": to_attribute(self._index.partition(self._phase, shard))}
        names = {"#shard": self._index.partition_attribute}
        if self._sorted_before is not None:
            condition += " AND #sort < :before"
            values[":before"] = to_attribute(self._sorted_before)
            names["#sort"] = self._index.sort_attribute
        arguments: dict[str, Any] = {
            "TableName": self._table_name,
            "IndexName": self._index.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not self._newest_first,
            "Limit": self._page,
        }
        if start is not None:
            arguments["ExclusiveStartKey"] = start
        with aws_errors(f"query the {self._phase} index entries"):
            response = self._client.query(**arguments)
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
            shard = pick(heads, key=lambda head: self._position(self._items[head][0]))
            item = self._items[shard].popleft()
            self._taken[shard] = self._position(item)
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


BATCH_GET_LIMIT = 100
BATCH_GET_ROUNDS = 5
_ONE: Any = {"N": "1"}
READ_BUDGET = 2000
"""Index entries one listing or sweep call reads at most: a page of QUEUED tasks under a large
RUNNING crowd (they share the ACTIVE phase) comes back short, with a token to go on from."""


def _task_runs(records: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """(id, run) of each record read with ``taskId`` and ``runs``: what a re-send needs."""
    return [(str(record["taskId"]["S"]), int(record.get("runs", _ONE)["N"])) for record in records]


@dataclass(frozen=True)
class TaskReadiness:
    """Whether a task may start now: its status, and when a SCHEDULED one is due."""

    status: TaskStatus
    run_at: datetime | None = None
    registered_type: str | None = None
    """A registered type's name: its execution runs the type's states."""
    limit_subjects: tuple[str, ...] = ()
    """What limits may hold it back (its type, host, key)."""
    waiting_since: datetime | None = None
    """When a limit first held it back (None: it has not waited)."""


class TaskIndex:
    """The table's batch reads and its listings through the indexes (``TasksTable.index``)."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

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
                        {"taskId": to_attribute(task_id)}
                        for task_id in unique[start : start + BATCH_GET_LIMIT]
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
        merge: ShardMerge,
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
        """(id, run) of tasks QUEUED since before ``cutoff`` (created and last written before it:
        a scheduled task promoted, or a task redriven, a moment ago is not stale), oldest first.
        A task waiting for a limit (``waitingFor``) is not stale: the dispatcher sends its message
        again at every recheck, and a copy from here would recheck as often again."""
        before = iso(cutoff)
        merge = ShardMerge(
            self._client,
            self.table_name,
            ACTIVE,
            newest_first=False,
            cursors={},
            page=BATCH_GET_LIMIT,
            sorted_before=before,
        )
        queued = self._select(
            merge,
            limit,
            lambda record: (
                record["status"]["S"] == TaskStatus.QUEUED.value
                and str(record["updatedAt"]["S"]) < before
                and WAITING_FOR_ATTRIBUTE not in record
            ),
            ("taskId", "status", "runs", "updatedAt", WAITING_FOR_ATTRIBUTE),
            "read queued tasks",
        )
        return _task_runs(queued)

    def scheduled_due_before(self, cutoff: datetime, limit: int) -> list[tuple[str, int]]:
        """(id, run) of tasks still SCHEDULED whose ``runAt`` is before ``cutoff``, most overdue
        first (the sparse byRunAt index holds only SCHEDULED tasks)."""
        merge = ShardMerge(
            self._client,
            self.table_name,
            TaskStatus.SCHEDULED.value,
            newest_first=False,
            cursors={},
            page=BATCH_GET_LIMIT,
            sorted_before=iso(cutoff),
            index=BY_RUN_AT,
        )
        due = self._select(
            merge,
            limit,
            lambda record: record["status"]["S"] == TaskStatus.SCHEDULED.value,
            ("taskId", "status", "runs"),
            "read overdue scheduled tasks",
        )
        return _task_runs(due)

    def running_before(self, cutoff: datetime, limit: int) -> list[str]:
        """Ids of RUNNING tasks not written since ``cutoff`` (so their lease, set by the claim,
        has expired when ``cutoff`` is a lease ago), oldest first."""
        merge = ShardMerge(
            self._client, self.table_name, ACTIVE, newest_first=False, cursors={}, page=BATCH_GET_LIMIT
        )
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
        self,
        status: TaskStatus,
        limit: int,
        cursors: ShardCursors | None = None,
        now: datetime | None = None,
    ) -> tuple[list[TaskSummary], ShardCursors | None]:
        """Newest first across every shard of the status's phase; returns (page, cursors of the
        next page, or None after the last page).

        The index holds keys only: each entry's record is read (BatchGetItem, eventually
        consistent) and kept when its status is the one listed. QUEUED and RUNNING share the
        ACTIVE phase, so their pages read through each other's entries; a page that reads
        READ_BUDGET entries ends there, short, with cursors to go on from. A task past its
        expiry is not listed.
        """
        now = now or utc_now()
        merge = ShardMerge(
            self._client,
            self.table_name,
            phase_of(status.value),
            newest_first=True,
            cursors=dict(cursors or {}),
            page=limit,
        )
        records = self._select(
            merge,
            limit,
            lambda record: record["status"]["S"] == status.value and not expired(record, now),
            SUMMARY_ATTRIBUTES,
            f"list {status} tasks",
        )
        return [summary_from_item(record) for record in records], merge.cursors()

    def list_by_schedule(
        self, schedule: str, limit: int, after: ScheduleCursor | None = None, now: datetime | None = None
    ) -> tuple[list[TaskSummary], ScheduleCursor | None]:
        """The tasks a recurring schedule submitted, newest firing first: one query of the sparse
        bySchedule index and a read of each record (eventually consistent, past expiry left out).
        Returns (page, where the next page starts, or None after the last)."""
        now = now or utc_now()
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": BY_SCHEDULE.name,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeNames": {"#p": BY_SCHEDULE.partition_attribute},
            "ExpressionAttributeValues": {":p": to_attribute(schedule)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after is not None:
            query["ExclusiveStartKey"] = {
                BY_SCHEDULE.partition_attribute: to_attribute(schedule),
                BY_SCHEDULE.sort_attribute: to_attribute(after[0]),
                "taskId": to_attribute(after[1]),
            }
        with aws_errors(f"list the tasks of schedule {schedule}"):
            response = self._client.query(**query)
        ids = [str(item["taskId"]["S"]) for item in response.get("Items", [])]
        records = self._records(ids, SUMMARY_ATTRIBUTES, consistent=False, what="list a schedule's tasks")
        page = [
            summary_from_item(records[task_id])
            for task_id in ids
            if task_id in records and not expired(records[task_id], now)
        ]
        last = response.get("LastEvaluatedKey")
        cursor = None
        if last:
            cursor = (str(last[BY_SCHEDULE.sort_attribute]["S"]), str(last["taskId"]["S"]))
        return page, cursor

    def due_states(self, task_ids: list[str]) -> dict[str, TaskReadiness]:
        """Each existing task's status and ``runAt`` (one BatchGetItem per 100 ids; strongly
        consistent): what the dispatcher decides a message by."""
        records = self._records(
            task_ids,
            (
                "taskId",
                "status",
                "runAt",
                REGISTERED_TYPE_ATTRIBUTE,
                LIMIT_SUBJECTS_ATTRIBUTE,
                WAITING_FOR_ATTRIBUTE,
            ),
            consistent=True,
            what="read task statuses",
        )
        return {task_id: _readiness(record) for task_id, record in records.items() if "status" in record}


def _readiness(record: Mapping[str, Any]) -> TaskReadiness:
    waiting = record.get(WAITING_FOR_ATTRIBUTE, {}).get("M", {})
    return TaskReadiness(
        TaskStatus(record["status"]["S"]),
        moment(str(record["runAt"]["S"])) if "runAt" in record else None,
        str(record[REGISTERED_TYPE_ATTRIBUTE]["S"]) if REGISTERED_TYPE_ATTRIBUTE in record else None,
        tuple(str(s["S"]) for s in record.get(LIMIT_SUBJECTS_ATTRIBUTE, {}).get("L", [])),
        moment(str(waiting["since"]["S"])) if "since" in waiting else None,
    )
