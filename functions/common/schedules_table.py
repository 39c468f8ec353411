"""The only module that talks to the schedules table: one item per recurring schedule, by name.

The item is the schedule's one source of truth: its definition (what ``PUT /schedules/{name}``
stored, the task body as JSON text so every number keeps its digits) and what its firings did.
A firing claims its scheduled time with one conditional write (``claim_firing``), which is what
makes ``overlap: skip`` hold across concurrent dispatchers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.common.attribute_values import plain, to_attribute, typed
from functions.common.aws import aws_errors, unless_refused
from functions.common.clock import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY = "name"
DEFINITION = ("expression", "timezone", "task", "overlap", "state", "startAt", "endAt")
"""The attributes a PUT sets (``startAt``/``endAt`` removed when not given)."""


@dataclass(frozen=True)
class StoredSchedule:
    """A schedule's item, read back."""

    name: str
    expression: str
    timezone: str
    task: str
    """The task's body, JSON text."""
    overlap: str
    state: str
    created_at: str
    updated_at: str
    anchor: str
    """When its expression last took effect (a rate counts its periods from here, or startAt)."""
    start_at: str | None = None
    end_at: str | None = None
    last_scheduled_time: str | None = None
    last_task_id: str | None = None
    last_skipped_time: str | None = None
    last_skip_reason: str | None = None
    skipped_firings: int = 0

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> StoredSchedule:
        values = plain(item)
        return cls(
            name=str(values["name"]),
            expression=str(values["expression"]),
            timezone=str(values["timezone"]),
            task=str(values["task"]),
            overlap=str(values["overlap"]),
            state=str(values["state"]),
            created_at=str(values["createdAt"]),
            updated_at=str(values["updatedAt"]),
            anchor=str(values.get("anchor", values["updatedAt"])),
            start_at=values.get("startAt"),
            end_at=values.get("endAt"),
            last_scheduled_time=values.get("lastScheduledTime"),
            last_task_id=values.get("lastTaskId"),
            last_skipped_time=values.get("lastSkippedTime"),
            last_skip_reason=values.get("lastSkipReason"),
            skipped_firings=int(values.get("skippedFirings", 0)),
        )


class SchedulesTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    def _key(self, name: str) -> dict[str, Any]:
        return {KEY: to_attribute(name)}

    def get(self, name: str) -> StoredSchedule | None:
        with aws_errors(f"read schedule {name}"):
            item = self._client.get_item(
                TableName=self.table_name, Key=self._key(name), ConsistentRead=True
            ).get("Item")
        return StoredSchedule.from_item(dict(item)) if item else None

    def put(
        self, name: str, definition: dict[str, Any], *, anchor_moved: bool, now: datetime
    ) -> tuple[StoredSchedule, bool]:
        """Create or replace the definition (its firings' history stays): the schedule as stored,
        and whether it is new. ``anchor_moved``: its Scheduler schedule was created or changed
        now, so a rate counts its periods from ``now``."""
        sets = [f"#{field} = :{field}" for field in definition if definition[field] is not None]
        removes = [f"#{field}" for field in DEFINITION if definition.get(field) is None]
        sets += ["updatedAt = :now", "createdAt = if_not_exists(createdAt, :now)"]
        sets.append("anchor = :now" if anchor_moved else "anchor = if_not_exists(anchor, :now)")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        with aws_errors(f"store schedule {name}"):
            response = self._client.update_item(
                TableName=self.table_name,
                Key=self._key(name),
                UpdateExpression=expression,
                ExpressionAttributeNames={f"#{field}": field for field in DEFINITION},
                ExpressionAttributeValues=typed(
                    {
                        **{f":{field}": value for field, value in definition.items() if value is not None},
                        ":now": iso(now),
                    }
                ),
                ReturnValues="ALL_NEW",
            )
        stored = StoredSchedule.from_item(dict(response["Attributes"]))
        return stored, stored.created_at == iso(now)

    def set_state(self, name: str, state: str, now: datetime) -> StoredSchedule | None:
        """ENABLED or DISABLED, from ``now`` (a rate counts its periods from here again); None
        when there is no such schedule."""
        with aws_errors(f"set the state of schedule {name}"):
            response = unless_refused(
                lambda: self._client.update_item(
                    TableName=self.table_name,
                    Key=self._key(name),
                    UpdateExpression="SET #state = :state, updatedAt = :now, anchor = :now",
                    ConditionExpression="attribute_exists(#key)",
                    ExpressionAttributeNames={"#state": "state", "#key": KEY},
                    ExpressionAttributeValues=typed({":state": state, ":now": iso(now)}),
                    ReturnValues="ALL_NEW",
                )
            )
        return None if response is None else StoredSchedule.from_item(dict(response["Attributes"]))

    def delete(self, name: str) -> bool:
        """False when there was no such schedule."""
        with aws_errors(f"delete schedule {name}"):
            response = self._client.delete_item(
                TableName=self.table_name, Key=self._key(name), ReturnValues="ALL_OLD"
            )
        return bool(response.get("Attributes"))

    def list(self, limit: int, after: str | None = None) -> tuple[list[StoredSchedule], str | None]:
        """A page of schedules (a Scan: the table holds schedules only), and the name to go on after."""
        scan: dict[str, Any] = {"TableName": self.table_name, "Limit": limit, "ConsistentRead": True}
        if after is not None:
            scan["ExclusiveStartKey"] = self._key(after)
        with aws_errors("list schedules"):
            response = self._client.scan(**scan)
        items = [StoredSchedule.from_item(dict(item)) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return sorted(items, key=lambda item: item.name), (str(last[KEY]["S"]) if last else None)

    def claim_firing(
        self,
        name: str,
        scheduled: str,
        task_id: str,
        *,
        previous_task: str | None,
        exclusive: bool,
        now: datetime,
    ) -> bool:
        """Make ``scheduled`` the schedule's latest firing, submitting ``task_id``: only if the
        schedule exists and no later (or this very) firing was claimed, and, when ``exclusive``
        (overlap: skip), only if its last task is still ``previous_task`` (the one the caller saw
        finished). False when refused."""
        condition = (
            "attribute_exists(#key) AND (attribute_not_exists(lastScheduledTime) OR lastScheduledTime < :t)"
        )
        values: dict[str, Any] = {":t": scheduled, ":id": task_id, ":now": iso(now)}
        if exclusive:
            if previous_task is None:
                condition += " AND attribute_not_exists(lastTaskId)"
            else:
                condition += " AND lastTaskId = :previous"
                values[":previous"] = previous_task
        with aws_errors(f"claim a firing of schedule {name}"):
            claimed = unless_refused(
                lambda: self._client.update_item(
                    TableName=self.table_name,
                    Key=self._key(name),
                    UpdateExpression="SET lastScheduledTime = :t, lastTaskId = :id, lastFiredAt = :now",
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#key": KEY},
                    ExpressionAttributeValues=typed(values),
                )
            )
        return claimed is not None

    def record_skip(self, name: str, scheduled: str, reason: str, now: datetime) -> None:
        """Say on the schedule that a firing submitted nothing, and why (a schedule deleted
        meanwhile is left deleted)."""
        with aws_errors(f"record a skipped firing of schedule {name}"):
            unless_refused(
                lambda: self._client.update_item(
                    TableName=self.table_name,
                    Key=self._key(name),
                    UpdateExpression="SET lastSkippedTime = :t, lastSkipReason = :r, lastFiredAt = :now "
                    "ADD skippedFirings :one",
                    ConditionExpression="attribute_exists(#key)",
                    ExpressionAttributeNames={"#key": KEY},
                    ExpressionAttributeValues=typed(
                        {":t": scheduled, ":r": reason, ":now": iso(now), ":one": 1}
                    ),
                )
            )
