"""The API's response shapes, as the OpenAPI document (docs/openapi.json) describes them."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ConfigDict, Field

from functions.common.models import CamelModel, Task, TaskStatus, TaskSummary


class TaskAccepted(CamelModel):
    task_id: str
    status: TaskStatus
    run_at: str | None = Field(default=None, description="When a SCHEDULED task runs (RFC 3339, UTC)")


class RedriveAccepted(CamelModel):
    task_id: str
    status: TaskStatus
    runs: int


class TaskRecord(Task):
    """``GET /tasks/{taskId}``: the record (a webhook's header values read ``[redacted]``);
    absent fields are omitted."""

    console_url: str | None = Field(
        default=None, description="Where to see the execution (console or local view)"
    )


class TaskPage(CamelModel):
    items: list[TaskSummary]
    next_token: str | None = Field(default=None, description="Opaque; pass it back to get the next page")


_TASK_TYPE = "On an invalid body: the task type it was checked as"
_FIELDS = "On an invalid body: each offending field's path and what is wrong with it"
_KNOWN_TYPES = "On UNKNOWN_TASK_TYPE: the types there are"


class ContractModel(BaseModel):
    """A documented shape only (the OpenAPI document): built when the document is, not at the
    function's cold start."""

    model_config = ConfigDict(defer_build=True)


class ErrorDetail(ContractModel):
    code: str
    message: str
    currentStatus: TaskStatus | None = Field(default=None, description="On 409: the task's status")  # noqa: N815
    taskType: str | None = Field(default=None, description=_TASK_TYPE)  # noqa: N815
    fields: dict[str, str] | None = Field(default=None, description=_FIELDS)
    knownTypes: list[str] | None = Field(default=None, description=_KNOWN_TYPES)  # noqa: N815


class TaskTypeInfo(ContractModel):
    name: str
    description: str
    default: bool = Field(description="Whether a body without a type is of this type")
    enabled: bool = Field(description="Whether this deployment runs the type (webhooks are opt-in)")
    schema_: dict[str, Any] = Field(alias="schema", description="JSON Schema of the task's body")


class TaskTypeList(ContractModel):
    items: list[TaskTypeInfo]


class ErrorBody(ContractModel):
    error: ErrorDetail


Responses = dict[int, OpenAPIResponse]


def _json(model: type[BaseModel], description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": model}}}


def errors(*statuses: int) -> Responses:
    meaning = {
        400: "Bad input: not JSON, not an object, an unknown task type or a body its type refuses, "
        "an invalid delaySeconds or runAt (INVALID_SCHEDULE, naming the field), an invalid "
        "Idempotency-Key, query or token",
        404: "No such task, schedule or limit (or route)",
        409: "Conflict: Idempotency-Key reused with another body, or the task's status forbids it",
        413: "Body over 200 KiB",
        503: "A dependency is throttling; retry the same request (Retry-After)",
    }
    return {status: _json(ErrorBody, meaning[status]) for status in statuses}


ACCEPTED: Responses = {
    202: _json(TaskAccepted, "Accepted (or replayed for the same Idempotency-Key and body)")
}
REDRIVEN: Responses = {202: _json(RedriveAccepted, "Queued again for a new run")}
RECORD: Responses = {200: _json(TaskRecord, "The task record")}
PAGE: Responses = {200: _json(TaskPage, "Tasks with this status, newest first (by createdAt)")}
TYPES: Responses = {200: _json(TaskTypeList, "The task types this deployment runs")}


class LastFiring(ContractModel):
    scheduledTime: str  # noqa: N815
    taskId: str  # noqa: N815
    status: TaskStatus | None = Field(
        default=None, description="The task's status now (absent once it expired)"
    )


class LastSkipped(ContractModel):
    scheduledTime: str  # noqa: N815
    reason: str


class ScheduleView(ContractModel):
    name: str
    expression: str
    timezone: str
    task: dict[str, Any] = Field(description="The body each firing submits (header values redacted)")
    overlap: str = Field(description="skip or allow")
    state: str = Field(description="ENABLED or DISABLED")
    startAt: str | None = None  # noqa: N815
    endAt: str | None = None  # noqa: N815
    createdAt: str  # noqa: N815
    updatedAt: str  # noqa: N815
    nextFirings: list[str] = Field(description="The coming firings, UTC (none while DISABLED)")  # noqa: N815
    skippedFirings: int = Field(description="Firings that submitted nothing (overlap, disabled, refused)")  # noqa: N815
    lastFiring: LastFiring | None = None  # noqa: N815
    lastSkipped: LastSkipped | None = None  # noqa: N815


class SchedulePage(ContractModel):
    items: list[ScheduleView]
    nextToken: str | None = None  # noqa: N815


SCHEDULE: Responses = {200: _json(ScheduleView, "The schedule")}
SCHEDULE_PUT: Responses = {
    200: _json(ScheduleView, "Replaced (or the same again)"),
    201: _json(ScheduleView, "Created"),
}
SCHEDULE_PAGE: Responses = {200: _json(SchedulePage, "Schedules, by name")}


class LimitView(ContractModel):
    key: str
    maxConcurrency: int | None = Field(default=None, description="Tasks in flight at once")  # noqa: N815
    maxPerSecond: float | None = Field(default=None, description="Execution starts per second")  # noqa: N815
    burst: int | None = Field(default=None, description="The token bucket's size (starts)")
    governedBy: str | None = Field(  # noqa: N815
        default=None, description="A caller key without its own limit: key:*, whose limit applies"
    )
    inFlight: int | None = Field(  # noqa: N815
        default=None, description="Tasks holding a slot now (with maxConcurrency)"
    )


class LimitList(ContractModel):
    items: list[LimitView]


LIMIT: Responses = {200: _json(LimitView, "The limit")}
LIMIT_PUT: Responses = {200: _json(LimitView, "Replaced"), 201: _json(LimitView, "Created")}
LIMIT_PAGE: Responses = {200: _json(LimitList, "Every limit, by key")}
