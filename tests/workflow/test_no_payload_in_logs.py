"""No payload or result value leaves the task record: a canary value submitted in payloads,
webhook headers and bodies, and in a receiver's responses, appears in no function's log output,
no DLQ message and no execution's state inputs and outputs (which Express logs carry at level
ALL with execution data), at the default log level (INFO). The tasks take every path: success,
retries, permanent failure, webhook delivery and webhook refusal, dispatch, the monitor. A second
canary, in webhook header values only, also appears in no API answer (GET, list, cancel): the
API shows those headers' names, never their values; the receiver gets them as given."""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import Iterator

import pytest

from functions.common.models import TaskStatus
from functions.common.observability import logger
from infra.names import Function
from tests.fixtures.receiver import PublicHostStandIn, Receiver, running_receiver
from tests.fixtures.stack import Stack
from tests.workflow.conftest import dead_letters


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def function_log() -> Iterator[list[str]]:
    """Every line the functions log, formatted as Lambda ships them (Powertools' JSON)."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(logger.registered_formatter)
    service = logging.getLogger(logger.name)
    service.addHandler(handler)
    try:
        yield lines
    finally:
        service.removeHandler(handler)


def test_a_canary_in_payloads_and_results_never_reaches_logs_or_the_dlq(
    stack: Stack, receiver: Receiver, function_log: list[str], capfd: pytest.CaptureFixture[str]
) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    for function in (Function.API, Function.PROCESS):
        dependencies = stack.dependencies(function)
        dependencies.environment = dataclasses.replace(
            dependencies.environment, destinations=PublicHostStandIn()
        )
    secret_response = json.dumps({"echo": canary}).encode()
    delivered = receiver.answer("/ok", (200, secret_response, {}, 0.0))
    refused = receiver.answer("/no", (400, secret_response, {}, 0.0))
    header_canary = f"header-canary-{uuid.uuid4().hex}"
    webhook = {
        "type": "webhook",
        "body": {"card": canary},
        "headers": {"Authorization": f"Bearer {canary}", "X-Api-Key": header_canary},
    }

    task_ids = [
        stack.submit({"card": canary}),
        stack.submit({"card": canary, "simulate": {"failures": 1}}),
        stack.submit({"card": canary, "simulate": {"permanent": True}}),
        stack.submit({**webhook, "url": delivered}),
        stack.submit({**webhook, "url": refused}),
    ]
    cancelled = stack.submit({**webhook, "url": delivered})
    answers = [stack.api("DELETE", f"/tasks/{cancelled}").body]
    stack.event_source(Function.DISPATCH).drain()
    executions = stack.wait_for_all_executions()
    letters = dead_letters(stack)
    stack.event_source(Function.MONITOR).drain()
    stack.handlers[Function.RECONCILE].lambda_handler({}, stack.context(Function.RECONCILE))
    bad = stack.api("POST", "/tasks", {"type": "webhook", "url": f"ftp://{canary}.example", "body": canary})
    bad_header = stack.api(
        "POST", "/tasks", {**webhook, "url": delivered, "headers": {"X-Api-Key": f"{header_canary}\n"}}
    )
    answers += [bad.body, bad_header.body]
    answers += [stack.api("GET", f"/tasks/{task_id}").body for task_id in [*task_ids, cancelled]]
    answers += [stack.api("GET", f"/tasks?status={status}").body for status in TaskStatus]

    tasks = [stack.task(task_id) for task_id in task_ids]
    assert [task.status for task in tasks] == [TaskStatus.SUCCEEDED] * 2 + [
        TaskStatus.FAILED,
        TaskStatus.SUCCEEDED,
        TaskStatus.FAILED,
    ], [(task.status, task.error, task.cause, task.last_error) for task in tasks]
    assert canary in json.dumps(stack.task(task_ids[3]).result), "the result keeps the value, on the record"
    assert bad.status == 400
    assert bad_header.status == 400
    assert answers[-len(TaskStatus) - 3]["payload"]["headers"] == {
        "Authorization": "[redacted]",
        "X-Api-Key": "[redacted]",
    }
    assert header_canary not in json.dumps(answers)
    assert receiver.to("/ok")[0].headers["X-Api-Key"] == header_canary, "the receiver gets it as given"
    assert len(letters) == 2
    assert canary not in json.dumps(letters)
    assert header_canary not in json.dumps(letters)
    assert len(executions) == 5
    for execution in executions:
        history = json.dumps(stack.history(execution["executionArn"]), default=str)
        assert canary not in history, execution["name"]
        assert header_canary not in history, execution["name"]
    assert any('"level":"INFO"' in line for line in function_log), "INFO lines are among those checked"
    functions = {json.loads(line).get("function_name") for line in function_log}
    # Reconcile ran too; with nothing stale it has nothing to say.
    assert {
        f"ptm-test-{function}" for function in Function if function is not Function.RECONCILE
    } <= functions
    assert not [line for line in function_log if canary in line or header_canary in line]
    printed = capfd.readouterr()
    assert canary not in printed.out + printed.err
    assert header_canary not in printed.out + printed.err
