"""The system spec and the stage settings: one declaration, invariants checked, every knob reachable."""

from __future__ import annotations

import dataclasses
import os
import typing
from typing import Any

import pytest

from functions.common.config import ConfigurationError, Env, function_environment
from functions.process.settings import ProcessSettings
from functions.reconcile.settings import ReconcileSettings
from infra.spec import (
    FUNCTIONS,
    TIMINGS,
    Function,
    Resource,
    check_invariants,
    execution_worst_case_seconds,
    visibility_timeout_seconds,
)
from infra.stage_config import ApiAuth, LogLevel, StageConfig, Toggle, WorkflowLogLevel

pytestmark = pytest.mark.unit


class Context:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def try_get_context(self, key: str) -> Any:
        return self.values.get(key)


CHOSEN: dict[Any, tuple[str, Any]] = {
    float: ("0.55", 0.55),
    ApiAuth: ("none", ApiAuth.NONE),
    Toggle: ("on", Toggle.ON),
    WorkflowLogLevel: ("ERROR", WorkflowLogLevel.ERROR),
    Toggle | None: ("off", Toggle.OFF),
    LogLevel | None: ("DEBUG", LogLevel.DEBUG),
    tuple[str, ...]: ("https://a.example,https://b.example", ("https://a.example", "https://b.example")),
    str: ("qa", "qa"),
    str | None: ("someone@example.com", "someone@example.com"),
}
BY_NAME: dict[str, tuple[str, Any]] = {
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
    with pytest.raises(ValueError, match="dispatchMaxConcurrency"):
        StageConfig.from_context(Context({"dispatchMaxConcurrency": "ten"}))


def test_stage_overrides_reach_the_dispatchers_trigger() -> None:
    config = StageConfig(dispatch_max_concurrency=3, dispatch_batching_window_seconds=5)
    trigger = config.dispatch_trigger()
    assert (trigger.max_concurrency, trigger.batching_window_seconds, trigger.batch_size) == (3, 5, 10)


def test_the_declared_timings_hold_their_invariants() -> None:
    check_invariants()
    assert TIMINGS.lease_seconds > FUNCTIONS[Function.PROCESS].timeout_seconds
    for queue, consumer in (
        (Resource.TASKS_QUEUE, Function.DISPATCH),
        (Resource.DEAD_LETTER_QUEUE, Function.MONITOR),
    ):
        assert visibility_timeout_seconds(queue) >= 6 * FUNCTIONS[consumer].timeout_seconds
    assert execution_worst_case_seconds() <= TIMINGS.express_limit_seconds


def test_the_worst_case_execution_is_every_retry_wait_and_timeout_on_the_longest_path() -> None:
    """ProcessTask: 1 + 3 + 2 attempts of at most 30 s (the function's timeout, under the Task's
    35 s) and waits capped at 1+2+4 and 2+4 s; then MarkFailed and SendToDlq, 5 attempts of 5 s
    and waits 1+2+4+8 s each; then ReopenForDeadLetter, 3 attempts of 5 s and waits 1+2 s."""
    assert execution_worst_case_seconds() == (6 * 30 + 7 + 6) + 2 * (5 * 5 + 15) + (3 * 5 + 3)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"lease_seconds": 30}, "lease"),
        ({"visibility_factor": 5}, "6x"),
        ({"express_limit_seconds": 120}, "Express limit"),
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
        Env.DEAD_LETTER_QUEUE_URL: "d",
        Env.STATE_MACHINE_ARN: "s",
        Env.CONSOLE_URL_TEMPLATE: "c",
    }
    for function, spec in FUNCTIONS.items():
        environment = spec.environment(values)
        assert set(environment) <= set(spec.settings.variables()), function
        spec.settings.from_env(environment)
    assert set(FUNCTIONS[Function.PROCESS].environment(values)) == {
        Env.TASKS_TABLE,
        Env.FAILURE_RATE,
        Env.LEASE_SECONDS,
    }


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
    with function_environment({Env.TASKS_TABLE: "t", Env.FAILURE_RATE: "0", Env.LEASE_SECONDS: "5"}):
        assert ProcessSettings.from_env().lease_seconds == 5


def test_a_webhook_timeout_the_process_invocation_cannot_hold_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from infra import spec

    check_invariants()
    monkeypatch.setattr(spec, "WEBHOOK_MAX_TIMEOUT_SECONDS", spec.FUNCTIONS[Function.PROCESS].timeout_seconds)
    with pytest.raises(ValueError, match="webhook timeout"):
        check_invariants()
