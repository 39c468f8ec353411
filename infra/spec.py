"""The system spec: every function, its trigger, memory, timeout, grants and clients, declared once.

No CDK imports. The CDK app (``infra/``), the embedded local stack (``local/``), the tests and the
benchmarks loop over what is declared here, so AWS and this machine cannot drift apart.
Environment variable names are never typed here: each function's come from the fields of its
settings model (``functions/common/config.py``). Names live in ``infra/names.py``; timings, AWS's
limits and the invariants between them in ``infra/limits.py``; what varies by stage in
``infra/stage_config.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

from functions.api.settings import ApiSettings
from functions.common.config import Env, SdkBudget, Settings
from functions.dispatch.settings import DispatchSettings
from functions.monitor.settings import MonitorSettings
from functions.process.settings import ProcessSettings
from functions.reconcile.settings import ReconcileSettings
from infra.names import Function, Resource
from infra.workflow_definition import PROCESS_STATE


@dataclass(frozen=True)
class Grant:
    actions: tuple[str, ...]
    resource: Resource
    conditions: Mapping[str, Mapping[str, str]] | None = None
    """IAM condition operators → keys → values, e.g. whom a role may be passed to."""


@dataclass(frozen=True)
class ApiTrigger:
    """API Gateway HTTP API (payload v2): every route of the contract goes to one function;
    anything else is API Gateway's own 404."""

    routes: Mapping[str, tuple[str, ...]]
    """Path → methods: the routes CDK creates and the local HTTP API serves."""
    max_sequential_calls: int
    """The most AWS calls one request makes one after another, as the code makes them (counted per
    route and path by ``test_no_route_makes_more_aws_calls_in_a_row_than_the_spec_counts``): a
    retried large submit, the payload put refused, the record put, the payload's expiry cleared,
    the enqueue or the schedule; a cancel of a scheduled task, its two updates, a read and the
    schedule's deletion. With the function's SDK budget they must fit in its timeout, so the
    caller gets the documented 503, not API Gateway's own 5xx."""


@dataclass(frozen=True)
class QueueTrigger:
    """An SQS event-source mapping with partial batch responses (ReportBatchItemFailures)."""

    queue: Resource
    batch_size: int
    max_concurrency: int
    batching_window_seconds: int = 0


@dataclass(frozen=True)
class ScheduleTrigger:
    """An EventBridge rule, ``rate(N minutes)``: the unit EventBridge schedules in."""

    every_minutes: int


@dataclass(frozen=True)
class WorkflowTrigger:
    """Invoked by the ASL's ``lambda:invoke`` Task ``state``, whose FunctionName is the
    placeholder ``${<substitution>}``; CDK and the local stack fill it with this function's ARN."""

    state: str
    substitution: str


Trigger = ApiTrigger | QueueTrigger | ScheduleTrigger | WorkflowTrigger
AnyTrigger = TypeVar("AnyTrigger", ApiTrigger, QueueTrigger, ScheduleTrigger, WorkflowTrigger)


@dataclass(frozen=True)
class FunctionSpec:
    function: Function
    description: str
    settings: type[Settings]
    memory_mb: int
    timeout_seconds: int
    trigger: Trigger
    grants: tuple[Grant, ...]
    clients: tuple[str, ...]
    """The boto3 services its handler creates clients for (the init benchmark's floor)."""
    sdk: SdkBudget
    """Its clients' connect and read timeouts and attempts (``functions/common/aws.py``)."""
    tracing: Literal["Active", "PassThrough"] = "Active"
    """X-Ray: ``Active`` samples the invocations no upstream service decided for;
    ``PassThrough`` records only those an upstream trace sampled."""

    def environment(self, values: Mapping[str, str]) -> dict[str, str]:
        """Exactly the variables this function's settings model reads, taken from ``values``;
        a required one that ``values`` lacks is an error here, not a cold-start failure. Its SDK
        budget comes from this spec."""
        values = {**values, Env.SDK_BUDGET: self.sdk.name}
        variables = self.settings.variables()
        missing = sorted(name for name, required in variables.items() if required and name not in values)
        if missing:
            raise ValueError(f"{self.function.value}: no value for required variable(s) {missing}")
        return {name: values[name] for name in variables if name in values}


ROUTE_SCOPES: Mapping[str, str] = {
    "GET": "tasks/read",
    "POST": "tasks/write",
    "PUT": "tasks/write",
    "DELETE": "tasks/write",
}
"""With ``apiAuth=jwt``: the OAuth scope each method's routes require (reads vs. changes)."""

DISPATCH_BATCH_SIZE = 10
MONITOR_BATCH_SIZE = 10

_TABLE_WRITE = ("dynamodb:UpdateItem",)

FUNCTIONS: Mapping[Function, FunctionSpec] = {
    spec.function: spec
    for spec in (
        FunctionSpec(
            Function.API,
            "The tasks API: submit, get, list, cancel, redrive; recurring schedules",
            ApiSettings,
            # 256 MB: the API path is latency-sensitive and Lambda allots CPU with memory.
            memory_mb=256,
            # Its AWS calls' worst case plus its own work (checked below), and under API Gateway's
            # 30 s integration timeout, so a busy dependency is the documented 503.
            timeout_seconds=20,
            trigger=ApiTrigger(
                routes={
                    "/tasks": ("POST", "GET"),
                    "/tasks/{taskId}": ("GET", "DELETE"),
                    "/tasks/{taskId}/redrive": ("POST",),
                    "/task-types": ("GET",),
                    "/schedules": ("GET",),
                    "/schedules/{name}": ("PUT", "GET", "DELETE"),
                    "/schedules/{name}/pause": ("POST",),
                    "/schedules/{name}/resume": ("POST",),
                    "/limits": ("GET",),
                    "/limits/{key}": ("PUT", "GET", "DELETE"),
                },
                max_sequential_calls=4,
            ),
            grants=(
                Grant(
                    ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:BatchGetItem"),
                    Resource.TABLE,
                ),
                Grant(("dynamodb:Query",), Resource.PHASE_INDEX),
                Grant(("dynamodb:Query",), Resource.SCHEDULE_INDEX),
                Grant(
                    ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"),
                    Resource.SCHEDULES_TABLE,
                ),
                Grant(("sqs:SendMessage",), Resource.TASKS_QUEUE),
                # Flow control's routes: the limits' item, and the subjects' slots (in flight).
                Grant(
                    ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchGetItem"),
                    Resource.LIMITS_TABLE,
                ),
                # Recurring schedules: one Scheduler schedule each, in their own group.
                Grant(
                    (
                        "scheduler:CreateSchedule",
                        "scheduler:GetSchedule",
                        "scheduler:UpdateSchedule",
                        "scheduler:DeleteSchedule",
                    ),
                    Resource.RECURRING_SCHEDULES,
                ),
                # Tasks due more than 15 minutes ahead: a one-time schedule each (cancel deletes it).
                Grant(("scheduler:CreateSchedule", "scheduler:DeleteSchedule"), Resource.SCHEDULES),
                Grant(
                    ("iam:PassRole",),
                    Resource.SCHEDULER_ROLE,
                    conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
                ),
            ),
            clients=("dynamodb", "sqs", "scheduler"),
            sdk=SdkBudget.INTERACTIVE,
        ),
        FunctionSpec(
            Function.DISPATCH,
            "Tasks queue → one Express execution per message",
            DispatchSettings,
            # 128 MB here and for process, monitor and reconcile: each waits on AWS calls, so
            # more memory (and CPU) buys little time; the API keeps 256 MB for its latency.
            memory_mb=128,
            # A batch of ten StartExecution calls; the queue's visibility timeout is 6x this.
            timeout_seconds=30,
            trigger=QueueTrigger(
                Resource.TASKS_QUEUE,
                batch_size=DISPATCH_BATCH_SIZE,
                # Caps concurrent dispatchers: protects the Express StartExecution quota.
                max_concurrency=10,
                batching_window_seconds=1,
            ),
            grants=(
                Grant(("states:StartExecution",), Resource.STATE_MACHINE),
                # UpdateItem: a due SCHEDULED task is promoted to QUEUED. PutItem: a recurring
                # schedule's firing creates its task (and a large body's payload item).
                Grant(("dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"), Resource.TABLE),
                # A firing reads its schedule and claims the firing (or records why it submitted nothing).
                Grant(("dynamodb:GetItem", "dynamodb:UpdateItem"), Resource.SCHEDULES_TABLE),
                # A scheduled task's message that came early goes back with its remaining delay
                # (and a task a limit holds back, with its recheck delay).
                Grant(("sqs:SendMessage",), Resource.TASKS_QUEUE),
                # Flow control: the limits (cached), then the subjects' items read and written
                # back conditionally (TransactWriteItems when a task is subject to several).
                # (IAM authorizes a transaction's Puts as PutItem.)
                Grant(
                    ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"), Resource.LIMITS_TABLE
                ),
                # A task that waited for a limit longer than the stage allows is dead-lettered.
                Grant(("sqs:SendMessage",), Resource.DEAD_LETTER_QUEUE),
            ),
            clients=("stepfunctions", "dynamodb", "sqs"),
            sdk=SdkBudget.BACKGROUND,
            # Its executions join the submitting request's trace (the message's AWSTraceHeader):
            # an SQS-triggered invocation would start a trace of its own, a second one per task.
            tracing="PassThrough",
        ),
        FunctionSpec(
            Function.PROCESS,
            "One attempt of a task's work, under a claim",
            ProcessSettings,
            memory_mb=128,
            # The longest webhook plus the claim and the result write (checked below); the ASL's
            # ProcessTask times an attempt out at this plus Lambda's INIT limit (checked below).
            timeout_seconds=25,
            trigger=WorkflowTrigger(PROCESS_STATE, substitution="ProcessFunctionArn"),
            # GetItem: the task's payload, in its own item (functions/common/tasks_table/).
            grants=(
                Grant(("dynamodb:UpdateItem", "dynamodb:GetItem"), Resource.TABLE),
                Grant(("secretsmanager:GetSecretValue",), Resource.SIGNING_SECRET),
                # A success gives back the limit slots its execution held.
                Grant(("dynamodb:UpdateItem",), Resource.LIMITS_TABLE),
            ),
            clients=("dynamodb",),
            sdk=SdkBudget.BACKGROUND,
        ),
        FunctionSpec(
            Function.MONITOR,
            "Dead-letter queue → task records, logs and metrics",
            MonitorSettings,
            memory_mb=128,
            timeout_seconds=30,
            trigger=QueueTrigger(
                Resource.DEAD_LETTER_QUEUE, batch_size=MONITOR_BATCH_SIZE, max_concurrency=2
            ),
            grants=(
                Grant(_TABLE_WRITE, Resource.TABLE),
                # A failed execution's dead letter gives back the limit slots it held.
                Grant(("dynamodb:UpdateItem",), Resource.LIMITS_TABLE),
            ),
            clients=("dynamodb",),
            sdk=SdkBudget.BACKGROUND,
        ),
        FunctionSpec(
            Function.RECONCILE,
            "Scheduled sweep: re-drive or dead-letter tasks left QUEUED or RUNNING without an owner",
            ReconcileSettings,
            memory_mb=128,
            timeout_seconds=60,
            trigger=ScheduleTrigger(every_minutes=5),
            grants=(
                Grant(("dynamodb:UpdateItem", "dynamodb:BatchGetItem"), Resource.TABLE),
                Grant(("dynamodb:Query",), Resource.PHASE_INDEX),
                Grant(("dynamodb:Query",), Resource.DUE_INDEX),
                Grant(("sqs:SendMessage",), Resource.TASKS_QUEUE),
                Grant(("sqs:SendMessage",), Resource.DEAD_LETTER_QUEUE),
                # Whether dispatch is paused: stale QUEUED tasks are not sent again meanwhile.
                Grant(("lambda:GetEventSourceMapping",), Resource.DISPATCH_MAPPING),
            ),
            clients=("dynamodb", "sqs", "lambda"),
            sdk=SdkBudget.BACKGROUND,
        ),
    )
}

WORKFLOW_GRANTS: tuple[Grant, ...] = (
    Grant(("lambda:InvokeFunction",), Resource.PROCESS_FUNCTION),
    Grant(_TABLE_WRITE, Resource.TABLE),
    Grant(("sqs:SendMessage",), Resource.DEAD_LETTER_QUEUE),
)
"""The state machine role: the ASL's needs, stated exactly (nothing is inferred from a file)."""

SCHEDULER_GRANTS: tuple[Grant, ...] = (Grant(("sqs:SendMessage",), Resource.TASKS_QUEUE),)
"""The role EventBridge Scheduler assumes for a task's schedule or a recurring schedule: its
target's one action."""


def spec_trigger(function: Function) -> Trigger:
    return FUNCTIONS[function].trigger


def trigger_of(function: Function, kind: type[AnyTrigger]) -> AnyTrigger:
    """The spec's trigger of ``function``, which must be a ``kind``."""
    trigger = FUNCTIONS[function].trigger
    if not isinstance(trigger, kind):
        raise TypeError(f"{function.value} is triggered by {type(trigger).__name__}, not {kind.__name__}")
    return trigger


def api_routes() -> Mapping[str, tuple[str, ...]]:
    """Every route of the API contract (path → methods), all served by the api function."""
    return trigger_of(Function.API, ApiTrigger).routes


def workflow_substitutions(
    function_arns: Mapping[Function, str], table_name: str, dead_letter_queue_url: str
) -> dict[str, str]:
    """The ASL's ``${...}`` values, built once for CDK (tokens) and the local stack (ARNs) alike:
    each workflow-triggered function's ARN under its trigger's substitution, the table and the DLQ."""
    return {
        **{
            spec.trigger.substitution: function_arns[function]
            for function, spec in FUNCTIONS.items()
            if isinstance(spec.trigger, WorkflowTrigger)
        },
        "TasksTableName": table_name,
        "DeadLetterQueueUrl": dead_letter_queue_url,
    }


def consumer_of(queue: Resource) -> FunctionSpec:
    [spec] = [
        spec
        for spec in FUNCTIONS.values()
        if isinstance(spec.trigger, QueueTrigger) and spec.trigger.queue is queue
    ]
    return spec
