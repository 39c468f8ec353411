"""The tasks API behind API Gateway HTTP API (payload v2): submit, get, list, cancel, redrive."""

from __future__ import annotations

import base64
import warnings
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared.json_encoder import Encoder
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.api import limits_routes
from functions.api.contract import (
    ACCEPTED,
    PAGE,
    RECORD,
    REDRIVEN,
    SCHEDULE,
    SCHEDULE_PAGE,
    SCHEDULE_PUT,
    TYPES,
    errors,
)
from functions.api.settings import ApiSettings
from functions.common import json_text
from functions.common.aws import answer_by, dynamodb_client, scheduler_client, sqs_client
from functions.common.clock import utc_now
from functions.common.cold_start import build_during_init, dependencies_factory
from functions.common.config import RESPONSE_RESERVE_SECONDS
from functions.common.errors import (
    ApiError,
    DependencyMisconfiguredError,
    DependencyUnavailableError,
    RouteNotFoundError,
    ServiceUnavailableError,
    TaskNotFoundError,
)
from functions.common.flow_control import CONCURRENCY_KEY_FIELD, KEY_CHARACTERS, MAX_KEY_LENGTH
from functions.common.limits_table import LimitsTable
from functions.common.models import Task
from functions.common.observability import Metric, logger, metrics, report_misconfiguration
from functions.common.recurring import ScheduleState
from functions.common.schedules_table import SchedulesTable
from functions.common.scheduling import DELAY_FIELD, MAX_DELAY_SECONDS, RUN_AT_FIELD
from functions.common.task_schedules import RecurringSchedules, TaskSchedules
from functions.common.tasks_queue import TasksQueue
from functions.common.tasks_table import TasksTable
from functions.common.workflow import console_start_ms
from functions.task_types import TASK_TYPES
from functions.task_types.registry import TaskEnvironment
from functions.usecases.operations import cancel_task, list_tasks, redrive_task, summaries_to_api
from functions.usecases.recurring import (
    delete_schedule,
    get_schedule,
    list_schedules,
    put_schedule,
    set_state,
    view,
)
from functions.usecases.submission import submit_task

# GET requests publish no metric by design; Powertools would warn on every one of them.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

# Strict JSON out (RFC 8259), a payload's numbers with every digit it was sent with; a value JSON
# cannot hold fails here instead of leaving as NaN/Infinity.
app = APIGatewayHttpResolver(serializer=partial(json_text.dumps, default=Encoder().default))


@dataclass
class Dependencies:
    settings: ApiSettings
    table: TasksTable
    queue: TasksQueue
    schedules: TaskSchedules
    environment: TaskEnvironment
    recurring: RecurringSchedules
    schedules_table: SchedulesTable
    limits: LimitsTable


@dependencies_factory
def dependencies() -> Dependencies:
    settings = ApiSettings.from_env()
    return Dependencies(
        settings=settings,
        table=TasksTable(
            dynamodb_client(settings.sdk_budget), settings.tasks_table, settings.task_retention_seconds
        ),
        queue=TasksQueue(sqs_client(settings.sdk_budget), settings.tasks_queue_url),
        schedules=TaskSchedules(
            scheduler_client(settings.sdk_budget),
            settings.schedule_group,
            settings.tasks_queue_arn,
            settings.scheduler_role_arn,
        ),
        environment=settings.task_environment(),
        recurring=RecurringSchedules(
            scheduler_client(settings.sdk_budget),
            settings.recurring_schedule_group,
            settings.tasks_queue_arn,
            settings.scheduler_role_arn,
        ),
        schedules_table=SchedulesTable(dynamodb_client(settings.sdk_budget), settings.schedules_table),
        limits=LimitsTable(dynamodb_client(settings.sdk_budget), settings.limits_table),
    )


def _error(
    status_code: int, code: str, message: str, details: dict[str, object] | None = None
) -> Response[Any]:
    return Response(
        status_code=status_code,
        content_type="application/json",
        body={"error": {"code": code, "message": message, **(details or {})}},
    )


def _api_error(exc: ApiError) -> Response[Any]:
    logger.info("request refused", extra={"code": exc.code, "status": exc.status_code})
    response = _error(exc.status_code, exc.code, exc.message, exc.details)
    if exc.status_code == 503:
        response.headers["Retry-After"] = "1"
    return response


@app.exception_handler(ApiError)
def handle_api_error(exc: ApiError) -> Response[Any]:
    return _api_error(exc)


@app.exception_handler(DependencyUnavailableError)
def handle_dependency_unavailable(exc: DependencyUnavailableError) -> Response[Any]:
    logger.warning("dependency unavailable", extra={"reason": str(exc)})
    return _api_error(ServiceUnavailableError("a dependency is busy; retry the same request"))


@app.exception_handler(DependencyMisconfiguredError)
def handle_dependency_misconfigured(exc: DependencyMisconfiguredError) -> Response[Any]:
    report_misconfiguration(exc)
    return _error(
        500,
        "MISCONFIGURED",
        "the service is misconfigured and cannot take requests; its operators are alerted",
    )


@app.exception_handler(Exception)
def handle_unexpected(exc: Exception) -> Response[Any]:
    logger.exception("unexpected error")
    return _error(500, "INTERNAL_ERROR", "the request failed unexpectedly; it is safe to retry")


@app.not_found
def handle_not_found(_: Exception) -> Response[Any]:
    error = RouteNotFoundError(f"no route for {app.current_event.http_method} {app.current_event.path}")
    return _error(error.status_code, error.code, error.message)


def _raw_body() -> bytes:
    event = app.current_event
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8", errors="surrogatepass")


@app.post(
    "/tasks",
    summary="Submit a task",
    description="Body: the task payload, a JSON object up to 200 KiB, valid for its task type "
    "('type', default 'simulated'; see GET /task-types). Optional header Idempotency-Key. "
    f"Two more top-level keys are reserved and are not part of the payload: {DELAY_FIELD} "
    f"(an integer, 0 to {MAX_DELAY_SECONDS}) or {RUN_AT_FIELD} (an RFC 3339 date-time with an offset, "
    "in the future, at most 365 days ahead), not both. A task given either is SCHEDULED until it is "
    f"due, and starts no earlier than its runAt. And {CONCURRENCY_KEY_FIELD} (1-{MAX_KEY_LENGTH} of "
    f"{KEY_CHARACTERS}): the limits on key:<it> or key:* apply to the task.",
    responses={**ACCEPTED, **errors(400, 409, 413, 503)},
    tags=["tasks"],
    operation_id="submitTask",
)
def create_task() -> Response[Any]:
    deps = dependencies()
    submission = submit_task(
        _raw_body(),
        app.current_event.headers.get("idempotency-key"),
        table=deps.table,
        queue=deps.queue,
        schedules=deps.schedules,
        clock=utc_now,
        environment=deps.environment,
    )
    task = submission.task
    logger.append_keys(taskId=task.task_id)
    if submission.created:
        metrics.add_metric(name=Metric.TASKS_SUBMITTED, unit=MetricUnit.Count, value=1)
        logger.info("task accepted", extra={"enqueued": submission.enqueued, "runAt": task.run_at})
    if not submission.enqueued:
        metrics.add_metric(name=Metric.ENQUEUE_DEFERRED, unit=MetricUnit.Count, value=1)
        logger.warning("enqueue failed; reconciliation will enqueue the task")
    accepted = {"taskId": task.task_id, "status": task.status.value}
    if task.run_at is not None:
        accepted["runAt"] = task.run_at
    return Response(
        status_code=202,
        content_type="application/json",
        body=accepted,
        headers={
            "Location": f"/tasks/{task.task_id}",
            "Idempotent-Replayed": "false" if submission.created else "true",
        },
    )


@app.get(
    "/task-types",
    summary="List the task types",
    description="Each type's name, description, JSON Schema of its body, and whether it is the default.",
    responses={**TYPES},
    tags=["tasks"],
    operation_id="listTaskTypes",
)
def list_task_types() -> dict[str, Any]:
    return {"items": TASK_TYPES.describe(dependencies().environment)}


def _public(task: Task) -> dict[str, Any]:
    """The record as the API shows it: the payload as its type lets it be seen."""
    return {**task.to_api(), "payload": TASK_TYPES.redacted(task.payload)}


@app.get(
    "/tasks/<taskId>",
    summary="Get a task",
    responses={**RECORD, **errors(404, 503)},
    tags=["tasks"],
    operation_id="getTask",
)
def get_task(taskId: str) -> dict[str, Any]:  # noqa: N803 - the contract's path parameter
    deps = dependencies()
    task = deps.table.get(taskId)
    if task is None:
        raise TaskNotFoundError(f"no task with id {taskId!r}")
    record = _public(task)
    template = deps.settings.console_url_template
    if template and task.execution_arn:
        record["consoleUrl"] = template.format(
            taskId=quote(task.task_id, safe=""),
            executionArn=task.execution_arn,
            startDate=console_start_ms(task.created_at, task.updated_at),
        )
    return record


@app.get(
    "/tasks",
    summary="List tasks by status, or a recurring schedule's tasks",
    description="Query: status, or schedule (a schedule's name: the tasks its firings submitted, "
    "newest firing first); limit (1-100, default 50), nextToken (from the previous page). "
    "Listings are eventually consistent: they read a DynamoDB global secondary index, which no read "
    "can make strongly consistent, so a task submitted or changed a moment ago may be missing or "
    "listed under its previous status for a short while (typically well under a second). "
    "GET /tasks/{taskId} is strongly consistent. Tasks past their expiresAt are not listed.",
    responses={**PAGE, **errors(400, 503)},
    tags=["operations"],
    operation_id="listTasks",
)
def list_tasks_by_status() -> dict[str, Any]:
    query = dict(app.current_event.query_string_parameters or {})
    return summaries_to_api(list_tasks(query, table=dependencies().table))


@app.delete(
    "/tasks/<taskId>",
    summary="Cancel a task that has not started (QUEUED or SCHEDULED → CANCELLED)",
    responses={**RECORD, **errors(404, 409, 503)},
    tags=["operations"],
    operation_id="cancelTask",
)
def cancel(taskId: str) -> dict[str, Any]:  # noqa: N803 - the contract's path parameter
    deps = dependencies()
    task, schedule_left = cancel_task(taskId, table=deps.table, schedules=deps.schedules, clock=utc_now)
    logger.append_keys(taskId=taskId)
    metrics.add_metric(name=Metric.TASKS_CANCELLED, unit=MetricUnit.Count, value=1)
    logger.info("task cancelled")
    if isinstance(schedule_left, DependencyMisconfiguredError):
        report_misconfiguration(schedule_left)  # loud, but the cancel itself stands
    elif schedule_left is not None:
        logger.warning(
            "its schedule could not be deleted; dispatch will skip its message",
            extra={"error": str(schedule_left)},
        )
    return _public(task)


@app.post(
    "/tasks/<taskId>/redrive",
    summary="Redrive a failed task (FAILED → QUEUED, a new run)",
    responses={**REDRIVEN, **errors(404, 409, 503)},
    tags=["operations"],
    operation_id="redriveTask",
)
def redrive(taskId: str) -> Response[Any]:  # noqa: N803 - the contract's path parameter
    deps = dependencies()
    task, enqueued = redrive_task(taskId, table=deps.table, queue=deps.queue, clock=utc_now)
    logger.append_keys(taskId=taskId)
    metrics.add_metric(name=Metric.TASKS_REDRIVEN, unit=MetricUnit.Count, value=1)
    logger.info("task redriven", extra={"run": task.runs, "enqueued": enqueued})
    return Response(
        status_code=202,
        content_type="application/json",
        body={"taskId": task.task_id, "status": task.status.value, "runs": task.runs},
        headers={"Location": f"/tasks/{task.task_id}"},
    )


@app.put(
    "/schedules/<name>",
    summary="Create or replace a recurring schedule",
    description="Body: expression (rate(value unit) or cron(6 fields), EventBridge Scheduler's syntax), "
    "timezone (IANA, default UTC; cron only), task (the body each firing submits, checked now as "
    "POST /tasks checks it, without delaySeconds or runAt), optional startAt and endAt (RFC 3339), "
    "overlap (skip, the default: a firing while the previous task is QUEUED or RUNNING submits "
    "nothing; or allow), state (ENABLED or DISABLED). The same request twice leaves one schedule. "
    "Each firing submits exactly one task, whose id is derived from the schedule and the firing's "
    "scheduled time.",
    responses={**SCHEDULE_PUT, **errors(400, 404, 413, 503)},
    tags=["schedules"],
    operation_id="putSchedule",
)
def put(name: str) -> Response[Any]:
    deps = dependencies()
    stored, created = put_schedule(
        name,
        _raw_body(),
        schedules=deps.schedules_table,
        scheduler=deps.recurring,
        environment=deps.environment,
        clock=utc_now,
    )
    logger.info("schedule stored", extra={"schedule": name, "isNew": created, "scheduleState": stored.state})
    return Response(
        status_code=201 if created else 200,
        content_type="application/json",
        body=view(stored, utc_now()),
        headers={"Location": f"/schedules/{name}"},
    )


@app.get(
    "/schedules",
    summary="List the recurring schedules",
    description="Query: limit (1-100, default 50), nextToken (from the previous page). By name.",
    responses={**SCHEDULE_PAGE, **errors(400, 503)},
    tags=["schedules"],
    operation_id="listSchedules",
)
def schedules() -> dict[str, Any]:
    query = dict(app.current_event.query_string_parameters or {})
    items, token = list_schedules(query, schedules=dependencies().schedules_table, clock=utc_now)
    return {"items": items, **({"nextToken": token} if token else {})}


@app.get(
    "/schedules/<name>",
    summary="Get a recurring schedule",
    description="With its next firings (UTC, as EventBridge Scheduler computes them), its last "
    "firing's task and status, and the last firing that submitted nothing and why.",
    responses={**SCHEDULE, **errors(400, 404, 503)},
    tags=["schedules"],
    operation_id="getSchedule",
)
def schedule(name: str) -> dict[str, Any]:
    deps = dependencies()
    return view(get_schedule(name, schedules=deps.schedules_table), utc_now(), deps.table)


@app.post(
    "/schedules/<name>/pause",
    summary="Pause a recurring schedule (state DISABLED): it fires no more until resumed",
    responses={**SCHEDULE, **errors(400, 404, 503)},
    tags=["schedules"],
    operation_id="pauseSchedule",
)
def pause_schedule(name: str) -> dict[str, Any]:
    return _set_state(name, ScheduleState.DISABLED)


@app.post(
    "/schedules/<name>/resume",
    summary="Resume a recurring schedule (state ENABLED): it fires from now on, with no catch-up "
    "of the firings it missed while paused",
    responses={**SCHEDULE, **errors(400, 404, 503)},
    tags=["schedules"],
    operation_id="resumeSchedule",
)
def resume_schedule(name: str) -> dict[str, Any]:
    return _set_state(name, ScheduleState.ENABLED)


def _set_state(name: str, state: ScheduleState) -> dict[str, Any]:
    deps = dependencies()
    stored = set_state(name, state, schedules=deps.schedules_table, scheduler=deps.recurring, clock=utc_now)
    logger.info("schedule state set", extra={"schedule": name, "scheduleState": state.value})
    return view(stored, utc_now())


@app.delete(
    "/schedules/<name>",
    summary="Delete a recurring schedule (its tasks stay)",
    responses={204: {"description": "Deleted: it fires no more"}, **errors(400, 404, 503)},
    tags=["schedules"],
    operation_id="deleteSchedule",
)
def remove_schedule(name: str) -> Response[Any]:
    deps = dependencies()
    delete_schedule(name, schedules=deps.schedules_table, scheduler=deps.recurring)
    logger.info("schedule deleted", extra={"schedule": name})
    return Response(status_code=204, body=None)  # no content, so no Content-Type


limits_routes.register(app, lambda: dependencies().limits, _raw_body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # No AWS call attempt may carry the request past the function's timeout: a busy dependency
    # is the documented 503 + Retry-After, never Lambda's timeout and API Gateway's own 5xx.
    with answer_by(context.get_remaining_time_in_millis() / 1000 - RESPONSE_RESERVE_SECONDS):
        return app.resolve(event, context)


build_during_init(dependencies)
