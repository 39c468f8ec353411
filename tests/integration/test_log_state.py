"""A warm function's log lines carry only the keys of the invocation (and record) they belong to."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from functions.common.observability import logger
from infra.names import Function
from local.event_source import sqs_event
from tests.fixtures.stack import Stack


@pytest.fixture
def logged() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The functions' JSON log lines written from now on (the handlers' shared Logger)."""
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield lambda: _lines(buffer.getvalue())
    handler.setStream(previous)


def _lines(output: str) -> list[dict[str, Any]]:
    lines = []
    for line in output.splitlines():
        try:
            document = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(document, dict) and "message" in document:
            lines.append(document)
    return lines


def test_the_next_api_invocation_logs_no_task_id_from_the_previous_one(
    stack: Stack, logged: Callable[[], list[dict[str, Any]]]
) -> None:
    task_id = stack.submit({"n": 1})

    response = stack.api("GET", "/tasks/no-such-task")

    assert response.status == 404
    assert any(line.get("taskId") == task_id for line in logged())
    [refused] = [line for line in logged() if line["message"] == "request refused"]
    assert "taskId" not in refused, f"leaked {task_id} into the next invocation"


def test_a_record_logs_no_task_id_from_the_record_before_it(
    stack: Stack, logged: Callable[[], list[dict[str, Any]]]
) -> None:
    """The monitor records a dead task message, then meets a body it cannot read."""
    task_id = stack.submit({"n": 1})
    source = stack.event_source(Function.MONITOR)
    messages = [
        {"MessageId": "m-0", "ReceiptHandle": "r-0", "Body": json.dumps({"taskId": task_id, "run": 1})},
        {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": "not a task"},
    ]
    for message in messages:
        message["Attributes"] = {"ApproximateReceiveCount": "1", "SentTimestamp": "0"}  # type: ignore[assignment]
    event = sqs_event(messages, source.queue_arn, source.region)  # type: ignore[arg-type]

    stack.handlers[Function.MONITOR].lambda_handler(event, stack.context(Function.MONITOR))

    lines = logged()
    [recorded] = [line for line in lines if line["message"] == "undeliverable task dead-lettered"]
    [unreadable] = [line for line in lines if line["message"] == "unrecognised dead letter"]
    assert recorded["taskId"] == task_id
    assert "taskId" not in unreadable
