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

STOPPED_STATES = frozenset({"Disabling", "Disabled"})
"""States in which Lambda stops (or has stopped) polling (the mapping's documented states are
Creating, Enabling, Enabled, Disabling, Disabled, Updating and Deleting)."""
CHANGING_STATES = frozenset({"Updating"})
"""A change in progress: whether Lambda polls through it depends on the state it left, which
the API does not report (an operator changing a paused mapping's settings sees Updating)."""


@dataclass(frozen=True)
class MappingState:
    state: str
    """The mapping's state as Lambda reports it (Enabled, Disabling, Disabled, Enabling, ...)."""
    changed_at: datetime | None
    """When the mapping last changed (its ``LastModified``)."""
    reason: str = ""
    """Its ``StateTransitionReason``: who made the last change, a user (``USER_INITIATED``; the
    emulator's "User initiated") or Lambda itself (a mapping it disabled, e.g. for lost access)."""

    @property
    def by_operator(self) -> bool:
        """The last change was a user's (an unknown reason counts as one: no alarm on a guess)."""
        reason = self.reason.strip().upper().replace(" ", "_")
        return not reason or reason.startswith("USER")

    @property
    def paused(self) -> bool:
        """Stopped by an operator (``ptm pause``)."""
        return self.state in STOPPED_STATES and self.by_operator

    @property
    def stopped_by_lambda(self) -> bool:
        """Stopped, and not by an operator: Lambda disabled the mapping (an incident, not a pause)."""
        return self.state in STOPPED_STATES and not self.by_operator

    @property
    def holds_messages(self) -> bool:
        """Whether the queue may not be consumed now: paused, stopped by Lambda, or changing.
        Reconcile sends no stale QUEUED task again then; the next sweep decides afresh."""
        return self.state in STOPPED_STATES or self.state in CHANGING_STATES

    @property
    def paused_since(self) -> datetime | None:
        return self.changed_at if self.state in STOPPED_STATES else None


class MappingSwitch:
    def __init__(self, client: LambdaClient, mapping_id: str) -> None:
        self._client = client
        self.mapping_id = mapping_id

    def state(self) -> MappingState:
        with aws_errors("reading the dispatch event-source mapping"):
            mapping = self._client.get_event_source_mapping(UUID=self.mapping_id)
        return _state_of(mapping)

    def pause(self) -> MappingState:
        return self._set(enabled=False)

    def resume(self) -> MappingState:
        return self._set(enabled=True)

    def _set(self, *, enabled: bool) -> MappingState:
        with aws_errors("updating the dispatch event-source mapping"):
            mapping = self._client.update_event_source_mapping(UUID=self.mapping_id, Enabled=enabled)
        return _state_of(mapping)


def _state_of(mapping: Mapping[str, Any]) -> MappingState:
    """Get and Update both answer with the mapping's configuration."""
    return MappingState(
        state=str(mapping.get("State", "")),
        changed_at=mapping.get("LastModified"),
        reason=str(mapping.get("StateTransitionReason") or ""),
    )
