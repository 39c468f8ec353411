"""Hostile requests over real HTTP against the local stack: always a JSON 4xx (or 202), never
a 5xx, a crash, a lost task or a partial write."""

from __future__ import annotations

import base64
import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest

from functions.usecases.submission import task_id_for
from tests.e2e.conftest import NAMES, RunningStack
from tests.fixtures.strict_json import strict_json


def _request(
    stack: RunningStack,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    url = urlsplit(stack.api)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=15)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        raw = response.read()
        assert response.getheader("Content-Type", "").startswith("application/json"), raw[:200]
        return response.status, strict_json(raw)
    finally:
        connection.close()


def _object_of_size(size: int) -> bytes:
    prefix, suffix = b'{"blob": "', b'"}'
    return prefix + b"x" * (size - len(prefix) - len(suffix)) + suffix


@pytest.mark.parametrize(
    ("name", "body", "headers", "status"),
    [
        ("invalid UTF-8", b'{"a": "\xff\xfe\xfd"}', {}, 400),
        ("deeply nested arrays", b"[" * 100_000 + b"]" * 100_000, {}, 400),
        ("deeply nested objects", b'{"a":' * 1000 + b"1" + b"}" * 1000, {}, 400),
        ("199 KiB", _object_of_size(199 * 1024), {}, 202),
        ("201 KiB", _object_of_size(201 * 1024), {}, 413),
        ("XML", b"<task><a>1</a></task>", {"Content-Type": "application/xml"}, 400),
        ("form", b"a=1&b=2", {"Content-Type": "application/x-www-form-urlencoded"}, 400),
        ("JSON as text/plain", b'{"a": 1}', {"Content-Type": "text/plain"}, 202),
        ("129-char key", b'{"a": 1}', {"Idempotency-Key": "k" * 129}, 400),
        ("control char in key", b'{"a": 1}', {"Idempotency-Key": "a\x01b"}, 400),
        ("NaN", b'{"a": NaN}', {}, 400),
        ("Infinity", b'{"a": -Infinity}', {}, 400),
        ("huge number", b'{"a": 1' + b"0" * 5000 + b"}", {}, 400),
        ("a UTF-8 byte order mark", b'\xef\xbb\xbf{"a": 1}', {}, 400),
        ("UTF-16 with its byte order mark", '{"a": 1}'.encode("utf-16"), {}, 400),
        ("UTF-16 without one", '{"a": 1}'.encode("utf-16-le"), {}, 400),
        ("UTF-32", '{"a": 1}'.encode("utf-32"), {}, 400),
        ("a name twice", b'{"type": "webhook", "type": "simulated"}', {}, 400),
        ("a name twice, deep down", b'{"a": {"b": [{"c": 1, "c": 1}]}}', {}, 400),
        ("lone high surrogate", b'{"a": "\\ud800"}', {}, 400),
        ("lone low surrogate as a key", b'{"\\udc00": 1}', {}, 400),
    ],
)
def test_hostile_bodies_and_headers(
    local_stack: RunningStack, name: str, body: bytes, headers: dict[str, str], status: int
) -> None:
    code, payload = _request(local_stack, "POST", "/tasks", body, headers)
    assert code == status, (name, payload)
    if status >= 400:
        assert payload["error"]["code"]
        assert payload["error"]["message"]


@pytest.mark.parametrize("body", [b'{"a": "\\ud800"}', b'{"\\udfff": {"b": 2}}', b'{"a": 1, "a": 2}'])
def test_json_that_python_parses_but_json_cannot_hold_is_refused_and_nothing_is_kept(
    local_stack: RunningStack, body: bytes
) -> None:
    """No record, no payload item, no message: a refused body leaves no trace (the key is never
    bound either, so the same key with a valid body is a new task)."""
    key = f"hostile-{body.hex()}"
    code, payload = _request(local_stack, "POST", "/tasks", body, {"Idempotency-Key": key})

    assert code == 400
    assert payload["error"]["code"] == "INVALID_JSON"
    task_id = task_id_for(key)
    clients = local_stack.clients()
    found = clients.dynamodb.scan(
        TableName=NAMES.table,
        FilterExpression="begins_with(taskId, :id)",
        ExpressionAttributeValues={":id": {"S": task_id}},
    )["Items"]
    assert found == []
    code, accepted = _request(local_stack, "POST", "/tasks", b'{"a": 1}', {"Idempotency-Key": key})
    assert (code, accepted["taskId"]) == (202, task_id)


def test_huge_headers_are_a_json_4xx(local_stack: RunningStack) -> None:
    code, payload = _request(local_stack, "POST", "/tasks", b"{}", {"X-Padding": "p" * 70_000})
    assert 400 <= code < 500
    assert payload["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/tasks/..%2F..%2Fetc%2Fpasswd",
        "/tasks/%00",
        "/tasks/" + "a" * 5000,
        "/tasks/%E2%80%AE",
        "/tasks/../tasks",
    ],
)
def test_path_tricks_are_404_json(local_stack: RunningStack, path: str) -> None:
    code, payload = _request(local_stack, "GET", path)
    assert code == 404
    assert payload


def test_concurrent_posts_with_one_key_create_exactly_one_task(local_stack: RunningStack) -> None:
    results: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def post() -> None:
        outcome = _request(local_stack, "POST", "/tasks", b'{"same": true}', {"Idempotency-Key": "race-1"})
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 20
    assert {code for code, _ in results} == {202}
    assert len({body["taskId"] for _, body in results}) == 1
    task_id = results[0][1]["taskId"]
    dynamodb = local_stack.clients().dynamodb
    items = dynamodb.scan(
        TableName=NAMES.table,
        FilterExpression="idempotencyKey = :k",
        ExpressionAttributeValues={":k": {"S": "race-1"}},
    )["Items"]
    assert [item["taskId"]["S"] for item in items] == [task_id]


WEBHOOK = {"type": "webhook", "url": "https://1.1.1.1/in", "body": {"n": 1}}
"""Each refused below before any delivery: nothing is ever sent to this address."""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**WEBHOOK, "headers": {"X-A": "\u65e5\u672c"}}, "headers"),
        ({**WEBHOOK, "headers": {"X-A": "a\u2028b"}}, "headers"),
        ({**WEBHOOK, "headers": {"X-A": "1", "x-a": "2"}}, "headers"),
        ({**WEBHOOK, "url": "https://1.1.1.1:0/in"}, "url"),
        ({**WEBHOOK, "timeoutSeconds": "5"}, "timeoutSeconds"),
        ({**WEBHOOK, "timeoutSeconds": True}, "timeoutSeconds"),
        ({**WEBHOOK, "timeout_seconds": 5}, "timeout_seconds"),
        ({"n": 1, "runAt": "2030-01-01T00:00:00+00:99"}, "runAt"),
        ({"n": 1, "runAt": "2030-01-01T00:00:00+00:60"}, "runAt"),
        ({"n": 1, "runAt": "2030-01-01T00:00:00-00:60"}, "runAt"),
    ],
    ids=lambda value: str(value)[:60],
)
def test_what_could_be_accepted_but_never_delivered_is_a_400_naming_the_field(
    local_stack: RunningStack, body: dict[str, Any], field: str
) -> None:
    code, payload = _request(local_stack, "POST", "/tasks", json.dumps(body).encode())

    assert code == 400, payload
    assert field in payload["error"]["fields"]


SUPERSCRIPT_TWO = "\u00b2"


def _token(body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("status=QUEUED&limit=%C2%B2", "INVALID_QUERY"),
        ("status=QUEUED&limit=%D9%A1%D9%A0", "INVALID_QUERY"),
        ("status=QUEUED&limit=" + "9" * 5001, "INVALID_QUERY"),
        (
            "status=QUEUED&nextToken=" + _token({"s": "QUEUED", "c": {SUPERSCRIPT_TWO: None}}),
            "INVALID_NEXT_TOKEN",
        ),
        ("status=QUEUED&nextToken=" + _token({"s": "QUEUED", "c": {"7" * 5000: None}}), "INVALID_NEXT_TOKEN"),
        ("status=QUEUED&nextToken=" + base64.urlsafe_b64encode(b"[" * 5000).decode(), "INVALID_NEXT_TOKEN"),
    ],
    ids=lambda value: str(value)[:48],
)
def test_a_bad_listing_query_or_token_is_a_400_never_a_500(
    local_stack: RunningStack, query: str, code: str
) -> None:
    status, payload = _request(local_stack, "GET", f"/tasks?{query}")

    assert (status, payload["error"]["code"]) == (400, code)


NUMBERS = [
    b'{"a": 1E2}',
    b'{"a": 0.1234567890123456789012}',
    b'{"a": 1e-400, "b": 1e400, "c": -1E309}',
    b'{"a": [-0.0, 10.50, 5E-7]}',
    b'{"a": 123456789012345678901234567890}',
]


def test_numbers_come_back_with_every_digit_they_were_sent_with(local_stack: RunningStack) -> None:
    """Submitted concurrently, read back over HTTP: ``Decimal(returned) == Decimal(sent)``."""
    with ThreadPoolExecutor(len(NUMBERS)) as pool:
        accepted = list(pool.map(lambda body: _request(local_stack, "POST", "/tasks", body), NUMBERS))

    for body, (code, answer) in zip(NUMBERS, accepted, strict=True):
        assert code == 202, answer
        returned = _raw(local_stack, f"/tasks/{answer['taskId']}")
        assert strict_json(returned, exact=True)["payload"] == json.loads(body, parse_float=Decimal)


def _raw(stack: RunningStack, path: str) -> bytes:
    url = urlsplit(stack.api)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=15)
    try:
        connection.request("GET", path)
        return connection.getresponse().read()
    finally:
        connection.close()
