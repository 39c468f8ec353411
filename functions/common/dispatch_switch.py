"""The dispatch switch: the dispatcher's event-source mapping on the tasks queue.

Disabling the mapping stops Lambda from polling the queue, so messages wait there (up to the
queue's retention) and no execution starts; enabling it drains them. Lambda moves the mapping
through ``Disabling`` to ``Disabled`` (and ``Enabling`` to ``Enabled``); batches already in flight
finish. ``LastModified`` is "the date that the event source mapping was last updated or that its
state changed" (Lambda API reference, EventSourceMappingConfiguration), which is when dispatch
was paused while the state is ``Disabled``.

The operator's ``ptm pause`` and ``ptm resume`` write it; reconcile reads it, because re-sending
a QUEUED task while dispatch is paused only piles duplicates into the paused queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.common.aws import aws_errors

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

PAUSED_STATES = frozenset({"Disabling", "Disabled"})
"""States in which Lambda stops (or has stopped) polling: dispatch is paused."""


@dataclass(frozen=True)
class DispatchState:
    state: str
    """The mapping's state as Lambda reports it (Enabled, Disabling, Disabled, Enabling, ...)."""
    changed_at: datetime | None
    """When the mapping last changed (its ``LastModified``)."""

    @property
    def paused(self) -> bool:
        return self.state in PAUSED_STATES

    @property
    def paused_since(self) -> datetime | None:
        return self.changed_at if self.paused else None


class DispatchSwitch:
    def __init__(self, client: LambdaClient, mapping_id: str) -> None:
        self._client = client
        self.mapping_id = mapping_id

    def state(self) -> DispatchState:
        with aws_errors("reading the dispatch event-source mapping"):
            mapping = self._client.get_event_source_mapping(UUID=self.mapping_id)
        return _state_of(mapping)

    def pause(self) -> DispatchState:
        return self._set(enabled=False)

    def resume(self) -> DispatchState:
        return self._set(enabled=True)

    def _set(self, *, enabled: bool) -> DispatchState:
        with aws_errors("updating the dispatch event-source mapping"):
            mapping = self._client.update_event_source_mapping(UUID=self.mapping_id, Enabled=enabled)
        return _state_of(mapping)


def _state_of(mapping: Mapping[str, Any]) -> DispatchState:
    """Get and Update both answer with the mapping's configuration."""
    return DispatchState(state=str(mapping.get("State", "")), changed_at=mapping.get("LastModified"))
