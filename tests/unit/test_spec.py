"""The system spec and the stage settings: one declaration, invariants checked, every knob reachable."""

from __future__ import annotations

import dataclasses
import os
import re
import typing
from collections.abc import Callable
from typing import Any

import pytest

from functions.common.config import ConfigurationError, Env, SdkBudget, function_environment
from functions.process.settings import ProcessSettings
from functions.reconcile.settings import ReconcileSettings
from infra.limits import (
    API_MARGIN_SECONDS,
    TIMINGS,
    check_invariants,
    execution_worst_case_seconds,
    visibility_timeout_seconds,
)
from infra.names import Function, Resource
from infra.spec import FUNCTIONS, ApiTrigger, QueueTrigger, ScheduleTrigger, WorkflowTrigger, trigger_of
from infra.stage_config import (
    ApiAuth,
    LogLevel,
    StageConfig,
    StageConfigError,
    SystemLogLevel,
    Toggle,
    WorkflowLogLevel,
)
from infra.task_type_options import RegisteredTypes
from infra.workflow_definition import REPO_ROOT, state_timeout_seconds, state_worst_cases
from tests.fixtures.cdk_context import Context

CHOSEN: dict[Any, tuple[str, Any]] = {
    float: ("0.55", 0.55),
    bool: ("true", True),
    ApiAuth: ("none", ApiAuth.NONE),
    Toggle: ("on", Toggle.ON),
    WorkflowLogLevel: ("ERROR", WorkflowLogLevel.ERROR),
    Toggle | None: ("off", Toggle.OFF),
    LogLevel | None: ("DEBUG", LogLevel.DEBUG),
    SystemLogLevel | None: ("WARN", SystemLogLevel.WARN),
    tuple[str, ...]: ("https://a.example,https://b.example", ("https://a.example", "https://b.example")),
    str: ("qa", "qa"),
    str | None: ("someone@example.com", "someone@example.com"),
    int | None: ("0", 0),
}
_TYPES = '{"word-count": {"function": "word-count", "timeoutSeconds": 10}}'
BY_NAME: dict[str, tuple[str, Any]] = {
    "task_types": (_TYPES, RegisteredTypes.parse(_TYPES)),
    # Within the Express bound with the other process options at their defaults.
    "process_timeout_seconds": ("27", 27),
    "process_retries": ("1", 1),
    "process_transient_retries": ("1", 1),
    "jwt_issuer": ("https://issuer.example.com/pool", "https://issuer.example.com/pool"),
    "powertools_layer_arn": (
        "arn:aws:lambda:eu-south-2:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:20",
        "arn:aws:lambda:eu-south-2:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:20",
    ),
}


def _other_value(name: str, hint: Any, default: Any) -> tuple[str, Any]:
    """A context string for the field and the value it must become, unlike the default."""
    if name in BY_NAME:
        return BY_NAME[name]
    if hint is int:
        return str(default + 7), default + 7
    return CHOSEN[hint]


@pytest.mark.parametrize("field", [field.name for field in dataclasses.fields(StageConfig)])
def test_every_stage_setting_can_be_set_by_context(field: str) -> None:
    hints = typing.get_type_hints(StageConfig)
    default = getattr(StageConfig(), field)
    raw, expected = _other_value(field, hints[field], default)
    assert expected != default

    config = StageConfig.from_context(Context({StageConfig.context_key(field): raw}))

    assert getattr(config, field) == expected
    assert dataclasses.replace(config, **{field: default}) == StageConfig()


def test_a_malformed_context_value_names_its_key() -> None:
    with pytest.raises(StageConfigError, match="dispatchMaxConcurrency"):
        StageConfig.from_context(Context({"dispatchMaxConcurrency": "ten"}))


@pytest.mark.parametrize(
    ("key", "refused", "accepted"),
    [
        ("reconcileEveryMinutes", ["0", "-5"], ["1"]),
        ("maxReceiveCount", ["0", "1001"], ["1", "1000"]),
        ("dispatchMaxConcurrency", ["1", "1001"], ["2", "1000"]),
        ("dispatchBatchingWindowSeconds", ["-1", "301"], ["0", "300"]),
        ("failureRate", ["-0.1", "1.5"], ["0", "1"]),
        ("apiRateLimit", ["0"], ["1"]),
        ("apiBurstLimit", ["0"], ["1"]),
        ("logRetentionDays", ["0"], ["1"]),
        ("executionFailureAlarmPercent", ["0", "101"], ["1", "100"]),
    ],
)
def test_a_stage_setting_outside_awss_range_is_refused_in_one_line_naming_its_key(
    key: str, refused: list[str], accepted: list[str]
) -> None:
    """What CloudFormation or jsii would refuse (or deploy into nonsense) is refused at synth and
    by the local stack, in one line: the context key, the value, the rule."""
    for value in refused:
        with pytest.raises(StageConfigError) as refusal:
            StageConfig.from_context(Context({key: value}))
        message = str(refusal.value)
        assert message.startswith(f"context {key}={value}: ")
        assert "\n" not in message
    for value in accepted:
        StageConfig.from_context(Context({key: value}))


def test_stage_overrides_reach_the_triggers_cdk_and_the_local_stack_deploy() -> None:
    config = StageConfig(
        dispatch_max_concurrency=3, dispatch_batching_window_seconds=5, reconcile_every_minutes=7
    )
    dispatch = config.trigger(Function.DISPATCH)
    assert isinstance(dispatch, QueueTrigger)
    assert (dispatch.max_concurrency, dispatch.batching_window_seconds, dispatch.batch_size) == (3, 5, 10)
    assert config.trigger(Function.RECONCILE) == ScheduleTrigger(every_minutes=7)
    assert StageConfig().trigger(Function.RECONCILE) == FUNCTIONS[Function.RECONCILE].trigger
    assert config.trigger(Function.MONITOR) == FUNCTIONS[Function.MONITOR].trigger


def test_the_declared_timings_hold_their_invariants() -> None:
    check_invariants()
    assert TIMINGS.lease_seconds > FUNCTIONS[Function.PROCESS].timeout_seconds
    for queue, consumer in (
        (Resource.TASKS_QUEUE, Function.DISPATCH),
        (Resource.DEAD_LETTER_QUEUE, Function.MONITOR),
    ):
        assert visibility_timeout_seconds(queue) >= 6 * FUNCTIONS[consumer].timeout_seconds
    assert execution_worst_case_seconds() <= TIMINGS.express_budget_seconds == 290


def test_the_worst_case_execution_is_every_retry_wait_and_state_timeout_on_the_longest_path() -> None:
    """ProcessTask: 1 + 3 + 2 attempts, each cut off by the state's 35 s (the function's 25 s plus
    INIT's 10 s, which Lambda runs outside the function's timeout), waits capped at 1+2+4 and
    2+4 s; then MarkFailed and SendToDlq, 4 attempts of 3 s and waits 1+2+4 s each; then
    ReopenForDeadLetter, 3 attempts of 3 s and waits 1+2 s (docs/RELIABILITY.md)."""
    assert state_worst_cases() == {
        "ProcessTask": 6 * 35 + (1 + 2 + 4) + (2 + 4),
        "MarkFailed": 4 * 3 + (1 + 2 + 4),
        "SendToDlq": 4 * 3 + (1 + 2 + 4),
        "ReopenForDeadLetter": 3 * 3 + (1 + 2),
    }
    assert execution_worst_case_seconds() == 223 + 19 + 19 + 12 == 273


def test_the_process_tasks_timeout_is_the_functions_plus_lambdas_init_limit() -> None:
    process = FUNCTIONS[Function.PROCESS]
    workflow = process.trigger
    assert isinstance(workflow, WorkflowTrigger)
    assert state_timeout_seconds(workflow.state) == process.timeout_seconds + TIMINGS.init_limit_seconds


def test_the_api_answers_within_its_timeout_even_when_every_aws_call_times_out() -> None:
    api = FUNCTIONS[Function.API]
    assert api.sdk is SdkBudget.INTERACTIVE
    # 2 attempts of 0.5 s connect + 1 s read, and one wait of at most 1 s: 4 s a call, 3 in a row.
    assert api.sdk.worst_case_seconds() == 4.0
    assert 3 * 4.0 + API_MARGIN_SECONDS <= api.timeout_seconds < 30


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"lease_seconds": 25}, "lease"),
        ({"visibility_factor": 5}, "6x"),
        ({"express_limit_seconds": 282}, "Express limit"),
        ({"express_margin_seconds": 28}, "Express limit"),
        ({"init_limit_seconds": 9}, "INIT limit"),
        ({"init_limit_seconds": 11}, "INIT limit"),
        ({"tasks_queue_retention_days": 14}, "queue retention"),
        ({"tasks_queue_retention_days": 0}, "queue retention"),
        ({"dead_letter_retention_days": 15, "tasks_queue_retention_days": 7}, "queue retention"),
    ],
)
def test_timings_that_contradict_each_other_are_refused(change: dict[str, int], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        check_invariants(dataclasses.replace(TIMINGS, **change))


def test_each_function_gets_exactly_what_its_settings_model_reads() -> None:
    values = {
        **StageConfig().environment_values(),
        Env.TASKS_TABLE: "t",
        Env.TASKS_QUEUE_URL: "q",
        Env.TASKS_QUEUE_ARN: "qa",
        Env.SCHEDULE_GROUP: "g",
        Env.SCHEDULER_ROLE_ARN: "r",
        Env.RECURRING_SCHEDULE_GROUP: "rg",
        Env.SCHEDULES_TABLE: "st",
        Env.LIMITS_TABLE: "lt",
        Env.DEAD_LETTER_QUEUE_URL: "d",
        Env.STATE_MACHINE_ARN: "s",
        Env.CONSOLE_URL_TEMPLATE: "c",
        Env.DISPATCH_MAPPING_ID: "m",
    }
    for function, spec in FUNCTIONS.items():
        environment = spec.environment(values)
        assert set(environment) <= set(spec.settings.variables()), function
        spec.settings.from_env(environment)
    assert set(FUNCTIONS[Function.PROCESS].environment(values)) == {
        Env.TASKS_TABLE,
        Env.LIMITS_TABLE,
        Env.FAILURE_RATE,
        Env.LEASE_SECONDS,
        Env.SDK_BUDGET,
        Env.TASK_RETENTION_SECONDS,
        Env.ALLOW_SIMULATION,
    }
    for function, spec in FUNCTIONS.items():
        settings = spec.settings.from_env(spec.environment(values))
        assert settings.sdk_budget is spec.sdk, function


def test_a_required_variable_missing_from_the_deployment_is_refused_before_it_deploys() -> None:
    with pytest.raises(ValueError, match="RECONCILE_AFTER_SECONDS"):
        FUNCTIONS[Function.RECONCILE].environment({Env.TASKS_TABLE: "t", Env.TASKS_QUEUE_URL: "q"})


def test_a_function_reads_only_its_own_bound_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local runtime binds each function's own variables: another function's in the process
    environment do not make up for a variable the spec did not give this one."""
    monkeypatch.setenv(Env.RECONCILE_AFTER_SECONDS, "900")
    monkeypatch.setenv(Env.TASKS_QUEUE_URL, "q")
    with function_environment({Env.TASKS_TABLE: "t"}), pytest.raises(ConfigurationError):
        ReconcileSettings.from_env()
    assert os.environ[Env.RECONCILE_AFTER_SECONDS] == "900"
    with function_environment(
        {
            Env.TASKS_TABLE: "t",
            Env.LIMITS_TABLE: "l",
            Env.FAILURE_RATE: "0",
            Env.LEASE_SECONDS: "5",
            Env.TASK_RETENTION_SECONDS: "0",
        }
    ):
        assert ProcessSettings.from_env().lease_seconds == 5


def test_a_webhook_timeout_the_process_invocation_cannot_hold_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from infra import limits

    check_invariants()
    monkeypatch.setattr(limits, "WEBHOOK_MAX_TIMEOUT_SECONDS", FUNCTIONS[Function.PROCESS].timeout_seconds)
    with pytest.raises(ValueError, match="webhook timeout"):
        check_invariants()


def _api_spare_seconds() -> float:
    """What the api's timeout leaves after its calls' worst case and its own work."""
    api = FUNCTIONS[Function.API]
    calls = api.sdk.worst_case_seconds() * trigger_of(Function.API, ApiTrigger).max_sequential_calls
    return api.timeout_seconds - calls - API_MARGIN_SECONDS


@pytest.mark.parametrize(
    ("attribute", "value", "complaint"),
    [
        (
            "API_MARGIN_SECONDS",
            lambda: API_MARGIN_SECONDS + _api_spare_seconds() + 0.5,
            "overruns its timeout",
        ),
        (
            "API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS",
            lambda: FUNCTIONS[Function.API].timeout_seconds,
            "API Gateway",
        ),
    ],
)
def test_an_api_that_could_not_answer_before_its_timeout_is_refused(
    monkeypatch: pytest.MonkeyPatch, attribute: str, value: Callable[[], float], complaint: str
) -> None:
    from infra import limits

    check_invariants()
    monkeypatch.setattr(limits, attribute, value())
    with pytest.raises(ValueError, match=complaint):
        check_invariants()


def test_the_readme_options_table_has_a_row_for_each_setting_and_its_numbers_are_the_defaults() -> None:
    """Each stage setting has a row in the README's options table, and a default the table states
    as a number (``5``, ``200 / 400``) is the setting's own: the number lives in StageConfig."""
    readme = (REPO_ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `([A-Za-z]+)`(?: / `([A-Za-z]+)`)? \| ([^|]+) \|", readme, re.MULTILINE)
    stated: dict[str, str] = {}
    for key, other, default in rows:
        cells = [cell.strip() for cell in default.split("/")]
        for index, name in enumerate(name for name in (key, other) if name):
            stated[name] = cells[index] if len(cells) > index else cells[0]
    defaults = StageConfig()
    for field in dataclasses.fields(StageConfig):
        key = StageConfig.context_key(field.name)
        assert key in stated, f"README's options table has no row for {key}"
        if re.fullmatch(r"\d+(\.\d+)?", stated[key]):
            assert float(stated[key]) == getattr(defaults, field.name), key
