"""The floor for the local-stack benchmark: the pipeline's AWS API calls, issued directly.

Per task the pipeline makes, against the emulator: two conditional PutItems (the payload, then
the record) and a SendMessage (submit); a share of ReceiveMessage, BatchGetItem and
DeleteMessageBatch (dispatch, batches of 10); a StartExecution of an Express state machine;
and two conditional UpdateItems (the claim and the success write, made by the process
function). The floor makes the same calls with plain boto3 and no handler code: the state
machine does the two UpdateItems itself as ``dynamodb:updateItem`` task states, so the
emulator's interpreter cost stays in the floor. Its own table, queue and state machine keep
it apart from the pipeline's records.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from functions.common.config import PHASE_INDEX
from functions.common.status_shards import SHARD_ATTRIBUTE, SHARDS, phase_shard, shard_of
from functions.common.workflow import execution_input
from infra.names import StageNames
from local.emulator import Clients
from local.provision import create_table

DISPATCH_BATCH = 10


def _update(table: str, set_status: str, condition_status: str, claim: bool) -> dict[str, Any]:
    update = "SET #s = :new, updatedAt = :now"
    values: dict[str, Any] = {
        ":new": {"S": set_status},
        ":old": {"S": condition_status},
        ":now": {"S.$": "$$.State.EnteredTime"},
    }
    if not claim:  # a claim stays in the ACTIVE phase: the index key is left alone
        update += f", {SHARD_ATTRIBUTE} = :shard"
        values[":shard"] = {"S.$": f"States.Format('{set_status}#{{}}', $.shard)"}
    else:
        update += ", attempts = attempts + :one, executionArn = :execution"
        values |= {":one": {"N": "1"}, ":execution": {"S.$": "$$.Execution.Id"}}
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:updateItem",
        "Parameters": {
            "TableName": table,
            "Key": {"taskId": {"S.$": "$.taskId"}},
            "UpdateExpression": update,
            "ConditionExpression": "#s = :old",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": values,
        },
        "ResultPath": None,
    }


def definition(table: str) -> str:
    return json.dumps(
        {
            "Comment": "Benchmark floor: the process function's two conditional writes, without Lambda.",
            "StartAt": "Claim",
            "States": {
                "Claim": _update(table, "RUNNING", "QUEUED", claim=True) | {"Next": "Succeed"},
                "Succeed": _update(table, "SUCCEEDED", "RUNNING", claim=False) | {"End": True},
            },
        }
    )


@dataclass(frozen=True)
class FloorResources:
    table: str
    queue_url: str
    state_machine_arn: str


def provision_floor(clients: Clients, names: StageNames) -> FloorResources:
    table = f"{names.table}-floor"
    create_table(clients, table)
    queue_url = clients.sqs.create_queue(QueueName=f"{names.tasks_queue}-floor")["QueueUrl"]
    role_arn = clients.iam.get_role(RoleName=f"{names.state_machine}-local")["Role"]["Arn"]
    arn = clients.sfn.create_state_machine(
        name=f"{names.state_machine}-floor", definition=definition(table), roleArn=role_arn, type="EXPRESS"
    )["stateMachineArn"]
    return FloorResources(table, queue_url, arn)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _submit(clients: Clients, floor: FloorResources, index: int) -> float:
    started = time.perf_counter()
    task_id, now = str(uuid.uuid4()), _now()
    clients.dynamodb.put_item(
        TableName=floor.table,
        Item={"taskId": {"S": f"{task_id}#payload"}, "payload": {"S": json.dumps({"bench": index})}},
        ConditionExpression="attribute_not_exists(taskId)",
    )
    clients.dynamodb.put_item(
        TableName=floor.table,
        Item={
            "taskId": {"S": task_id},
            "status": {"S": "QUEUED"},
            SHARD_ATTRIBUTE: {"S": phase_shard("QUEUED", shard_of(task_id))},
            "attempts": {"N": "0"},
            "runs": {"N": "1"},
            "createdAt": {"S": now},
            "updatedAt": {"S": now},
            "requestHash": {"S": uuid.uuid4().hex},
        },
        ConditionExpression="attribute_not_exists(taskId)",
    )
    clients.sqs.send_message(QueueUrl=floor.queue_url, MessageBody=json.dumps({"taskId": task_id, "run": 1}))
    return time.perf_counter() - started


def _dispatch(clients: Clients, floor: FloorResources, stop: threading.Event) -> None:
    while not stop.is_set():
        messages = clients.sqs.receive_message(
            QueueUrl=floor.queue_url,
            MaxNumberOfMessages=DISPATCH_BATCH,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            continue
        ids = [json.loads(message["Body"])["taskId"] for message in messages]
        clients.dynamodb.batch_get_item(
            RequestItems={
                floor.table: {
                    "Keys": [{"taskId": {"S": task_id}} for task_id in ids],
                    "ProjectionExpression": "taskId, #s",
                    "ExpressionAttributeNames": {"#s": "status"},
                }
            }
        )
        for task_id in ids:
            clients.sfn.start_execution(
                stateMachineArn=floor.state_machine_arn,
                name=f"{task_id}-1-1",
                input=execution_input(task_id),
            )
        clients.sqs.delete_message_batch(
            QueueUrl=floor.queue_url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(messages)
            ],
        )


def count(clients: Clients, table: str, status: str) -> int:
    """Tasks in a terminal ``status``, counted through every shard of its byPhase index entries."""
    total = 0
    for shard in range(SHARDS):
        arguments: dict[str, Any] = {
            "TableName": table,
            "IndexName": PHASE_INDEX,
            "KeyConditionExpression": "#k = :k",
            "ExpressionAttributeNames": {"#k": SHARD_ATTRIBUTE},
            "ExpressionAttributeValues": {":k": {"S": phase_shard(status, shard)}},
            "Select": "COUNT",
        }
        for page in clients.dynamodb.get_paginator("query").paginate(**arguments):
            total += page["Count"]
    return total


def wait_for(done: Callable[[], int], target: int, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline and done() < target:
        time.sleep(1.0)


@dataclass(frozen=True)
class FloorRun:
    submit_latencies: list[float]
    submit_seconds: float
    items: list[dict[str, Any]]


def run_floor(
    clients: Clients,
    floor: FloorResources,
    *,
    tasks: int,
    client_threads: int,
    dispatchers: int,
    timeout: float,
) -> FloorRun:
    stop = threading.Event()
    with ThreadPoolExecutor(dispatchers, thread_name_prefix="floor-dispatch") as consumer_pool:
        consumers = [consumer_pool.submit(_dispatch, clients, floor, stop) for _ in range(dispatchers)]
        try:
            began = time.perf_counter()
            with ThreadPoolExecutor(client_threads) as pool:
                latencies = list(pool.map(lambda index: _submit(clients, floor, index), range(tasks)))
            submit_seconds = time.perf_counter() - began
            # A dispatcher that died ends the wait (its error is raised below).
            wait_for(
                lambda: (
                    tasks
                    if any(consumer.done() for consumer in consumers)
                    else count(clients, floor.table, "SUCCEEDED")
                ),
                tasks,
                timeout,
            )
        finally:
            stop.set()
    for consumer in consumers:
        consumer.result()
    items = [
        item
        for page in clients.dynamodb.get_paginator("scan").paginate(TableName=floor.table)
        for item in page["Items"]
    ]
    return FloorRun(latencies, submit_seconds, items)
