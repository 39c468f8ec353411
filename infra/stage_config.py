"""What varies by stage, read from CDK context (``cdk.json`` defaults, ``--context key=value``).

Every field can be set by context under its camelCase name (``dispatch_max_concurrency`` →
``--context dispatchMaxConcurrency=5``); a test walks the fields. Defaults come from the system
spec (``infra/spec.py``); no CDK import here, so the local stack builds its stage from the same
class.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, Protocol

from functions.common.config import METRICS_NAMESPACE, Env
from functions.task_types.webhook import MAX_TIMEOUT_SECONDS as WEBHOOK_MAX_TIMEOUT_SECONDS
from infra.generated_workflow import ProcessShape, file_process_shape, generate, process_arithmetic
from infra.limits import ALARMS, TIMINGS, WEBHOOK_MARGIN_SECONDS, check_invariants, limit_lease_seconds
from infra.names import Function, StageNames, service_name
from infra.spec import (
    FUNCTIONS,
    FunctionSpec,
    QueueTrigger,
    ScheduleTrigger,
    Trigger,
    spec_trigger,
    trigger_of,
)
from infra.task_type_options import RegisteredTypes
from infra.workflow_definition import PROCESS_STATE, worst_case_seconds

PRODUCTION_TASK_RETENTION_DAYS = 30
TASK_RETENTION_DAYS = 7
DAY_SECONDS = 86_400


class ApiAuth(StrEnum):
    NONE = "none"
    """No authorization: anyone who finds the URL may call every route. Synth warns."""
    IAM = "iam"
    """SigV4 on every route (the default): callers need ``execute-api:Invoke`` on the API."""
    JWT = "jwt"
    """An HTTP API JWT authorizer (issuer and audience by context); scopes per route."""


class Toggle(StrEnum):
    ON = "on"
    OFF = "off"


class WorkflowLogLevel(StrEnum):
    ALL = "ALL"
    ERROR = "ERROR"
    FATAL = "FATAL"
    OFF = "OFF"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class SystemLogLevel(StrEnum):
    """Lambda's own log lines (START, END, REPORT and platform errors): Lambda's levels."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARN = "WARN"


class Context(Protocol):
    """What ``constructs.Node`` offers for reading context."""

    def try_get_context(self, key: str) -> Any: ...


class StageConfigError(ValueError):
    """A stage setting that breaks a rule: one line naming the setting, its value and the rule."""

    def __init__(self, field_name: str, value: Any, rule: str) -> None:
        self.field_name = field_name
        self.value = value
        self.rule = rule
        super().__init__(f"context {StageConfig.context_key(field_name)}={value!r}: {rule}")


@dataclass(frozen=True)
class _Rule:
    field_name: str
    holds: Callable[[Any], bool]
    rule: str


_FILE_PROCESS = file_process_shape(FUNCTIONS[Function.PROCESS].timeout_seconds)
_PROCESS_MIN_SECONDS = int(WEBHOOK_MAX_TIMEOUT_SECONDS + WEBHOOK_MARGIN_SECONDS)

_RULES = (
    _Rule(
        "reconcile_every_minutes",
        lambda minutes: minutes >= 1,
        "at least 1 (EventBridge schedules rate(N minutes) in whole minutes)",
    ),
    _Rule(
        "max_receive_count",
        lambda count: 1 <= count <= 1000,
        "from 1 to 1000 (an SQS redrive policy's maxReceiveCount)",
    ),
    _Rule(
        "dispatch_max_concurrency",
        lambda concurrency: 2 <= concurrency <= 1000,
        "from 2 to 1000 (an SQS event source's MaximumConcurrency)",
    ),
    _Rule(
        "dispatch_batching_window_seconds",
        lambda seconds: 0 <= seconds <= 300,
        "from 0 to 300 (an SQS event source's MaximumBatchingWindowInSeconds)",
    ),
    _Rule("failure_rate", lambda rate: 0 <= rate <= 1, "from 0 to 1 (a fraction of attempts)"),
    _Rule("api_rate_limit", lambda rate: rate >= 1, "at least 1 (requests per second)"),
    _Rule("api_burst_limit", lambda burst: burst >= 1, "at least 1 (requests)"),
    _Rule("log_retention_days", lambda days: days >= 1, "at least 1 (days)"),
    _Rule(
        "task_retention_days",
        lambda days: days is None or 0 <= days <= 3650,
        "from 0 (keep tasks for ever) to 3650 days",
    ),
    _Rule(
        "process_timeout_seconds",
        lambda seconds: (
            seconds >= _PROCESS_MIN_SECONDS and seconds + TIMINGS.init_limit_seconds < TIMINGS.lease_seconds
        ),
        f"from {_PROCESS_MIN_SECONDS} (the longest webhook and its result) to "
        f"{TIMINGS.lease_seconds - TIMINGS.init_limit_seconds - 1} (with INIT, within a claim's "
        f"{TIMINGS.lease_seconds} s lease)",
    ),
    _Rule(
        "limit_wait_max_seconds",
        lambda seconds: 60 <= seconds <= 30 * 24 * 3600,
        "from 60 to 2592000 (30 days)",
    ),
    _Rule("process_memory_mb", lambda mb: 128 <= mb <= 10240, "from 128 to 10240 (Lambda's memory range)"),
    _Rule("process_retries", lambda retries: 0 <= retries <= 10, "from 0 to 10"),
    _Rule("process_transient_retries", lambda retries: 0 <= retries <= 10, "from 0 to 10"),
    _Rule(
        "execution_failure_alarm_percent",
        lambda percent: 1 <= percent <= 100,
        "from 1 to 100 (a percentage of executions)",
    ),
)
"""AWS's documented ranges (and plain sense) for the numbers a stage may override: synth and the
local stack refuse a value outside them in one line, before CloudFormation or jsii would."""


@dataclass(frozen=True)
class StageConfig:
    stage: str = "dev"
    production: bool = False
    """Declared in the stage's file (``stages/<stage>.json``, infra/stage_options.py), never read
    from the name: a retained table, DLQ, secret and schedule group, execution data off, WARNING
    logs, 30-day task retention, simulation controls off."""
    api_auth: ApiAuth = ApiAuth.IAM
    """Every route authorized on every stage (SigV4); ``jwt`` or, flagged at synth, ``none``."""
    jwt_issuer: str | None = None
    """``apiAuth=jwt``: the token issuer's URL (e.g. a Cognito user pool's
    ``https://cognito-idp.<region>.amazonaws.com/<pool id>``)."""
    jwt_audience: tuple[str, ...] = ()
    """``apiAuth=jwt``: the accepted ``aud`` (or ``client_id``) values, comma-separated."""
    webhooks: Toggle = Toggle.OFF
    """Whether the webhook task type may deliver (WEBHOOKS_ENABLED). Off on AWS unless the
    deployer turns it on: an API that takes webhooks relays POSTs from your account."""
    allow_simulation: Toggle | None = None
    """Whether the API takes a simulated task's ``simulate`` (test controls that make attempts
    fail, crash or run to their timeout: any caller could burn the stage's time with them;
    ALLOW_SIMULATION). Default: on, except on production stages. The random failures of
    ``failureRate`` are not controls: they stay."""
    cors_origins: tuple[str, ...] = ()
    """CORS stays off unless origins are given (comma-separated in context)."""
    api_rate_limit: int = 200
    api_burst_limit: int = 400
    max_receive_count: int = TIMINGS.max_receive_count
    dispatch_max_concurrency: int = trigger_of(Function.DISPATCH, QueueTrigger).max_concurrency
    dispatch_batching_window_seconds: int = trigger_of(
        Function.DISPATCH, QueueTrigger
    ).batching_window_seconds
    workflow_log_level: WorkflowLogLevel = WorkflowLogLevel.ALL
    """ALL is what the console needs to list Express executions and draw their graphs."""
    workflow_execution_data: Toggle | None = None
    """Whether the workflow's log events carry each state's input and output (the console's
    per-state input/output panes). Default: on, except on production stages, where every event
    and the graph stay and the panes go empty (a task's result and errors stay on its record):
    the data is most of the log volume (docs/BENCHMARKS.md)."""
    function_log_level: LogLevel | None = None
    """The functions' log level (POWERTOOLS_LOG_LEVEL). Default: INFO, except WARNING on
    production stages (failed attempts, refusals and errors still log; metrics are unaffected)."""
    function_system_log_level: SystemLogLevel | None = None
    """Lambda's own lines per invocation (START, END, REPORT; advanced logging controls, JSON
    format). Default: INFO, except WARN on production stages: ~330 bytes an invocation fewer;
    Lambda's Duration, Errors and Throttles metrics stay, and platform errors (a timeout, a
    crash) still log. The application level stays INFO at Lambda, so the functions' EMF metric
    lines pass; ``functionLogLevel`` filters the functions' own lines."""
    log_retention_days: int = 30
    task_retention_days: int | None = None
    """How long a finished task (SUCCEEDED, FAILED, CANCELLED) stays before DynamoDB's TTL deletes
    its record and its payload. Default: 30 days on production stages, 7 elsewhere; 0 keeps tasks
    for ever."""
    failure_rate: float = 0.3
    """FAILURE_RATE of the simulated work."""
    powertools_version: str = "3.37.0"
    powertools_layer_arn: str | None = None
    """The Powertools layer's ARN, for a region where Powertools publishes no SSM parameter
    (it publishes them only in the regions its release lists); otherwise resolved from
    ``/aws/service/powertools/python/arm64/python3.14/<powertools_version>`` at deploy time."""
    webhook_allowed_hosts: str = ""
    """WEBHOOK_ALLOWED_HOSTS: comma-separated hosts the webhook type may reach whatever their
    address or scheme (an internal receiver); empty, only public https targets."""
    webhook_allowed_hosts_only: Toggle = Toggle.OFF
    """``on``: webhooks reach the ``webhookAllowedHosts`` and nowhere else
    (WEBHOOK_ALLOWED_HOSTS_ONLY)."""
    reconcile_every_minutes: int = trigger_of(Function.RECONCILE, ScheduleTrigger).every_minutes
    alarm_email: str | None = None
    execution_failure_alarm_percent: int = ALARMS.execution_failure_percent
    process_timeout_seconds: int = FUNCTIONS[Function.PROCESS].timeout_seconds
    """The process function's timeout (the built-in types' attempt); ProcessTask waits this plus
    Lambda's INIT limit."""
    process_memory_mb: int = FUNCTIONS[Function.PROCESS].memory_mb
    process_retries: int = _FILE_PROCESS.retries
    """Retries of a built-in task's own retryable failure (``TaskFailedError``), with the file's
    backoff; default, the ASL file's."""
    process_transient_retries: int = _FILE_PROCESS.transient_retries
    """Retries of transient failures (the Lambda service, a crash, a timeout, a dependency)."""
    limit_wait_max_seconds: int = TIMINGS.limit_wait_max_seconds
    """How long a task may wait for flow-control limits before it fails (``LimitWaitExceeded``,
    dead-lettered): a re-sent message starts its receive count again, so without this a task
    behind a limit that never frees would wait for ever."""
    task_types: RegisteredTypes = dataclasses.field(default_factory=RegisteredTypes)
    """Task types that run the user's own Lambda functions (README, "Your own task types"): in the
    stage file, a JSON object of type name → registration."""

    def __post_init__(self) -> None:
        """Every stage that synth or the local stack accepts obeys the spec's invariants."""
        if self.api_auth is ApiAuth.JWT and not (self.jwt_issuer and self.jwt_audience):
            raise StageConfigError(
                "api_auth",
                self.api_auth.value,
                "needs --context jwtIssuer=<issuer URL> and jwtAudience=<...>",
            )
        if self.jwt_issuer is not None and not self.jwt_issuer.startswith("https://"):
            raise StageConfigError("jwt_issuer", self.jwt_issuer, "an https URL (API Gateway requires it)")
        for rule in _RULES:
            value = getattr(self, rule.field_name)
            if not rule.holds(value):
                raise StageConfigError(rule.field_name, value, rule.rule)
        check_invariants()
        definition = self.definition()
        worst = worst_case_seconds(definition, start=PROCESS_STATE)
        if worst > TIMINGS.express_budget_seconds:
            raise StageConfigError(
                "process_timeout_seconds",
                self.process_timeout_seconds,
                f"with processRetries={self.process_retries} and processTransientRetries="
                f"{self.process_transient_retries}, the built-in path's worst case is "
                f"{process_arithmetic(definition)} > {TIMINGS.express_budget_seconds} s "
                f"(Express's {TIMINGS.express_limit_seconds} s less a {TIMINGS.express_margin_seconds} s "
                "margin): lower one",
            )
        self.task_types.check(definition, TIMINGS)

    def definition(self) -> dict[str, Any]:
        """The state machine this stage deploys (the ASL file, shaped by the process options and
        with a branch per registered type): CDK, the local stack and the console view read it."""
        return generate(
            self.task_types.registrations,
            TIMINGS.init_limit_seconds,
            ProcessShape(self.process_timeout_seconds, self.process_retries, self.process_transient_retries),
        )

    def function_spec(self, function: Function) -> FunctionSpec:
        """``function``'s spec as this stage deploys it: the process function's timeout and memory
        are stage options."""
        spec = FUNCTIONS[function]
        if function is Function.PROCESS:
            return dataclasses.replace(
                spec, timeout_seconds=self.process_timeout_seconds, memory_mb=self.process_memory_mb
            )
        return spec

    @property
    def names(self) -> StageNames:
        return StageNames(self.stage)

    @property
    def service_name(self) -> str:
        return service_name(self.stage)

    @property
    def is_production(self) -> bool:
        return self.production

    @property
    def simulation_allowed(self) -> bool:
        if self.allow_simulation is None:
            return not self.is_production
        return self.allow_simulation is Toggle.ON

    @property
    def include_execution_data(self) -> bool:
        """Default: on, except on production stages and on stages that register task types (a
        registered type's payload and result travel in the execution's data: docs/SECURITY.md)."""
        if self.workflow_execution_data is None:
            return not self.is_production and not self.task_types
        return self.workflow_execution_data is Toggle.ON

    @property
    def retention_days(self) -> int:
        if self.task_retention_days is None:
            return PRODUCTION_TASK_RETENTION_DAYS if self.is_production else TASK_RETENTION_DAYS
        return self.task_retention_days

    @property
    def log_level(self) -> LogLevel:
        if self.function_log_level is None:
            return LogLevel.WARNING if self.is_production else LogLevel.INFO
        return self.function_log_level

    @property
    def system_log_level(self) -> SystemLogLevel:
        if self.function_system_log_level is None:
            return SystemLogLevel.WARN if self.is_production else SystemLogLevel.INFO
        return self.function_system_log_level

    def powertools_environment(self, log_level: str | None = None) -> dict[str, str]:
        """The Powertools variables every function gets, on AWS and on the local stack alike."""
        return {
            "POWERTOOLS_SERVICE_NAME": self.service_name,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": log_level or self.log_level.value,
        }

    def environment_values(self) -> dict[str, str]:
        """The variables whose values come from the stage and the spec's timings; each deployment
        adds its resource names and URLs, and the spec picks what each function reads."""
        values = {
            Env.FAILURE_RATE: str(self.failure_rate),
            Env.LEASE_SECONDS: str(TIMINGS.lease_seconds),
            Env.RECONCILE_AFTER_SECONDS: str(TIMINGS.reconcile_after_seconds),
            Env.MAX_RESCUES: str(TIMINGS.max_rescues),
            Env.LIMITS_CACHE_SECONDS: str(TIMINGS.limits_cache_seconds),
            Env.LIMIT_WAIT_MAX_SECONDS: str(self.limit_wait_max_seconds),
            Env.LIMIT_LEASE_SECONDS: str(limit_lease_seconds()),
            Env.TASK_RETENTION_SECONDS: str(self.retention_days * DAY_SECONDS),
            Env.ALLOW_SIMULATION: "true" if self.simulation_allowed else "false",
        }
        if self.webhook_allowed_hosts:
            values[Env.WEBHOOK_ALLOWED_HOSTS] = self.webhook_allowed_hosts
        if self.webhooks is Toggle.ON:
            values[Env.WEBHOOKS_ENABLED] = "true"
        if self.webhook_allowed_hosts_only is Toggle.ON:
            values[Env.WEBHOOK_ALLOWED_HOSTS_ONLY] = "true"
        return values

    def trigger(self, function: Function) -> Trigger:
        """``function``'s trigger as this stage deploys it: the spec's, with the stage's overrides
        (CDK and the local stack both read it here)."""
        trigger = spec_trigger(function)
        if function is Function.DISPATCH:
            return dataclasses.replace(
                trigger_of(function, QueueTrigger),
                max_concurrency=self.dispatch_max_concurrency,
                batching_window_seconds=self.dispatch_batching_window_seconds,
            )
        if function is Function.RECONCILE:
            return dataclasses.replace(
                trigger_of(function, ScheduleTrigger), every_minutes=self.reconcile_every_minutes
            )
        return trigger

    @classmethod
    def context_key(cls, field_name: str) -> str:
        head, *rest = field_name.split("_")
        return head + "".join(part.title() for part in rest)

    @classmethod
    def from_context(cls, node: Context) -> StageConfig:
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = node.try_get_context(cls.context_key(field.name))
            if raw is not None:
                values[field.name] = _parse(field.name, hints[field.name], raw)
        return cls(**values)


def _parse(name: str, hint: Any, raw: Any) -> Any:
    """A context value (a string from ``--context``, or JSON from cdk.json) as the field's type."""
    if hint is RegisteredTypes:
        return RegisteredTypes.parse(raw)
    if isinstance(hint, types.UnionType):
        if raw in ("", "none", "null"):
            return None
        [hint] = [member for member in typing.get_args(hint) if member is not type(None)]
    if hint is bool:
        if raw in (True, False):
            return raw
        if str(raw).lower() in ("true", "false"):
            return str(raw).lower() == "true"
        raise StageConfigError(name, raw, "true or false")
    if typing.get_origin(hint) is tuple:
        items = raw if isinstance(raw, list) else str(raw).split(",")
        return tuple(str(item).strip() for item in items if str(item).strip())
    try:
        return hint(raw)
    except ValueError as exc:
        raise StageConfigError(name, raw, f"not a valid {getattr(hint, '__name__', hint)}") from exc
