"""``ptm pause`` / ``ptm resume`` and the dispatch line of ``ptm info``: the dispatch switch
(``functions/common/mapping_switch.py``) of a deployment, and what a pause risks.

While dispatch is paused, tasks wait as messages in the tasks queue. SQS deletes a message once
it is older than the queue's retention period; the task's record stays QUEUED, and reconcile sends
it again after ``ptm resume`` (at most ``SWEEP_LIMIT`` tasks a sweep). So a pause longer than the
retention loses no task, but delays the oldest ones by a few sweeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.common.mapping_switch import MappingState, MappingSwitch
from functions.usecases.reconciliation import SWEEP_LIMIT
from infra.names import Output
from infra.stage_config import DAY_SECONDS
from ptm.deployment import Deployment

SETTLED = {"pause": "Disabled", "resume": "Enabled"}
"""The state Lambda reaches once a pause (or a resume) has taken effect."""


class NoSwitchError(RuntimeError):
    """The deployment does not name its dispatch mapping."""


def switch_of(deployment: Deployment) -> MappingSwitch:
    mapping_id = deployment.outputs.get(Output.DISPATCH_MAPPING_ID)
    if not mapping_id:
        raise NoSwitchError(
            f"this deployment has no {Output.DISPATCH_MAPPING_ID} output: redeploy it (make deploy) "
            "with this version"
        )
    return MappingSwitch(deployment.client("lambda"), str(mapping_id))


def retention_seconds(deployment: Deployment) -> int | None:
    """The tasks queue's message retention, as the queue reports it (None without the queue)."""
    url = deployment.outputs.get(Output.TASKS_QUEUE_URL)
    if not url:
        return None
    attributes = deployment.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["MessageRetentionPeriod"]
    )["Attributes"]
    return int(attributes["MessageRetentionPeriod"])


def settle(
    change: Callable[[], MappingState],
    read: Callable[[], MappingState],
    target: str,
    wait_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> MappingState:
    """Make the change, then read the state until it is ``target`` or ``wait_seconds`` pass (Lambda
    moves a mapping through Disabling or Enabling first)."""
    state = change()
    deadline = time.monotonic() + wait_seconds
    while state.state != target and time.monotonic() < deadline:
        sleep(1.0)
        state = read()
    return state


@dataclass(frozen=True)
class PauseReport:
    state: MappingState
    retention_seconds: int | None
    now: datetime

    def as_json(self) -> dict[str, Any]:
        since = self.state.paused_since
        body: dict[str, Any] = {
            "state": self.state.state,
            "paused": self.state.paused,
            "stoppedByLambda": self.state.stopped_by_lambda,
            "reason": self.state.reason or None,
            "pausedSince": since.isoformat() if since else None,
            "queueRetentionSeconds": self.retention_seconds,
        }
        if since and self.retention_seconds:
            body["messagesExpireFrom"] = (since + timedelta(seconds=self.retention_seconds)).isoformat()
        return body

    def lines(self) -> list[str]:
        state = self.state
        retention = self.retention_seconds
        keeps = f"{_duration(retention)}" if retention else "its retention period"
        since = state.paused_since
        if since is None:
            return [f"dispatch runs ({state.state})", f"the tasks queue keeps a message {keeps}"]
        ago = _duration((self.now - since).total_seconds())
        paused_for = f" since {since:%Y-%m-%d %H:%M:%S %Z} ({ago} ago)"
        if state.stopped_by_lambda:
            lines = [
                f"warning: dispatch STOPPED BY LAMBDA ({state.state}: {state.reason}){paused_for}: new "
                "tasks wait in the queue; fix the cause (the dispatch function's role, the queue), "
                "then `ptm resume`"
            ]
        else:
            lines = [f"dispatch PAUSED ({state.state}){paused_for}: new tasks wait in the queue"]
        if since and retention:
            expiry = since + timedelta(seconds=retention)
            left = (expiry - self.now).total_seconds()
            when = f"in {_duration(left)}" if left > 0 else f"{_duration(-left)} ago"
            lines.append(
                f"warning: the tasks queue keeps a message {keeps}: from {expiry:%Y-%m-%d %H:%M %Z} "
                f"({when}) SQS deletes the messages queued since the pause. Their tasks stay QUEUED, "
                f"and reconcile sends them again after `ptm resume`, {SWEEP_LIMIT} a sweep"
            )
        return lines


def report(
    deployment: Deployment, state: MappingState | None = None, now: datetime | None = None
) -> PauseReport:
    """``state``: the switch's, when the caller has just read it (``ptm pause`` after settling)."""
    return PauseReport(
        state=state or switch_of(deployment).state(),
        retention_seconds=retention_seconds(deployment),
        now=now or datetime.now(UTC),
    )


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, DAY_SECONDS)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"
