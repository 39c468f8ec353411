"""The submit handler behind an API Gateway HTTP API event, against moto's DynamoDB and SQS."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from functions.common.aws import answer_by, dynamodb_client, sqs_client
from functions.common.clock import utc_now
from functions.common.config import MAX_PAYLOAD_BYTES, SdkBudget
from functions.common.errors import DependencyUnavailableError
from functions.common.models import TaskStatus
from functions.common.tasks_queue import TasksQueue
from functions.common.tasks_table import TasksTable
from functions.common.tasks_table.codec import payload_attributes, payload_key
from functions.usecases.reconciliation import reenqueue_stale
from functions.usecases.submission import task_id_for
from infra.limits import API_MARGIN_SECONDS
from infra.names import Function
from infra.spec import FUNCTIONS, ApiTrigger, trigger_of
from local.api_events import http_api_event
from tests.fixtures.hung import black_hole
from tests.fixtures.stack import Stack
from tests.fixtures.strict_json import strict_json
from tests.fixtures.tasks import request_hash


def _queued_ids(stack: Stack) -> list[str]:
    return [
        json.loads(message["Body"])["taskId"]
        for message in stack.queue_messages(stack.resources.tasks_queue_url)
    ]


def _assert_error(response: object, status: int, code: str) -> None:
    assert response.status == status, response.body  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/json"  # type: ignore[attr-defined]
    assert response.body["error"]["code"] == code  # type: ignore[attr-defined]
    assert response.body["error"]["message"]  # type: ignore[attr-defined]


def test_post_accepts_a_task_records_it_and_enqueues_it(stack: Stack) -> None:
    response = stack.api("POST", "/tasks", {"hello": "world"})

    assert response.status == 202
    task_id = response.body["taskId"]
    assert response.body == {"taskId": task_id, "status": "QUEUED"}
    assert response.headers["location"] == f"/tasks/{task_id}"
    task = stack.task(task_id)
    assert task.status is TaskStatus.QUEUED
    assert task.payload == {"hello": "world"}
    assert task.attempts == 0
    assert _queued_ids(stack) == [task_id]


def test_get_returns_the_record_in_camel_case(stack: Stack) -> None:
    task_id = stack.submit({"a": 1}, key="get-me")

    response = stack.api("GET", f"/tasks/{task_id}")

    assert response.status == 200
    assert response.body["taskId"] == task_id
    assert response.body["status"] == "QUEUED"
    assert response.body["payload"] == {"a": 1}
    assert response.body["idempotencyKey"] == "get-me"
    assert {"createdAt", "updatedAt", "attempts"} <= response.body.keys()
    assert "requestHash" not in response.body


@pytest.mark.parametrize(
    "task_id", ["does-not-exist", "..%2F..%2Fetc", "00000000-0000-0000-0000-000000000000"]
)
def test_get_unknown_task_is_404_json(stack: Stack, task_id: str) -> None:
    _assert_error(stack.api("GET", f"/tasks/{task_id}"), 404, "TASK_NOT_FOUND")


def test_unknown_route_is_404_json(stack: Stack) -> None:
    _assert_error(stack.api("PUT", "/nowhere"), 404, "NOT_FOUND")


def test_idempotency_key_replay_returns_the_same_task_and_creates_nothing_new(stack: Stack) -> None:
    first = stack.api("POST", "/tasks", {"b": 2, "a": 1}, {"Idempotency-Key": "order-42"})
    replay = stack.api("POST", "/tasks", '{"a": 1,   "b": 2}', {"Idempotency-Key": "order-42"})

    assert first.status == replay.status == 202
    assert replay.body == first.body
    assert replay.headers["idempotent-replayed"] == "true"
    assert first.headers["idempotent-replayed"] == "false"
    # One item: the record, its small body inline (docs/contributing/DATA_MODEL.md).
    assert stack.clients.dynamodb.scan(TableName=stack.resources.table, Select="COUNT")["Count"] == 1
    # Still QUEUED: its message is sent again (harmless: one execution can claim it).
    assert _queued_ids(stack) == [first.body["taskId"]] * 2


def test_a_replay_enqueues_a_submit_whose_enqueue_never_happened(stack: Stack) -> None:
    """The first request wrote the record, then SQS failed it (or its function timed out): the
    caller retries with the same key, and that replay sends the message, without waiting for
    reconcile's threshold."""
    sends = stack.dependencies(Function.API).queue._client.meta.events
    sends.register("before-call.sqs.SendMessage", _throttled, unique_id="outage")
    first = stack.api("POST", "/tasks", {"a": 1}, {"Idempotency-Key": "order-44"})
    assert first.status == 202
    assert _queued_ids(stack) == []

    sends.unregister("before-call.sqs.SendMessage", unique_id="outage")
    replay = stack.api("POST", "/tasks", {"a": 1}, {"Idempotency-Key": "order-44"})

    assert (replay.status, replay.body) == (202, first.body)
    assert _queued_ids(stack) == [first.body["taskId"]]


def test_a_replay_of_a_task_that_moved_on_enqueues_nothing(stack: Stack) -> None:
    task_id = stack.submit({"a": 1}, key="order-45")
    stack.clients.sqs.purge_queue(QueueUrl=stack.resources.tasks_queue_url)
    stack.table.cancel(task_id, utc_now())

    replay = stack.api("POST", "/tasks", {"a": 1}, {"Idempotency-Key": "order-45"})

    assert (replay.status, replay.body["status"]) == (202, "CANCELLED")
    assert _queued_ids(stack) == []


def test_idempotency_key_with_a_different_body_is_409_and_writes_nothing(stack: Stack) -> None:
    first = stack.api("POST", "/tasks", {"a": 1}, {"Idempotency-Key": "order-43"})
    conflict = stack.api("POST", "/tasks", {"a": 2}, {"Idempotency-Key": "order-43"})

    _assert_error(conflict, 409, "IDEMPOTENCY_KEY_REUSED")
    assert stack.task(first.body["taskId"]).payload == {"a": 1}
    assert len(_queued_ids(stack)) == 1


def test_a_replay_with_the_same_numbers_written_another_way_is_the_same_task(stack: Stack) -> None:
    first = stack.api("POST", "/tasks", '{"amount": 100.0, "n": 50}', {"Idempotency-Key": "numbers-1"})
    again = stack.api("POST", "/tasks", '{"n": 5E1, "amount": 1E2}', {"Idempotency-Key": "numbers-1"})

    assert (again.status, again.body["taskId"]) == (202, first.body["taskId"])
    assert again.headers["idempotent-replayed"] == "true"


def test_numbers_a_double_cannot_tell_apart_are_different_bodies(stack: Stack) -> None:
    stack.api("POST", "/tasks", '{"amount": 0.1}', {"Idempotency-Key": "numbers-2"})
    other = stack.api(
        "POST", "/tasks", '{"amount": 0.10000000000000000001}', {"Idempotency-Key": "numbers-2"}
    )

    _assert_error(other, 409, "IDEMPOTENCY_KEY_REUSED")


def test_a_task_accepted_before_numbers_were_kept_exactly_still_matches_its_replay(stack: Stack) -> None:
    """Its record keeps the hash the earlier version wrote: the body with its numbers read as
    doubles, sorted and compact (computed here as that version did)."""
    body = '{"amount": 0.1234567890123456789012, "n": [1, 2.5], "delaySeconds": 60}'
    first = stack.api("POST", "/tasks", body, {"Idempotency-Key": "before-the-upgrade"})
    legacy = hashlib.sha256(
        json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    stack.clients.dynamodb.update_item(
        TableName=stack.resources.table,
        Key={"taskId": {"S": first.body["taskId"]}},
        UpdateExpression="SET requestHash = :legacy",
        ExpressionAttributeValues={":legacy": {"S": legacy}},
    )

    replay = stack.api("POST", "/tasks", body, {"Idempotency-Key": "before-the-upgrade"})
    other = stack.api("POST", "/tasks", body.replace("2.5", "3.5"), {"Idempotency-Key": "before-the-upgrade"})

    assert (replay.status, replay.body["taskId"]) == (202, first.body["taskId"])
    _assert_error(other, 409, "IDEMPOTENCY_KEY_REUSED")


def test_the_payload_comes_back_with_every_digit_it_was_sent_with(stack: Stack) -> None:
    sent = '{"a": 1E2, "b": 0.1234567890123456789012, "c": 1e-400, "d": 1e400, "e": [-0.0, 10.50]}'
    task_id = stack.api("POST", "/tasks", sent).body["taskId"]

    returned = stack.api("GET", f"/tasks/{task_id}")

    assert strict_json(returned.text, exact=True)["payload"] == json.loads(sent, parse_float=Decimal)
    assert '"b":0.1234567890123456789012' in returned.text


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json", "INVALID_JSON"),
        ("", "INVALID_JSON"),
        ('{"unterminated": ', "INVALID_JSON"),
        ("[1, 2]", "PAYLOAD_NOT_OBJECT"),
        ('"text"', "PAYLOAD_NOT_OBJECT"),
        ("42", "PAYLOAD_NOT_OBJECT"),
        ("null", "PAYLOAD_NOT_OBJECT"),
        ('{"simulate": {"failures": "many"}}', "INVALID_REQUEST"),
        ('{"simulate": {"unknown": 1}}', "INVALID_REQUEST"),
        ("[" * 5000 + "]" * 5000, "INVALID_JSON"),
        ('{"a":' * 100 + "1" + "}" * 100, "INVALID_REQUEST"),
    ],
)
def test_bad_bodies_are_400_and_write_nothing(stack: Stack, body: str, code: str) -> None:
    _assert_error(stack.api("POST", "/tasks", body), 400, code)
    assert stack.clients.dynamodb.scan(TableName=stack.resources.table)["Count"] == 0
    assert _queued_ids(stack) == []


def test_invalid_utf8_body_is_400(stack: Stack) -> None:
    _assert_error(stack.api("POST", "/tasks", b'{"a": "\xff\xfe"}'), 400, "INVALID_JSON")


def test_base64_encoded_body_is_decoded(stack: Stack) -> None:
    from local.api_events import http_api_event

    event = http_api_event("POST", "/tasks", body=b"{}")
    event.update(body=base64.b64encode(b'{"binary": true}').decode(), isBase64Encoded=True)
    response = stack.handlers[Function.API].lambda_handler(event, stack.context(Function.API))
    assert response["statusCode"] == 202
    assert stack.task(json.loads(response["body"])["taskId"]).payload == {"binary": True}


@pytest.mark.parametrize("key", ["", "k" * 129, "tab\tkey", "naïve"])
def test_invalid_idempotency_key_is_400(stack: Stack, key: str) -> None:
    _assert_error(
        stack.api("POST", "/tasks", {"a": 1}, {"Idempotency-Key": key}), 400, "INVALID_IDEMPOTENCY_KEY"
    )


def test_longest_idempotency_key_is_accepted(stack: Stack) -> None:
    assert stack.api("POST", "/tasks", {"a": 1}, {"Idempotency-Key": "k" * 128}).status == 202


def _body_of_size(size: int) -> str:
    """Random base64 text: it does not compress into its record, so the largest body is stored."""
    prefix, suffix = '{"blob": "', '"}'
    blob = base64.b64encode(random.Random(size).randbytes(size)).decode()
    return prefix + blob[: size - len(prefix) - len(suffix)] + suffix


def test_body_at_the_limit_is_accepted_and_one_byte_over_is_413(stack: Stack) -> None:
    assert stack.api("POST", "/tasks", _body_of_size(MAX_PAYLOAD_BYTES)).status == 202
    _assert_error(stack.api("POST", "/tasks", _body_of_size(MAX_PAYLOAD_BYTES + 1)), 413, "PAYLOAD_TOO_LARGE")
    items = stack.clients.dynamodb.scan(TableName=stack.resources.table)["Items"]
    assert len([item for item in items if "status" in item]) == 1, "one record"
    assert len([item for item in items if "#payload#" in item["taskId"]["S"]]) == 1, "and its payload"


def _throttled(**_: Any) -> None:
    raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, "SendMessage")


def _throttle_sends(stack: Stack) -> None:
    client = stack.dependencies(Function.API).queue._client
    client.meta.events.register("before-call.sqs.SendMessage", _throttled)


def test_enqueue_throttled_still_accepts_and_reconciliation_enqueues_later(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given SQS throttles the send past the SDK's retries, the client still gets 202 (the record
    is durable), the deferral is counted (it alarms), and the reconcile sweep re-enqueues the
    task once it is older than the threshold."""
    _throttle_sends(stack)

    response = stack.api("POST", "/tasks", {"a": 1})

    assert response.status == 202
    task_id = response.body["taskId"]
    assert stack.task(task_id).status is TaskStatus.QUEUED
    assert _queued_ids(stack) == []
    assert '"EnqueueDeferred":[1.0]' in capsys.readouterr().out

    queue = TasksQueue(stack.clients.sqs, stack.resources.tasks_queue_url)
    fresh, _ = reenqueue_stale(
        table=stack.table, queue=queue, clock=utc_now, older_than=timedelta(minutes=15)
    )
    assert fresh == []
    later = lambda: utc_now() + timedelta(minutes=16)  # noqa: E731
    reenqueued, refused = reenqueue_stale(
        table=stack.table, queue=queue, clock=later, older_than=timedelta(minutes=15)
    )
    assert (reenqueued, refused) == ([task_id], [])
    assert _queued_ids(stack) == [task_id]


def test_a_missing_queue_is_a_loud_500_not_a_deferred_enqueue(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong queue URL or a missing permission is no busy queue: no retry fixes it, so the
    caller gets a 500 and the DependencyMisconfigured metric (which alarms) is counted."""
    stack.clients.sqs.delete_queue(QueueUrl=stack.resources.tasks_queue_url)

    response = stack.api("POST", "/tasks", {"a": 1})

    _assert_error(response, 500, "MISCONFIGURED")
    output = capsys.readouterr().out
    assert '"DependencyMisconfigured":[1.0]' in output
    assert "EnqueueDeferred" not in output


def test_store_unavailable_is_a_json_error_and_nothing_is_enqueued(stack: Stack) -> None:
    stack.clients.dynamodb.delete_table(TableName=stack.resources.table)

    response = stack.api("POST", "/tasks", {"a": 1})

    assert response.status == 500
    assert response.body["error"]["code"] == "MISCONFIGURED"
    assert _queued_ids(stack) == []


@pytest.mark.parametrize(
    ("body", "code", "detail"),
    [
        ({"type": "email", "to": "a@b.example"}, "UNKNOWN_TASK_TYPE", "knownTypes"),
        ({"type": "webhook"}, "INVALID_REQUEST", "fields"),
        (
            {"type": "webhook", "url": "https://169.254.169.254/latest/meta-data/"},
            "INVALID_REQUEST",
            "fields",
        ),
        ({"type": "webhook", "url": "https://[fd00:ec2::254]/"}, "INVALID_REQUEST", "fields"),
        ({"type": "webhook", "url": "http://hooks.example.com/"}, "INVALID_REQUEST", "fields"),
        (
            {"type": "webhook", "url": "https://h.example.com/", "headers": {"Host": "x"}},
            "INVALID_REQUEST",
            "fields",
        ),
    ],
)
def test_unknown_types_and_payloads_their_type_refuses_are_400_and_write_nothing(
    stack: Stack, body: dict[str, object], code: str, detail: str
) -> None:
    response = stack.api("POST", "/tasks", body, {"Idempotency-Key": "typed-1"})

    _assert_error(response, 400, code)
    assert response.body["error"][detail]
    assert stack.clients.dynamodb.scan(TableName=stack.resources.table)["Count"] == 0
    assert _queued_ids(stack) == []


def test_an_unknown_type_names_the_known_ones(stack: Stack) -> None:
    response = stack.api("POST", "/tasks", {"type": "email"})
    assert response.body["error"]["knownTypes"] == ["simulated", "webhook"]


def test_an_invalid_webhook_names_each_offending_field(stack: Stack) -> None:
    response = stack.api(
        "POST", "/tasks", {"type": "webhook", "url": "ftp://x.example", "timeoutSeconds": 99}
    )
    error = response.body["error"]
    assert error["taskType"] == "webhook"
    assert set(error["fields"]) == {"timeoutSeconds"}
    response = stack.api("POST", "/tasks", {"type": "webhook", "url": "ftp://x.example"})
    assert set(response.body["error"]["fields"]) == {"url"}
    assert "only https" in response.body["error"]["fields"]["url"]


def test_the_task_types_are_listed_with_their_schemas(stack: Stack) -> None:
    response = stack.api("GET", "/task-types")

    assert response.status == 200
    types = {entry["name"]: entry for entry in response.body["items"]}
    assert set(types) == {"simulated", "webhook"}
    assert types["simulated"]["default"] is True
    assert types["webhook"]["schema"]["properties"]["url"]["type"] == "string"


def test_a_typed_simulated_task_is_accepted_like_an_untyped_one(stack: Stack) -> None:
    response = stack.api("POST", "/tasks", {"type": "simulated", "n": 1})
    assert response.status == 202
    assert stack.task(response.body["taskId"]).payload == {"type": "simulated", "n": 1}


def test_webhooks_are_refused_where_the_deployment_has_not_enabled_them(stack: Stack) -> None:
    """Off unless the deployer says ``--context webhooks=on``: an open relay is opt-in."""
    api = stack.dependencies(Function.API)
    api.environment = dataclasses.replace(api.environment, webhooks_enabled=False)

    response = stack.api("POST", "/tasks", {"type": "webhook", "url": "https://hooks.example.com/"})

    _assert_error(response, 400, "TASK_TYPE_DISABLED")
    assert "webhooks=on" in response.body["error"]["message"]
    assert stack.clients.dynamodb.scan(TableName=stack.resources.table)["Count"] == 0
    types = {entry["name"]: entry for entry in stack.api("GET", "/task-types").body["items"]}
    assert types["webhook"]["enabled"] is False
    assert types["simulated"]["enabled"] is True


@pytest.mark.parametrize(
    ("service", "status"),
    [
        # The store never answers: nothing was accepted, so the caller is told to retry.
        ("dynamodb", 503),
        # The queue never answers: the record is durable; the enqueue is deferred to a replay or reconcile.
        ("sqs", 202),
    ],
)
def test_a_dependency_that_never_answers_gets_its_documented_answer_within_the_timeout(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, service: str, status: int
) -> None:
    """With the api function's SDK budget (connect and read timeouts, attempts), a hung
    dependency is a 503 with Retry-After (or a deferred enqueue) before the function's timeout,
    never Lambda's timeout and API Gateway's own 5xx."""
    api = FUNCTIONS[Function.API]
    dependencies = stack.dependencies(Function.API)
    with black_hole() as endpoint:
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service.upper()}", endpoint)
        if service == "dynamodb":
            dependencies.table = TasksTable(dynamodb_client(api.sdk), stack.resources.table)
        else:
            dependencies.queue = TasksQueue(sqs_client(api.sdk), stack.resources.tasks_queue_url)
        context = dataclasses.replace(stack.context(Function.API), timeout_seconds=api.timeout_seconds)
        started = time.monotonic()

        outcome, errored = stack.runtime.call(http_api_event("POST", "/tasks", body=b'{"a": 1}'), context)

        elapsed = time.monotonic() - started
    assert not errored, outcome
    assert outcome["statusCode"] == status, outcome
    assert elapsed < api.timeout_seconds
    assert elapsed <= api.sdk.worst_case_seconds() + API_MARGIN_SECONDS
    if status == 503:
        assert outcome["headers"]["Retry-After"] == "1"
        assert json.loads(outcome["body"])["error"]["code"] == "SERVICE_UNAVAILABLE"


def test_no_aws_call_attempt_starts_that_could_end_past_the_deadline(stack: Stack) -> None:
    """Inside answer_by, an attempt whose connect and read timeouts could carry it past the
    deadline is not started: the call fails at once as a busy dependency (whatever the number of
    calls a route makes: a listing under a crowd makes many)."""
    table = stack.dependencies(Function.API).table
    attempt = SdkBudget.INTERACTIVE.attempt_seconds
    started = time.monotonic()

    with answer_by(attempt - 0.3), pytest.raises(DependencyUnavailableError, match="deadline"):
        table.get("any-task")

    assert time.monotonic() - started < 0.3
    with answer_by(attempt + 5):
        assert table.get("any-task") is None


def test_a_request_with_too_little_time_left_is_a_503_before_the_timeout(stack: Stack) -> None:
    """The api handler keeps RESPONSE_RESERVE_SECONDS of its invocation for its own work: with
    less than that plus one attempt left, it answers 503 + Retry-After without calling AWS."""
    context = dataclasses.replace(stack.context(Function.API), timeout_seconds=2)

    outcome, errored = stack.runtime.call(http_api_event("POST", "/tasks", body=b'{"a": 1}'), context)

    assert not errored, outcome
    assert (outcome["statusCode"], outcome["headers"]["Retry-After"]) == (503, "1")
    assert stack.clients.dynamodb.scan(TableName=stack.resources.table, Select="COUNT")["Count"] == 0


def _nothing_written(stack: Stack) -> None:
    assert stack.clients.dynamodb.scan(TableName=stack.resources.table)["Count"] == 0
    assert _queued_ids(stack) == []
    group = stack.resources.names.schedule_group
    assert stack.clients.scheduler.list_schedules(GroupName=group)["Schedules"] == []


@pytest.mark.parametrize(
    ("schedule", "fields"),
    [
        ({"runAt": "2020-01-01T00:00:00Z"}, {"runAt"}),  # in the past
        ({"runAt": "2099-01-01T00:00:00Z"}, {"runAt"}),  # more than 365 days ahead
        ({"delaySeconds": -5}, {"delaySeconds"}),  # negative
        ({"delaySeconds": 60, "runAt": "2099-01-01T00:00:00Z"}, {"delaySeconds", "runAt"}),  # both
        ({"delaySeconds": "soon"}, {"delaySeconds"}),
        ({"runAt": "tomorrow"}, {"runAt"}),
    ],
)
def test_a_bad_delay_or_run_at_is_a_400_naming_the_field_and_writes_nothing(
    stack: Stack, schedule: dict[str, Any], fields: set[str]
) -> None:
    response = stack.api("POST", "/tasks", {"n": 1, **schedule})

    _assert_error(response, 400, "INVALID_SCHEDULE")
    assert set(response.body["error"]["fields"]) == fields
    _nothing_written(stack)


def test_the_reserved_keys_are_not_the_payload_of_any_task_type(stack: Stack) -> None:
    """The webhook type refuses unknown fields, yet not delaySeconds: its body never sees it (the
    one refusal here is the unknown field x)."""
    webhook = stack.api(
        "POST", "/tasks", {"type": "webhook", "url": "https://hooks.invalid/", "delaySeconds": 60, "x": 1}
    )
    assert webhook.status == 400
    assert set(webhook.body["error"]["fields"]) == {"x"}, "x is refused, delaySeconds is not"
    assert "delaySeconds" not in webhook.body["error"]["fields"], webhook.body

    response = stack.api("POST", "/tasks", {"type": "simulated", "n": 1, "delaySeconds": 60})

    assert response.status == 202, response.body
    task = stack.task(response.body["taskId"])
    assert task.status is TaskStatus.SCHEDULED
    assert task.payload == {"type": "simulated", "n": 1}


def test_a_schedule_scheduler_refuses_for_now_still_accepts_the_task_and_reconcile_sends_it_later(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    """Scheduler throttling past the SDK's retries is a busy dependency, as an SQS send is: the
    record is durable (202, EnqueueDeferred counted), and reconcile enqueues the task once it is
    overdue by the threshold."""

    def _throttled(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "CreateSchedule"
        )

    stack.dependencies(Function.API).schedules._client.meta.events.register(
        "before-call.scheduler.CreateSchedule", _throttled
    )
    run_at = utc_now() + timedelta(hours=2)

    response = stack.api("POST", "/tasks", {"a": 1, "runAt": run_at.isoformat()})

    assert response.status == 202, response.body
    task_id = response.body["taskId"]
    assert '"EnqueueDeferred":[1.0]' in capsys.readouterr().out
    assert stack.table.index.scheduled_due_before(run_at + timedelta(minutes=15), 10) == [(task_id, 1)]
    assert stack.table.index.scheduled_due_before(run_at, 10) == []


@contextmanager
def _counted_calls(stack: Stack) -> Iterator[list[str]]:
    """Every AWS call the api function makes, in order (one per call, its retries not counted)."""
    deps = stack.dependencies(Function.API)
    clients = {
        id(client): client for client in (deps.table._client, deps.queue._client, deps.schedules._client)
    }
    calls: list[str] = []

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    for client in clients.values():
        client.meta.events.register("before-call", count)
    try:
        yield calls
    finally:
        for client in clients.values():
            client.meta.events.unregister("before-call", count)


def _far_ahead() -> str:
    return (utc_now() + timedelta(hours=2)).isoformat(timespec="seconds")


def test_no_route_makes_more_aws_calls_in_a_row_than_the_spec_counts(stack: Stack) -> None:
    """The spec's count bounds the api's answer time (calls x SDK budget + its own work, under
    the function's timeout): each route's paths, counted as the code runs them, the worst being a
    large body scheduled far ahead whose payload item an earlier attempt already wrote (the
    payload, the record, the payload's expiry cleared, the schedule)."""
    large = _body_of_size(8_000)
    paths: dict[str, tuple[str, str, Any, dict[str, str] | None]] = {
        "a small body": ("POST", "/tasks", {"n": 1}, None),
        "a large body": ("POST", "/tasks", large, {"Idempotency-Key": "calls-large"}),
        "its replay": ("POST", "/tasks", large, {"Idempotency-Key": "calls-large"}),
    }
    counted = {}
    for name, (method, path, body, headers) in paths.items():
        with _counted_calls(stack) as calls:
            assert stack.api(method, path, body, headers).status == 202
        counted[name] = calls
    scheduled = json.loads(large) | {"runAt": _far_ahead()}
    key = "calls-retried"
    task_id = task_id_for(key)
    # An earlier attempt of this very request wrote its payload item, then died before its record.
    serialize = TypeSerializer().serialize
    stack.clients.dynamodb.put_item(
        TableName=stack.resources.table,
        Item={
            "taskId": {"S": payload_key(task_id, request_hash(scheduled))},
            **{name: serialize(value) for name, value in payload_attributes(json.loads(large)).items()},
        },
    )
    with _counted_calls(stack) as calls:
        assert stack.api("POST", "/tasks", json.dumps(scheduled), {"Idempotency-Key": key}).status == 202
    counted["a retried large body scheduled far ahead"] = calls
    with _counted_calls(stack) as calls:
        assert stack.api("DELETE", f"/tasks/{task_id}").status == 200
    counted["cancel a scheduled task"] = calls

    spec = trigger_of(Function.API, ApiTrigger).max_sequential_calls
    assert counted["a retried large body scheduled far ahead"] == [
        "PutItem",
        "PutItem",
        "UpdateItem",
        "CreateSchedule",
    ]
    assert max(len(calls) for calls in counted.values()) == spec, counted
