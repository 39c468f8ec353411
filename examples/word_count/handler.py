"""An example of a registered task type's function: counts the words of a text.

Deploy it as a Lambda function of your own (any runtime would do; this one is Python), register
it in a stage's ``taskTypes`` and submit ``{"type": "word-count", "text": "..."}``. The local stage
runs it from this module (``localHandler``). Its two controls exist to show the contract:
``failUntilAttempt`` raises a retryable error on the attempts before it, ``reject`` raises
``PermanentTaskError`` (the task fails at once, whatever the retry policy).
"""

from __future__ import annotations

from typing import Any


class PermanentTaskError(Exception):
    """Step Functions matches errors by name: any class of this name fails the task at once."""


class NotYetError(Exception):
    """Any other error is retried by the type's retry policy."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``event``: ``taskId``, ``run``, ``attempt`` (at least once per triple), ``payload``."""
    payload = event["payload"]
    if payload.get("reject"):
        raise PermanentTaskError("the caller asked for a permanent failure")
    if event["attempt"] < payload.get("failUntilAttempt", 0):
        raise NotYetError(f"attempt {event['attempt']} fails on purpose")
    return {"words": len(payload["text"].split()), "attempt": event["attempt"]}
