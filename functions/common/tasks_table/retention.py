"""How long a finished task stays: a finishing transition gives the record an ``expiresAt``
(DynamoDB TTL) ``seconds`` ahead, then gives its payload item the same; a redrive takes the
payload item's away first, then the record's. Either order leaves the payload outliving its
record when the second write fails, never the reverse (docs/contributing/DATA_MODEL.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.common.errors import DependencyUnavailableError
from functions.common.tasks_table.codec import EXPIRY_ATTRIBUTE
from functions.common.tasks_table.expressions import Update
from functions.common.tasks_table.payloads import PayloadItems


@dataclass(frozen=True)
class Retention:
    payloads: PayloadItems
    seconds: int
    """0: a finished task stays for ever."""

    def finishing(
        self, update: Update, names: dict[str, str], values: dict[str, Any], now: datetime
    ) -> Update:
        """A finishing transition's update with the record's expiry (kept if it has one)."""
        if not self.seconds:
            return update
        names["#expiry"] = EXPIRY_ATTRIBUTE
        values[":expiry"] = int(now.timestamp()) + self.seconds
        return update.setting("#expiry = if_not_exists(#expiry, :expiry)")

    def finished(self, record: Mapping[str, Any]) -> None:
        """After a finishing transition: the payload item expires with its record. A failure here
        leaves the payload item unexpired (it outlives its record), so it is logged, not raised:
        the task's transition stands."""
        try:
            self.payloads.set_expiry(record)
        except DependencyUnavailableError as exc:
            # Imported here: the Logger reads its service name when first imported, and the local
            # stack and the benchmarks import this module before they set it.
            from functions.common.observability import logger  # noqa: PLC0415

            logger.warning(
                "the payload item keeps no expiry", extra={"taskId": record["taskId"]["S"], "error": str(exc)}
            )

    def reopen(self, record: Mapping[str, Any]) -> None:
        """Before a finished task runs again: its payload item loses its expiry first."""
        if EXPIRY_ATTRIBUTE in record:  # a record without one has a payload item without one
            self.payloads.set_expiry(record, clear=True)
