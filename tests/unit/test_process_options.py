"""The built-in types' knobs: the process function's timeout, memory and retries as stage options,
within the same Express bound, checked on the generated definition."""

from __future__ import annotations

import json
import re

import pytest

from infra.names import Function
from infra.spec import FUNCTIONS
from infra.stage_config import StageConfig, StageConfigError
from infra.workflow_definition import PROCESS_STATE, read_definition, retry_policy, worst_case_seconds


def test_the_defaults_are_the_asl_file_and_the_spec() -> None:
    config = StageConfig()

    assert config.definition() == json.loads(read_definition())
    assert config.function_spec(Function.PROCESS) == FUNCTIONS[Function.PROCESS]
    assert config.process_retries == retry_policy().max_attempts
    assert config.process_transient_retries == retry_policy("Lambda.ServiceException").max_attempts


def test_a_sixty_second_type_with_three_attempts_needs_no_fork() -> None:
    config = StageConfig(process_timeout_seconds=60, process_memory_mb=512, process_transient_retries=0)

    state = config.definition()["States"][PROCESS_STATE]
    assert state["TimeoutSeconds"] == 70
    assert [retrier["MaxAttempts"] for retrier in state["Retry"]] == [0, 2]
    # 3 attempts x 70 s + waits 2 + 4 s + the failure path 50 s.
    assert worst_case_seconds(config.definition()) == 3 * 70 + 6 + 50 == 266
    spec = config.function_spec(Function.PROCESS)
    assert (spec.timeout_seconds, spec.memory_mb) == (60, 512)


def test_a_combination_over_the_bound_is_refused_in_one_line_with_the_arithmetic() -> None:
    with pytest.raises(StageConfigError) as refused:
        StageConfig(process_timeout_seconds=60)

    message = str(refused.value)
    assert message.startswith("context processTimeoutSeconds=60: with processRetries=2")
    arithmetic = "6 invocations x 70 s (processTimeoutSeconds + INIT) + 13 s of waits + failure path 50 s"
    assert f"{arithmetic} = 483 s > 290 s" in message
    assert "\n" not in message


def test_the_edges_of_the_bound() -> None:
    # 6 x (T + 10) + 13 + 50 <= 290: T = 27 fits (285 s), 28 does not (291 s).
    StageConfig(process_timeout_seconds=27)
    with pytest.raises(StageConfigError, match="= 291 s > 290 s"):
        StageConfig(process_timeout_seconds=28)
    # Exactly at the bound: 3 x (68 + 10) + 2 + 4 + 50 = 290 s.
    at_the_bound = StageConfig(process_timeout_seconds=68, process_transient_retries=0)
    assert worst_case_seconds(at_the_bound.definition()) == 290


@pytest.mark.parametrize(
    ("options", "rule"),
    [
        ({"process_timeout_seconds": 24}, "from 25 (the longest webhook and its result)"),
        ({"process_timeout_seconds": 110, "process_retries": 0, "process_transient_retries": 0}, "to 109"),
        ({"process_memory_mb": 127}, "from 128 to 10240"),
        ({"process_memory_mb": 10241}, "from 128 to 10240"),
        ({"process_retries": -1}, "from 0 to 10"),
        ({"process_retries": 11, "process_timeout_seconds": 25}, "from 0 to 10"),
        ({"process_transient_retries": -1}, "from 0 to 10"),
        ({"process_transient_retries": 11}, "from 0 to 10"),
    ],
)
def test_each_option_s_range_is_refused_in_one_line(options: dict[str, int], rule: str) -> None:
    with pytest.raises(StageConfigError, match=re.escape(rule)):
        StageConfig(**options)  # type: ignore[arg-type]


def test_the_longest_built_in_attempt_with_no_retries() -> None:
    config = StageConfig(process_timeout_seconds=109, process_retries=0, process_transient_retries=0)

    assert worst_case_seconds(config.definition()) == 119 + 50
