"""Typed domain errors.

API errors carry their HTTP status and machine-readable code, so the submit handler maps
them in exactly one place. Work errors are raised by the process function; their class names
are what the state machine's Retry and Catch match on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ApiError(Exception):
    """An error the API reports to its caller as ``{"error": {"code", "message"}}``."""

    status_code = 400
    code = "BAD_REQUEST"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        """Extra fields for the error body (JSON values), e.g. ``currentStatus`` on a 409."""


class InvalidRequestError(ApiError):
    status_code = 400
    code = "INVALID_REQUEST"


class UnknownTaskTypeError(InvalidRequestError):
    """The body's ``type`` names no task type (details: ``knownTypes``)."""

    code = "UNKNOWN_TASK_TYPE"

    def __init__(self, name: object, known: list[str]) -> None:
        super().__init__(f"unknown task type {name!r}; known types: {', '.join(known)}", knownTypes=known)


class TaskTypeDisabledError(InvalidRequestError):
    """The type exists but this deployment does not run it (details: ``taskType``)."""

    code = "TASK_TYPE_DISABLED"

    def __init__(self, name: str, how: str) -> None:
        super().__init__(f"the {name} task type is not enabled on this deployment ({how})", taskType=name)


def invalid_task_payload(type_name: str, problems: Mapping[str, str]) -> InvalidRequestError:
    """The body is not valid for its task type (details: ``taskType``, ``fields``: field path,
    ``""`` for the body, → what is wrong with it)."""
    listed = "; ".join(f"{path or 'body'}: {problem}" for path, problem in problems.items())
    return InvalidRequestError(
        f"invalid {type_name} task: {listed}", taskType=type_name, fields=dict(problems)
    )


class InvalidScheduleError(InvalidRequestError):
    """``delaySeconds`` or ``runAt`` refused (details: ``fields``: the field → what is wrong)."""

    code = "INVALID_SCHEDULE"


class InvalidJsonError(InvalidRequestError):
    code = "INVALID_JSON"


class PayloadNotObjectError(InvalidRequestError):
    code = "PAYLOAD_NOT_OBJECT"


class InvalidIdempotencyKeyError(InvalidRequestError):
    code = "INVALID_IDEMPOTENCY_KEY"


class InvalidQueryError(InvalidRequestError):
    code = "INVALID_QUERY"


class InvalidNextTokenError(InvalidRequestError):
    code = "INVALID_NEXT_TOKEN"


class PayloadTooLargeError(ApiError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"


class TaskNotFoundError(ApiError):
    status_code = 404
    code = "TASK_NOT_FOUND"


class ScheduleNotFoundError(ApiError):
    status_code = 404
    code = "SCHEDULE_NOT_FOUND"


class LimitNotFoundError(ApiError):
    status_code = 404
    code = "LIMIT_NOT_FOUND"


class RouteNotFoundError(ApiError):
    status_code = 404
    code = "NOT_FOUND"


class IdempotencyConflictError(ApiError):
    status_code = 409
    code = "IDEMPOTENCY_KEY_REUSED"


class TaskNotCancellableError(ApiError):
    status_code = 409
    code = "TASK_NOT_CANCELLABLE"


class TaskNotRedrivableError(ApiError):
    status_code = 409
    code = "TASK_NOT_REDRIVABLE"


class ServiceUnavailableError(ApiError):
    """A dependency is throttling or down; the request did not take effect and may be retried."""

    status_code = 503
    code = "SERVICE_UNAVAILABLE"


class TransitionRefusedError(Exception):
    """A conditional write found the task in a state that does not allow the transition."""

    def __init__(self, task_id: str, transition: str, found: Mapping[str, Any]) -> None:
        """``found``: the item's attributes as the refused write returned them (none: no item)."""
        current_status = found.get("status")
        super().__init__(f"{transition} refused for task {task_id}: status is {current_status}")
        self.task_id = task_id
        self.transition = transition
        self.found = dict(found)
        self.current_status: str | None = current_status


class TaskAlreadyExistsError(Exception):
    """A task with this id was created before (an idempotent replay, or a conflict). Carries the
    record found (its plain attributes), which the refused write returned."""

    def __init__(self, task_id: str, existing: Mapping[str, Any]) -> None:
        super().__init__(task_id)
        self.task_id = task_id
        self.existing = dict(existing)


class DependencyUnavailableError(Exception):
    """DynamoDB, SQS or Step Functions throttled or failed after the SDK's own retries.

    The state machine retries this name with the transient-error retrier.
    """


class StartExecutionThrottledError(DependencyUnavailableError):
    """StartExecution was throttled (the Express start quota): the message comes back later.

    A throttled Express start is reported to the caller only: the state machine's
    ExecutionThrottled metric counts throttled state transitions, not refused starts, so dispatch
    counts these itself (StartExecutionThrottled) and the stack alarms on that."""


class DependencyMisconfiguredError(Exception):
    """AWS refused a call in a way no retry fixes: access denied, a missing resource, a
    validation error. Reported loudly (a 500, a failed invocation, the DependencyMisconfigured
    metric and its alarm), never as a busy dependency."""


class TaskFailedError(Exception):
    """The work failed in a way worth retrying (the state machine's backoff retrier)."""


class PermanentTaskError(Exception):
    """The work can never succeed; the state machine goes straight to Catch."""
