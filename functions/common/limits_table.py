"""The only module that talks to the limits table.

Two kinds of item, by ``limitKey``:

- ``#limits``: every limit, a map key → ``{maxConcurrency, maxPerSecond, burst}`` (one read
  gives them all; the dispatcher caches it);
- a subject (``type:webhook``, ``host:hooks.example.com``, ``key:acme``): its slot leases
  (``holders``: ``<taskId>#<run>`` → expiry, epoch seconds), its token bucket (``tokens``,
  ``refilledAt``) and ``version``. An acquire reads the subjects' items (one strongly consistent
  BatchGetItem), decides (functions/common/flow_control.py) and writes them back conditioned
  on the versions it read: one PutItem, or one TransactWriteItems for several (all or none). A
  release removes its holder and bumps the version, so an acquire that read before it retries
  rather than bringing the slot back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from functions.common.attribute_values import plain, to_attribute, typed
from functions.common.aws import aws_errors, error_code, unless_refused
from functions.common.clock import iso
from functions.common.flow_control import MAX_LIMITS, Limit, LimitError, SlotState

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY = "limitKey"
CONFIGURATION = "#limits"
"""The configuration item's key: ``#`` is in no limit key."""
CONFLICTS = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})


class AcquireConflictError(Exception):
    """Another writer changed a subject's item since it was read: read again and decide again."""


def _number(value: float) -> Decimal:
    return Decimal(repr(value))


def _limit_attribute(limit: Limit) -> Any:
    return to_attribute(
        {
            name: _number(value) if isinstance(value, float) else value
            for name, value in limit.to_api().items()
        }
    )


def _limit(values: Mapping[str, Any]) -> Limit:
    return Limit.model_validate(
        {
            name: float(value) if name == "maxPerSecond" else int(value)
            for name, value in values.items()
            if name in ("maxConcurrency", "maxPerSecond", "burst")
        }
    )


def _state(item: Mapping[str, Any]) -> SlotState:
    values = plain(item)
    return SlotState(
        holders={str(holder): float(until) for holder, until in values.get("holders", {}).items()},
        tokens=float(values["tokens"]) if "tokens" in values else None,
        refilled_at=float(values["refilledAt"]) if "refilledAt" in values else None,
        version=int(values.get("version", 0)),
    )


@dataclass(frozen=True)
class LimitsTable:
    client: DynamoDBClient
    table_name: str

    def _key(self, key: str) -> dict[str, Any]:
        return {KEY: {"S": key}}

    def limits(self) -> dict[str, Limit]:
        """Every limit (one strongly consistent read)."""
        with aws_errors("read the limits"):
            item = self.client.get_item(
                TableName=self.table_name, Key=self._key(CONFIGURATION), ConsistentRead=True
            ).get("Item")
        configured = plain(item).get("limits", {}) if item else {}
        return {str(key): _limit(values) for key, values in configured.items()}

    def put_limit(self, key: str, limit: Limit, now: datetime) -> None:
        """Set one limit (the others untouched); LimitError when ``MAX_LIMITS`` exist already."""
        values = {":limit": _limit_attribute(limit), ":now": {"S": iso(now)}, ":max": {"N": str(MAX_LIMITS)}}
        with aws_errors(f"store limit {key}"):
            added = unless_refused(
                lambda: self.client.update_item(
                    TableName=self.table_name,
                    Key=self._key(CONFIGURATION),
                    UpdateExpression="SET limits.#key = :limit, updatedAt = :now",
                    ConditionExpression="attribute_exists(limits) AND "
                    "(attribute_exists(limits.#key) OR size(limits) < :max)",
                    ExpressionAttributeNames={"#key": key},
                    ExpressionAttributeValues=values,
                )
            )
            if added is not None:
                return
            if self.limits():
                raise LimitError(f"{MAX_LIMITS} limits exist already; delete one first")
            first = unless_refused(  # the first limit creates the item
                lambda: self.client.put_item(
                    TableName=self.table_name,
                    Item={
                        **self._key(CONFIGURATION),
                        "limits": {"M": {key: values[":limit"]}},
                        "updatedAt": values[":now"],
                    },
                    ConditionExpression="attribute_not_exists(limitKey)",
                )
            )
        if first is None:
            self.put_limit(key, limit, now)  # another first limit won the race: add to it

    def delete_limit(self, key: str, now: datetime) -> bool:
        """Remove one limit; False when there was none. Its slots' items stay: a running task
        still releases its slot, and a limit set again counts the tasks that still hold one."""
        with aws_errors(f"delete limit {key}"):
            deleted = unless_refused(
                lambda: self.client.update_item(
                    TableName=self.table_name,
                    Key=self._key(CONFIGURATION),
                    UpdateExpression="REMOVE limits.#key SET updatedAt = :now",
                    ConditionExpression="attribute_exists(limits.#key)",
                    ExpressionAttributeNames={"#key": key},
                    ExpressionAttributeValues={":now": {"S": iso(now)}},
                )
            )
        return deleted is not None

    def states(self, subjects: Iterable[str]) -> dict[str, SlotState]:
        """Each subject's item as it is now (strongly consistent); a subject without one: empty."""
        wanted = sorted(set(subjects))
        found: dict[str, SlotState] = {subject: SlotState() for subject in wanted}
        for start in range(0, len(wanted), 100):
            keys = [self._key(subject) for subject in wanted[start : start + 100]]
            while keys:
                with aws_errors("read limit states"):
                    response = self.client.batch_get_item(
                        RequestItems={self.table_name: {"Keys": keys, "ConsistentRead": True}}
                    )
                for item in response.get("Responses", {}).get(self.table_name) or ():
                    found[str(item[KEY]["S"])] = _state(item)
                unread = response.get("UnprocessedKeys", {}).get(self.table_name)
                keys = list(unread["Keys"]) if unread else []
        return found

    def _put(self, subject: str, state: SlotState) -> dict[str, Any]:
        item: dict[str, Any] = {
            **self._key(subject),
            "holders": to_attribute({holder: _number(until) for holder, until in state.holders.items()}),
            "version": {"N": str(state.version + 1)},
        }
        if state.tokens is not None and state.refilled_at is not None:
            item["tokens"] = {"N": str(_number(state.tokens))}
            item["refilledAt"] = {"N": str(_number(state.refilled_at))}
        if state.version:
            return {
                "TableName": self.table_name,
                "Item": item,
                "ConditionExpression": "version = :read",
                "ExpressionAttributeValues": {":read": {"N": str(state.version)}},
            }
        return {
            "TableName": self.table_name,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(limitKey)",
        }

    def write(self, decided: Mapping[str, SlotState]) -> None:
        """Write the subjects' new states, each only if its item is still the version read
        (several: all or none). AcquireConflictError when any changed."""
        puts = [self._put(subject, state) for subject, state in sorted(decided.items())]
        if not puts:
            return
        with aws_errors("acquire limit slots"):
            try:
                if len(puts) == 1:
                    self.client.put_item(**puts[0])
                else:
                    self.client.transact_write_items(TransactItems=[cast(Any, {"Put": put}) for put in puts])
            except ClientError as exc:
                if error_code(exc) not in CONFLICTS:
                    raise
                raise AcquireConflictError(str(exc)) from exc

    def release(self, subjects: Iterable[str], holder: str) -> None:
        """Give back ``holder``'s slot on each subject (one write each; none held: no change)."""
        for subject in sorted(set(subjects)):
            self._release(subject, holder)

    def _release(self, subject: str, holder: str) -> None:
        with aws_errors(f"release a slot of {subject}"):
            unless_refused(
                lambda: self.client.update_item(
                    TableName=self.table_name,
                    Key=self._key(subject),
                    UpdateExpression="REMOVE holders.#holder ADD version :one",
                    ConditionExpression="attribute_exists(holders.#holder)",
                    ExpressionAttributeNames={"#holder": holder},
                    ExpressionAttributeValues=typed({":one": 1}),
                )
            )
