"""dispatch and monitor: SQS batches with partial batch responses, and the DLQ redrive."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.endpoint import Endpoint

from functions.common.models import TaskStatus
from functions.usecases.dead_letters import UNDELIVERABLE_ERROR
from infra.limits import TIMINGS
from infra.names import Function
from tests.fixtures.stack import Stack

MAX_RECEIVE_COUNT = TIMINGS.max_receive_count


def test_dispatch_reports_only_the_malformed_records(stack: Stack) -> None:
    good = [stack.submit({"n": index}) for index in range(3)]
    bodies = [
        json.dumps({"taskId": good[0]}),
        "not json",
        json.dumps({"taskId": good[1]}),
        json.dumps({"taskId": "../../etc"}),
        json.dumps({"taskId": good[2]}),
    ]

    response = stack.invoke(Function.DISPATCH, stack.sqs_event(Function.DISPATCH, bodies, receive_count=3))

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-3"}]}
    names = sorted(execution["name"] for execution in stack.wait_for_all_executions())
    assert names == sorted(f"{task_id}-r1-d3" for task_id in good)


def test_dispatch_starts_nothing_for_a_task_that_does_not_exist(stack: Stack) -> None:
    """A well-formed message whose task has no record (never submitted, or a forged message):
    no execution is started for it, and the message is consumed, not retried."""
    real = stack.submit({"n": 1})
    bodies = [json.dumps({"taskId": "never-submitted"}), json.dumps({"taskId": real})]

    response = stack.invoke(Function.DISPATCH, stack.sqs_event(Function.DISPATCH, bodies))

    assert response == {"batchItemFailures": []}
    assert [execution["name"] for execution in stack.wait_for_all_executions()] == [f"{real}-r1-d1"]


def test_executions_join_the_trace_their_message_carries(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside Lambda botocore sends the invocation's own trace as ``X-Amzn-Trace-Id`` (from
    ``_X_AMZN_TRACE_ID``), and Step Functions prefers that header to the body's traceHeader:
    a message's AWSTraceHeader must replace it, and a message without one leaves it alone."""
    dispatcher_trace = "Root=1-00000000-000000000000000000000001;Parent=0000000000000001;Sampled=0"
    submitted_trace = "Root=1-00000000-000000000000000000000002;Parent=0000000000000002;Sampled=1"
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", stack.resources.names.function(Function.DISPATCH))
    monkeypatch.setenv("_X_AMZN_TRACE_ID", dispatcher_trace)
    sent: dict[str, str | None] = {}
    original = Endpoint.make_request

    def recording(endpoint: Endpoint, operation_model: Any, request_dict: dict[str, Any]) -> Any:
        if operation_model.name == "StartExecution":
            name = json.loads(request_dict["body"])["name"]
            sent[name] = request_dict["headers"].get("X-Amzn-Trace-Id")
        return original(endpoint, operation_model, request_dict)

    monkeypatch.setattr(Endpoint, "make_request", recording)
    traced, untraced = stack.submit({"n": 1}), stack.submit({"n": 2})
    bodies = [json.dumps({"taskId": traced}), json.dumps({"taskId": untraced})]

    event = stack.sqs_event(Function.DISPATCH, bodies, trace_headers=[submitted_trace])
    response = stack.invoke(Function.DISPATCH, event)

    assert response == {"batchItemFailures": []}
    assert sent == {f"{traced}-r1-d1": submitted_trace, f"{untraced}-r1-d1": dispatcher_trace}


def test_dispatch_failure_to_start_is_reported_for_retry(stack: Stack) -> None:
    task_id = stack.submit({"n": 1})
    stack.clients.sfn.delete_state_machine(stateMachineArn=stack.resources.state_machine_arn)

    poll = stack.event_source(Function.DISPATCH).poll_once()

    assert (poll.received, poll.deleted, poll.failed) == (1, 0, 1)
    assert stack.task(task_id).status is TaskStatus.QUEUED


def test_undeliverable_task_is_redriven_to_the_dlq_and_marked_failed(stack: Stack) -> None:
    """Given dispatch keeps failing, after maxReceiveCount deliveries SQS moves the message to the
    DLQ, and the monitor marks the task FAILED and dead-lettered."""
    task_id = stack.submit({"n": 1})
    stack.clients.sfn.delete_state_machine(stateMachineArn=stack.resources.state_machine_arn)
    dispatch = stack.event_source(Function.DISPATCH)

    polls = [dispatch.poll_once() for _ in range(MAX_RECEIVE_COUNT + 1)]

    assert [poll.failed for poll in polls] == [1] * MAX_RECEIVE_COUNT + [0]
    [monitored] = stack.event_source(Function.MONITOR).drain()
    assert monitored.deleted == 1
    task = stack.task(task_id)
    assert task.status is TaskStatus.FAILED
    assert task.error == UNDELIVERABLE_ERROR
    assert task.cause is not None
    assert str(MAX_RECEIVE_COUNT + 1) in task.cause
    assert task.dead_lettered_at is not None


def test_monitor_accepts_both_shapes_and_survives_garbage(stack: Stack) -> None:
    workflow_failed = stack.submit({"simulate": {"permanent": True}})
    stack.wait_for_execution(stack.start_execution(workflow_failed, "fails"))
    stack.clients.sqs.purge_queue(QueueUrl=stack.resources.dead_letter_queue_url)
    stranded = stack.submit({"n": 2})
    finished = stack.submit({"n": 3})
    stack.wait_for_execution(stack.start_execution(finished, "ok"))
    bodies = [
        json.dumps(
            {"kind": "workflow-failure", "taskId": workflow_failed, "error": "TaskFailedError", "cause": "x"}
        ),
        json.dumps({"taskId": stranded}),
        json.dumps({"taskId": finished}),
        "\x00 not json",
        json.dumps([1, 2, 3]),
        json.dumps({"kind": "workflow-failure"}),
        json.dumps({"taskId": "never-existed"}),
    ]

    response = stack.invoke(Function.MONITOR, stack.sqs_event(Function.MONITOR, bodies, receive_count=6))

    assert response == {"batchItemFailures": []}
    assert stack.task(workflow_failed).dead_lettered_at is not None
    assert stack.task(stranded).status is TaskStatus.FAILED
    assert stack.task(stranded).dead_lettered_at is not None
    assert stack.task(finished).status is TaskStatus.SUCCEEDED
    assert stack.task(finished).dead_lettered_at is None
    assert stack.table.get("never-existed") is None


def test_monitor_is_idempotent(stack: Stack) -> None:
    task_id = stack.submit({"n": 1})
    event = stack.sqs_event(Function.MONITOR, [json.dumps({"taskId": task_id})])
    stack.invoke(Function.MONITOR, event)
    first = stack.task(task_id)

    stack.invoke(Function.MONITOR, event)

    assert stack.task(task_id) == first


def test_monitor_store_error_leaves_the_message_for_redelivery(stack: Stack) -> None:
    task_id = stack.submit({"n": 1})
    stack.clients.sqs.send_message(
        QueueUrl=stack.resources.dead_letter_queue_url, MessageBody=json.dumps({"taskId": task_id})
    )
    stack.clients.dynamodb.delete_table(TableName=stack.resources.table)

    poll = stack.event_source(Function.MONITOR).poll_once()

    assert (poll.received, poll.deleted, poll.failed) == (1, 0, 1)
    assert len(stack.queue_messages(stack.resources.dead_letter_queue_url)) == 1


def test_an_express_start_with_a_repeated_name_runs_a_second_execution_as_on_aws(stack: Stack) -> None:
    """AWS: "Starting multiple workflows with the same name results in concurrent executions"
    (express-at-least-once-execution.html). moto alone answers the running execution or
    ExecutionAlreadyExists; the fidelity layer (local/fidelity.py) must make it behave like AWS."""
    task_id = stack.submit({"n": 1})
    workflow = stack.dependencies(Function.DISPATCH).dispatcher.workflow

    first = workflow.start("same-name", task_id)
    second = workflow.start("same-name", task_id)
    executions = stack.wait_for_all_executions()

    assert first != second
    for arn in (first, second):
        assert arn.startswith(
            "arn:aws:states:us-east-1:123456789012:express:ptm-test-process-task:same-name:"
        )
    assert sorted(execution["executionArn"] for execution in executions) == sorted([first, second])
    assert stack.task(task_id).attempts == 1
    assert stack.completed_work == [task_id]


@pytest.mark.parametrize(
    ("function", "queue", "setup"),
    [
        (Function.DISPATCH, "tasks_queue_url", None),
        (Function.MONITOR, "dead_letter_queue_url", "lose the table"),
    ],
)
def test_a_batch_whose_every_record_fails_is_a_partial_response_not_a_function_error(
    stack: Stack, function: Function, queue: str, setup: str | None
) -> None:
    """One poison message alone in its batch (or a store that refuses every record) returns every
    record for redelivery, as a raised error would, but the invocation succeeds: the function's
    Errors alarm counts functions that failed, not messages (those reach the DLQ and its metrics)."""
    body = "not json" if function is Function.DISPATCH else json.dumps({"taskId": stack.submit({"n": 1})})
    stack.clients.sqs.send_message(QueueUrl=getattr(stack.resources, queue), MessageBody=body)
    if setup:
        stack.clients.dynamodb.delete_table(TableName=stack.resources.table)

    poll = stack.event_source(function).poll_once()

    assert (poll.received, poll.deleted, poll.failed, poll.function_error) == (1, 0, 1, None)
    assert len(stack.queue_messages(getattr(stack.resources, queue))) == 1
