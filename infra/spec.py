"""The system spec: every function, trigger, timing, queue and permission, declared once.

No CDK imports. The CDK app (``infra/``), the embedded local stack (``local/``), the tests, the
benchmarks and the clients all loop over what is declared here, so AWS and this machine cannot
drift apart. Environment variable names are never typed here: each function's come from the
fields of its settings model (``functions/common/config.py``). What varies by stage lives in
``infra/stage_config.py`` and starts from the defaults below.

The invariants between timings are checked when this module is imported: a spec that breaks
one fails every tool at once, not a deployment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from functions.api.settings import ApiSettings
from functions.common.config import INIT_READ_SECONDS, RESPONSE_RESERVE_SECONDS, Env, SdkBudget, Settings
from functions.common.workflow import EXPRESS_MAX_DURATION
from functions.dispatch.settings import DispatchSettings
from functions.monitor.settings import MonitorSettings
from functions.process.settings import ProcessSettings
from functions.reconcile.settings import ReconcileSettings
from functions.task_types.webhook import MAX_TIMEOUT_SECONDS as WEBHOOK_MAX_TIMEOUT_SECONDS
from infra.workflow_definition import (
    PROCESS_STATE,
    invoked_function_substitution,
    state_timeout_seconds,
    worst_case_seconds,
)

PROJECT = "ptm"
STAGE_NAME_MAX_LENGTH = 16
"""Long enough for ``prod-eu-central1``, short enough that every name built from it fits its
service's limit (the synthesis tests build the longest stage and cfn-lint checks the names)."""
_STAGE = re.compile(rf"^[a-z][a-z0-9-]{{0,{STAGE_NAME_MAX_LENGTH - 1}}}$")
LOCAL_STAGE = "local"
LOCAL_API_PORT = 8000
LOCAL_ENDPOINT = f"http://127.0.0.1:{LOCAL_API_PORT}"
"""Where ``make local`` serves the API: the clients' default endpoint."""
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
"""What the emulator accepts (any value would do): never a real account's."""


class Function(StrEnum):
    API = "api"
    DISPATCH = "dispatch"
    PROCESS = "process"
    MONITOR = "monitor"
    RECONCILE = "reconcile"

    @property
    def handler(self) -> str:
        """The handler string: identical in Lambda, in the local stack and in the tests."""
        return f"functions.{self.value}.handler.lambda_handler"

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]

    @property
    def spec(self) -> FunctionSpec:
        return FUNCTIONS[self]


class Resource(StrEnum):
    """What a permission is granted on; each deployment (CDK, local) maps it to an ARN."""

    TABLE = "table"
    STATUS_INDEX = "status-index"
    DUE_INDEX = "due-index"
    """The sparse byRunAt index: SCHEDULED tasks by when they are due."""
    TASKS_QUEUE = "tasks-queue"
    DEAD_LETTER_QUEUE = "dead-letter-queue"
    STATE_MACHINE = "state-machine"
    PROCESS_FUNCTION = "process-function"
    DISPATCH_MAPPING = "dispatch-mapping"
    """The dispatcher's event-source mapping on the tasks queue: the dispatch switch."""
    SCHEDULES = "schedules"
    """The schedules in the stage's EventBridge Scheduler group (one per far-ahead task)."""
    SCHEDULER_ROLE = "scheduler-role"
    """The role Scheduler assumes to send a due task's message; the api passes it to Scheduler."""
    SIGNING_SECRET = "signing-secret"  # pragma: allowlist secret (a resource kind)
    """The webhook signing secret: deployed only where webhooks deliver (``webhooks=on``)."""


class Output(StrEnum):
    """The stack's outputs, by their keys: the CDK stack declares them, ``make deploy`` saves them
    (``cdk.out/outputs-<stage>.json``), ``ptm --stage`` reads them, and the local stack describes
    itself with the same keys (``/ui/info.json``)."""

    TASKS_ENDPOINT = "TasksEndpoint"
    TASKS_TABLE = "TasksTable"
    TASKS_QUEUE_URL = "TasksQueueUrl"
    DEAD_LETTER_QUEUE_URL = "DeadLetterQueueUrl"
    STATE_MACHINE_ARN = "StateMachineArn"
    SCHEDULE_GROUP = "ScheduleGroup"
    DISPATCH_MAPPING_ID = "DispatchMappingId"
    STATE_MACHINE_LOG_GROUP = "StateMachineLogGroup"
    DASHBOARD_NAME = "DashboardName"
    ALARM_TOPIC_ARN = "AlarmTopicArn"
    WEBHOOK_SIGNING_SECRET_ARN = "WebhookSigningSecretArn"  # pragma: allowlist secret (a name)
    """Only where webhooks deliver (``webhooks=on``)."""


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


@dataclass(frozen=True)
class Timings:
    lease_seconds: int = 120
    """How long a claim keeps a duplicate execution out: longer than one process invocation."""
    reconcile_after_seconds: int = 900
    """A task QUEUED (without a message) this long is enqueued again by reconcile."""
    max_rescues: int = 2
    """Times reconcile re-drives a run whose executions died before it dead-letters the task."""
    max_receive_count: int = 5
    """Deliveries of a tasks-queue message before SQS moves it to the DLQ."""
    visibility_factor: int = 6
    """A consumed queue's visibility timeout as a multiple of its consumer's timeout (AWS guidance:
    docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html)."""
    tasks_queue_retention_days: int = 7
    """How long a message waits in the tasks queue, e.g. while dispatch is paused (``ptm pause``).
    SQS's default is 4 days, short for an incident over a weekend. Kept below the DLQ's: SQS
    expires a moved message by its original enqueue time, so a DLQ must keep messages longer
    than its source queue (SQS Developer Guide, "Using dead-letter queues")."""
    dead_letter_retention_days: int = 14
    express_limit_seconds: int = int(EXPRESS_MAX_DURATION.total_seconds())
    """An Express execution's maximum duration (declared where the functions use it, for the
    console's links); past it the execution ends outside every Catch."""
    express_margin_seconds: int = 10
    """Kept between the worst-case execution and the Express limit."""
    init_limit_seconds: int = 10
    """Lambda's INIT phase may take this long, and runs outside the function's timeout
    (docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html): an attempt after a
    timeout or a crash pays it again, so the Task state's timeout is the function's plus this."""

    @property
    def express_budget_seconds(self) -> int:
        """The longest an execution may be able to run: the Express limit less the margin."""
        return self.express_limit_seconds - self.express_margin_seconds


TIMINGS = Timings()


@dataclass(frozen=True)
class AlarmThresholds:
    period_minutes: int = 5
    dead_letter_max_age_seconds: int = 3600
    process_error_rate_percent: int = 60
    """The process function fails by design (simulated failures raise): alarm only on a rate far
    above FAILURE_RATE."""
    execution_failure_percent: int = 10


ALARMS = AlarmThresholds()

ROUTE_SCOPES: Mapping[str, str] = {"GET": "tasks/read", "POST": "tasks/write", "DELETE": "tasks/write"}
"""With ``apiAuth=jwt``: the OAuth scope each method's routes require (reads vs. changes)."""

DISPATCH_BATCH_SIZE = 10
MONITOR_BATCH_SIZE = 10

_TABLE_WRITE = ("dynamodb:UpdateItem",)

FUNCTIONS: Mapping[Function, FunctionSpec] = {
    spec.function: spec
    for spec in (
        FunctionSpec(
            Function.API,
            "The tasks API: submit, get, list, cancel, redrive",
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
                },
                max_sequential_calls=4,
            ),
            grants=(
                Grant(
                    ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:BatchGetItem"),
                    Resource.TABLE,
                ),
                Grant(("dynamodb:Query",), Resource.STATUS_INDEX),
                Grant(("sqs:SendMessage",), Resource.TASKS_QUEUE),
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
                # UpdateItem: a due SCHEDULED task is promoted to QUEUED.
                Grant(("dynamodb:BatchGetItem", "dynamodb:UpdateItem"), Resource.TABLE),
                # A scheduled task's message that came early goes back with its remaining delay.
                Grant(("sqs:SendMessage",), Resource.TASKS_QUEUE),
            ),
            clients=("stepfunctions", "dynamodb", "sqs"),
            sdk=SdkBudget.BACKGROUND,
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
            grants=(Grant(_TABLE_WRITE, Resource.TABLE),),
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
                Grant(("dynamodb:Query",), Resource.STATUS_INDEX),
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
"""The role EventBridge Scheduler assumes for a task's schedule: its target's one action."""


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


def visibility_timeout_seconds(queue: Resource, timings: Timings = TIMINGS) -> int:
    """A consumed queue's visibility timeout: the factor times its consumer's timeout."""
    return timings.visibility_factor * consumer_of(queue).timeout_seconds


def execution_worst_case_seconds() -> float:
    """The longest any execution can run (every retrier exhausted, every attempt at its Task
    state's timeout, every wait at its ceiling, then the costliest Catch path), from the ASL."""
    return worst_case_seconds()


def service_name(stage: str) -> str:
    """POWERTOOLS_SERVICE_NAME, and the ``service`` dimension of every custom metric."""
    return f"{PROJECT}-{stage}"


@dataclass(frozen=True)
class StageNames:
    """Every resource is named by stage, so two stages coexist in one account (the local stack
    is the stage ``local``)."""

    stage: str

    def __post_init__(self) -> None:
        if not _STAGE.match(self.stage):
            raise ValueError(f"stage {self.stage!r} must match {_STAGE.pattern}")

    def _name(self, suffix: str) -> str:
        return f"{PROJECT}-{self.stage}-{suffix}"

    @property
    def stack(self) -> str:
        """The CloudFormation stack: ``cdk deploy`` creates it, its outputs are saved under it."""
        return f"ProcessTaskManager-{self.stage}"

    @property
    def table(self) -> str:
        return self._name("tasks")

    @property
    def tasks_queue(self) -> str:
        return self._name("tasks")

    @property
    def dead_letter_queue(self) -> str:
        return self._name("tasks-dlq")

    @property
    def state_machine(self) -> str:
        return self._name("process-task")

    @property
    def state_machine_log_group(self) -> str:
        return f"/aws/vendedlogs/states/{self._name('process-task')}"

    @property
    def schedule_group(self) -> str:
        """The stage's EventBridge Scheduler group: the delayed tasks' schedules."""
        return f"{PROJECT}-{self.stage}"

    @property
    def signing_secret(self) -> str:
        """The webhook signing secret's name in Secrets Manager."""
        return f"{PROJECT}-{self.stage}/webhook-signing-secret"

    def function(self, function: Function) -> str:
        return self._name(function.value)

    def function_log_group(self, function: Function) -> str:
        return f"/aws/lambda/{self.function(function)}"


WEBHOOK_MARGIN_SECONDS = 5
"""Kept in a process invocation after the longest webhook timeout: the claim, the result write."""
API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS = 30
"""An HTTP API answers 503 itself when its integration takes longer (docs.aws.amazon.com/apigateway/
latest/developerguide/http-api-quotas.html)."""
SQS_MAX_RETENTION_DAYS = 14
"""SQS keeps a message at most 1,209,600 s (SetQueueAttributes, MessageRetentionPeriod)."""
API_MARGIN_SECONDS = RESPONSE_RESERVE_SECONDS
"""Kept in an api invocation after its AWS calls' worst case (the api handler's own reserve)."""


def _check_answer_times(timings: Timings) -> None:
    """The api answers before API Gateway gives up; a function's INIT read fits Lambda's INIT."""
    if timings.init_limit_seconds / 2 < INIT_READ_SECONDS:
        raise ValueError(
            f"the INIT read's deadline ({INIT_READ_SECONDS:.1f}s) must leave at least half of Lambda's "
            f"INIT limit ({timings.init_limit_seconds}s) to the imports and clients"
        )
    api = FUNCTIONS[Function.API]
    answer_within = api.sdk.worst_case_seconds() * trigger_of(Function.API, ApiTrigger).max_sequential_calls
    if answer_within + API_MARGIN_SECONDS > api.timeout_seconds:
        raise ValueError(
            f"the api function's AWS calls may take {answer_within:.1f}s, which with its own work "
            f"({API_MARGIN_SECONDS}s) overruns its timeout ({api.timeout_seconds}s)"
        )
    if api.timeout_seconds >= API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS:
        raise ValueError(
            f"the api function's timeout ({api.timeout_seconds}s) must end before API Gateway's "
            f"({API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS}s)"
        )


def check_invariants(timings: Timings = TIMINGS) -> None:
    """Raise if the declared timings contradict each other or AWS's limits."""
    process = FUNCTIONS[Function.PROCESS]
    process_timeout = process.timeout_seconds
    if timings.lease_seconds <= process_timeout:
        raise ValueError(
            f"the lease ({timings.lease_seconds}s) must outlast one process invocation ({process_timeout}s)"
        )
    if process_timeout < WEBHOOK_MAX_TIMEOUT_SECONDS + WEBHOOK_MARGIN_SECONDS:
        raise ValueError(
            f"the longest webhook timeout ({WEBHOOK_MAX_TIMEOUT_SECONDS}s) leaves no time to record the "
            f"outcome within one process invocation ({process_timeout}s)"
        )
    workflow = trigger_of(Function.PROCESS, WorkflowTrigger)
    if invoked_function_substitution(workflow.state) != workflow.substitution:
        raise ValueError(f"the ASL's {workflow.state} does not invoke ${{{workflow.substitution}}}")
    state_timeout = state_timeout_seconds(workflow.state)
    if state_timeout != process_timeout + timings.init_limit_seconds:
        raise ValueError(
            f"the ASL's {workflow.state} TimeoutSeconds ({state_timeout}) must be the process function's "
            f"timeout ({process_timeout}s) plus Lambda's INIT limit ({timings.init_limit_seconds}s)"
        )
    tasks_days, dead_days = timings.tasks_queue_retention_days, timings.dead_letter_retention_days
    if not 0 < tasks_days < dead_days <= SQS_MAX_RETENTION_DAYS:
        raise ValueError(
            f"queue retention: the tasks queue's ({tasks_days} days) must be "
            f"shorter than the DLQ's ({dead_days} days), at most SQS's "
            f"{SQS_MAX_RETENTION_DAYS}"
        )
    if timings.visibility_factor < 6:
        raise ValueError("a consumed queue's visibility must be at least 6x its consumer's timeout")
    _check_answer_times(timings)
    worst = execution_worst_case_seconds()
    if worst > timings.express_budget_seconds:
        raise ValueError(
            f"the worst-case execution ({worst:.0f}s) exceeds the Express limit "
            f"({timings.express_limit_seconds}s) less its margin ({timings.express_margin_seconds}s)"
        )


check_invariants()
