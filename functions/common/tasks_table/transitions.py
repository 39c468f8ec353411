"""The tasks table's transitions: one conditional write each, on the state it starts from, so an
at-least-once duplicate (SQS redelivery, a second Express execution, a late retry) can never move
a task backwards or process it twice. Items, index, retention: docs/contributing/DATA_MODEL.md."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from functions.common.attribute_values import plain, to_attribute, typed
from functions.common.aws import aws_errors, error_code, translate
from functions.common.clock import iso, utc_now
from functions.common.errors import TaskAlreadyExistsError, TransitionRefusedError
from functions.common.models import Task, TaskStatus, TaskSummary
from functions.common.status_shards import (
    ACTIVE,
    DUE_SHARD_ATTRIBUTE,
    SHARD_ATTRIBUTE,
    phase_of,
    phase_shard,
    shard_of,
)
from functions.common.tasks_table.codec import (
    EXPIRY_ATTRIBUTE,
    WAITING_FOR_ATTRIBUTE,
    absent_or_expired,
    expired,
    fits_inline,
    new_record,
    payload_attributes,
    summary_from_item,
)
from functions.common.tasks_table.expressions import Update
from functions.common.tasks_table.index import TaskIndex
from functions.common.tasks_table.payloads import PayloadItems
from functions.common.tasks_table.retention import Retention

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


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


class TasksTable:
    """Data access for task records, one method per state transition; the listings and batch
    reads through the index are ``index``'s."""

    def __init__(self, client: DynamoDBClient, table_name: str, retention_seconds: int = 0) -> None:
        """``retention_seconds``: how long a finished task stays (0: for ever)."""
        self._client = client
        self.table_name = table_name
        self.index = TaskIndex(client, table_name)
        self.payloads = PayloadItems(client, table_name)
        self.retention = Retention(self.payloads, retention_seconds)

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
                raise TransitionRefusedError(task_id, transition, plain(old)) from exc
            raise translate(exc, f"{transition} for task {task_id}") from exc
        except BotoCoreError as exc:
            raise translate(exc, f"{transition} for task {task_id}") from exc

    def create(self, task: Task) -> None:
        """Insert a new QUEUED (or SCHEDULED) task; refuses if the id exists (idempotent replay or conflict).

        The payload goes first, so a record never points to a missing payload; a payload item
        that already exists holds this very body (its key says so) and is left as it is. A task
        past its expiry is gone: its id (an Idempotency-Key's) is free for a new task, whose
        payload item, if the old one is still there, loses the old task's expiry."""
        now = datetime.fromisoformat(task.created_at)
        record, body = new_record(task), typed(payload_attributes(task.payload))
        payload_existed = False
        if fits_inline(record, body):
            record.update(body)
        else:
            payload_existed = self.payloads.put(task, body, now)
        try:
            with self._write(task.task_id, "create", now):
                self._client.put_item(
                    TableName=self.table_name,
                    Item=record,
                    **absent_or_expired(now),
                    # A replay learns what the record holds from the refusal: no read after it.
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except TransitionRefusedError as refused:
            raise TaskAlreadyExistsError(task.task_id, refused.found) from refused
        if payload_existed:
            self.payloads.set_expiry(record, clear=True)

    def _record(self, task_id: str) -> dict[str, Any] | None:
        """The record as stored (strongly consistent), expired or not; None when there is none."""
        with aws_errors(f"get task {task_id}"):
            response = self._client.get_item(
                TableName=self.table_name, Key={"taskId": to_attribute(task_id)}, ConsistentRead=True
            )
        item = response.get("Item")
        return dict(item) if item and "status" in item else None

    def get(self, task_id: str, now: datetime | None = None) -> Task | None:
        """The task, or None when there is none or it is past its expiry."""
        item = self._record(task_id)
        if item is None or expired(item, now or utc_now()):
            return None
        return self.payloads.task(item, consistent=True)

    def _transition(
        self,
        task_id: str,
        transition: str,
        *,
        update: Update,
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
        expires = finishes and bool(self.retention.seconds)
        if expires:
            update = self.retention.finishing(update, names, values, now)
            return_item = True
        if to is not None:
            values[":to"] = to.value
            if phase_of(to.value) != ACTIVE or moves:
                update = update.setting(f"{SHARD_ATTRIBUTE} = :toShard")
                values[":toShard"] = phase_shard(to.value, shard_of(task_id))
            update = update.setting("#status = :to")
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {"taskId": to_attribute(task_id)},
            "UpdateExpression": update.expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#status": "status", **names},
            "ExpressionAttributeValues": typed(values),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if return_item:
            arguments["ReturnValues"] = "ALL_NEW"
        with self._write(task_id, transition, now):
            response: dict[str, Any] = dict(self._client.update_item(**arguments))
        if expires:
            self.retention.finished(response["Attributes"])
        return response

    def claim_for_processing(
        self, task_id: str, execution_arn: str, now: datetime, lease_until: datetime
    ) -> Task:
        """QUEUED → RUNNING, or RUNNING → RUNNING for the execution that holds the claim (a retry)
        or for any execution once the previous holder's lease has expired. Counts the attempt."""
        response = self._transition(
            task_id,
            "claim_for_processing",
            update=Update(
                (
                    "attempts = attempts + :one",
                    "executionArn = :execution",
                    "leaseExpiresAt = :lease",
                    "updatedAt = :now",
                ),
                (WAITING_FOR_ATTRIBUTE,),
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
        return self.payloads.task(response["Attributes"], consistent=False)

    def record_attempt_failure(self, task_id: str, execution_arn: str, error: str, now: datetime) -> None:
        """RUNNING → RUNNING: keeps the latest attempt's error visible while the workflow retries."""
        self._transition(
            task_id,
            "record_attempt_failure",
            update=Update(("lastError = :error", "updatedAt = :now")),
            condition="#status = :running AND executionArn = :execution",
            values={
                ":error": error,
                ":now": iso(now),
                ":running": TaskStatus.RUNNING.value,
                ":execution": execution_arn,
            },
        )

    def mark_succeeded(
        self, task_id: str, execution_arn: str, result: dict[str, Any], now: datetime, retries: int = 0
    ) -> TaskSummary:
        """RUNNING → SUCCEEDED, only for the execution holding the claim. ``retries``: invocations
        of a registered type's function under this claim before the one that returned (its claim
        counted the first), added to ``attempts``."""
        counted = ("attempts = attempts + :retries",) if retries else ()
        response = self._transition(
            task_id,
            "mark_succeeded",
            update=Update(
                ("#result = :result", "updatedAt = :now", *counted),
                ("leaseExpiresAt", "lastError", "deadLetterDue"),
            ),
            condition="#status = :running AND executionArn = :execution",
            names={"#result": "result"},
            values={
                ":result": json.dumps(result, separators=(",", ":")),
                ":now": iso(now),
                ":running": TaskStatus.RUNNING.value,
                ":execution": execution_arn,
                **({":retries": retries} if retries else {}),
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
            update=Update(("deadLetteredAt = if_not_exists(deadLetteredAt, :now)",)),
            condition="#status = :failed",
            values={":now": iso(now), ":failed": TaskStatus.FAILED.value},
            now=now,
            finishes=True,
        )

    def mark_undeliverable(self, task_id: str, error: str, cause: str, now: datetime) -> None:
        """SCHEDULED/QUEUED/RUNNING → FAILED + dead-lettered: its message exhausted its deliveries
        (or it waited for a limit too long) and no execution holds it under a live lease."""
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
            update=Update(("rescues = if_not_exists(rescues, :zero) + :one", "rescuedAt = :now")),
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
        item = plain(response["Attributes"])
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
            update=Update(
                ("#error = :error", "#cause = :cause", "updatedAt = :now", "deadLetteredAt = :now"),
                ("leaseExpiresAt", "deadLetterDue", DUE_SHARD_ATTRIBUTE),
            ),
            condition=condition,
            names={"#error": "error", "#cause": "cause"},
            values={":error": error, ":cause": cause, ":now": iso(now), **condition_values},
            to=TaskStatus.FAILED,
            now=now,
            finishes=True,
        )

    def mark_waiting(self, task_id: str, limit: str, now: datetime) -> None:
        """QUEUED → QUEUED with ``waitingFor`` {limit, since}, once: when a limit first holds it back."""
        names, since = {"#waiting": WAITING_FOR_ATTRIBUTE}, {"limit": limit, "since": iso(now)}
        update = Update(("#waiting = :waiting", "updatedAt = :now"))
        values = {":waiting": since, ":now": iso(now), ":queued": TaskStatus.QUEUED.value}
        condition = "#status = :queued AND attribute_not_exists(#waiting)"
        self._transition(
            task_id, "mark_waiting", update=update, condition=condition, names=names, values=values
        )

    def promote(self, task_id: str, now: datetime) -> None:
        """SCHEDULED → QUEUED once its ``runAt`` has come (the dispatcher, on the task's message):
        it leaves the byRunAt index and joins the ACTIVE phase."""
        self._transition(
            task_id,
            "promote",
            update=Update(("updatedAt = :now",), (DUE_SHARD_ATTRIBUTE,)),
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
            update=Update(("updatedAt = :now",), (DUE_SHARD_ATTRIBUTE,)),
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
        return self.payloads.task(response["Attributes"], consistent=True)

    def redrive(self, task_id: str, now: datetime) -> Task:
        """FAILED → QUEUED for another run: ``runs`` + 1, ``attempts`` kept, failure fields and the
        expiry cleared (the payload item's first). A task past its expiry is gone."""
        record = self._record(task_id)  # for the payload item's key; the condition decides
        if record is None:
            raise TransitionRefusedError(task_id, "redrive", {})
        self.retention.reopen(record)
        try:
            response = self._transition(
                task_id,
                "redrive",
                update=Update(
                    ("runs = if_not_exists(runs, :one) + :one", "updatedAt = :now"),
                    (
                        "deadLetteredAt",
                        "#error",
                        "#cause",
                        "lastError",
                        "leaseExpiresAt",
                        "rescues",
                        "rescuedAt",
                        "#expiry",
                    ),
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
                self.retention.finished(record)
            raise
        return self.payloads.task(response["Attributes"], consistent=True)
