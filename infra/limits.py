"""Timings and AWS's limits, and the invariants between them and the functions' spec.

``check_invariants()`` runs where a stage is built (synth, the local stack) and in the tests,
never at import: a spec that breaks one fails every tool at once, not a deployment.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.common.config import INIT_READ_SECONDS, RESPONSE_RESERVE_SECONDS
from functions.common.workflow import EXPRESS_MAX_DURATION
from functions.task_types.registered import check_state_data
from functions.task_types.webhook import MAX_TIMEOUT_SECONDS as WEBHOOK_MAX_TIMEOUT_SECONDS
from infra.names import Function, Resource
from infra.spec import FUNCTIONS, ApiTrigger, WorkflowTrigger, consumer_of, trigger_of
from infra.workflow_definition import invoked_function_substitution, state_timeout_seconds, worst_case_seconds


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

    limits_cache_seconds: int = 10
    """How long a dispatcher uses the limits it read (the staleness bound of ``PUT /limits``)."""
    limit_wait_max_seconds: int = 24 * 3600
    """How long a task may wait for limits before it fails (a stage may set ``limitWaitMaxSeconds``)."""

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


def limit_lease_seconds(timings: Timings = TIMINGS) -> int:
    """A limit slot's lease: the dispatcher takes it, then starts the execution within its own
    timeout, and no Express execution runs past its limit; after both, the slot is surely free."""
    return FUNCTIONS[Function.DISPATCH].timeout_seconds + timings.express_limit_seconds


def visibility_timeout_seconds(queue: Resource, timings: Timings = TIMINGS) -> int:
    """A consumed queue's visibility timeout: the factor times its consumer's timeout."""
    return timings.visibility_factor * consumer_of(queue).timeout_seconds


def execution_worst_case_seconds() -> float:
    """The longest any execution can run (every retrier exhausted, every attempt at its Task
    state's timeout, every wait at its ceiling, then the costliest Catch path), from the ASL."""
    return worst_case_seconds()


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
    check_state_data()
    worst = execution_worst_case_seconds()
    if worst > timings.express_budget_seconds:
        raise ValueError(
            f"the worst-case execution ({worst:.0f}s) exceeds the Express limit "
            f"({timings.express_limit_seconds}s) less its margin ({timings.express_margin_seconds}s)"
        )
