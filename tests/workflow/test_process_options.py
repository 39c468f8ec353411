"""The built-in types' stage options on the real handlers and the generated definition: the
retries a stage sets are the attempts a task gets, and the process function's timeout is the one
the local runtime enforces."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest

from functions.common.models import TaskStatus
from infra.names import Function
from local.emulator import Emulator
from local.lambda_runtime import LocalLambdaRuntime
from local.retry_clock import RetryClock
from tests.fixtures.stack import CONFIG, NAMES, Stack, _provisioned
from tests.workflow.conftest import run_task


@pytest.fixture
def patient_stack(
    emulator: Emulator, lambda_runtime: LocalLambdaRuntime, retry_clock: RetryClock
) -> Iterator[Stack]:
    """A stage whose built-in tasks get 4 retries of their own and none for transient errors,
    with a 27 s process function of 256 MB."""
    stage = dataclasses.replace(
        CONFIG,
        process_retries=4,
        process_transient_retries=0,
        process_timeout_seconds=27,
        process_memory_mb=256,
    )
    yield from _provisioned(emulator, lambda_runtime, retry_clock, stage)


def test_a_task_gets_the_retries_its_stage_sets(patient_stack: Stack) -> None:
    task_id, execution = run_task(patient_stack, {"simulate": {"failures": 4}})

    assert execution["status"] == "SUCCEEDED", execution
    assert patient_stack.task(task_id).attempts == 5

    failed_id, failed = run_task(patient_stack, {"simulate": {"failures": 5}}, name="run-2")
    assert failed["status"] == "FAILED"
    assert patient_stack.task(failed_id).status is TaskStatus.FAILED


def test_the_process_function_and_its_state_take_the_stage_s_timeout_and_memory(patient_stack: Stack) -> None:
    function = patient_stack.clients.lambda_.get_function_configuration(
        FunctionName=NAMES.function(Function.PROCESS)
    )
    definition = json.loads(
        patient_stack.clients.sfn.describe_state_machine(
            stateMachineArn=patient_stack.resources.state_machine_arn
        )["definition"]
    )

    assert (function["Timeout"], function["MemorySize"]) == (27, 256)
    assert definition["States"]["ProcessTask"]["TimeoutSeconds"] == 37
    assert [retrier["MaxAttempts"] for retrier in definition["States"]["ProcessTask"]["Retry"]] == [0, 4]
