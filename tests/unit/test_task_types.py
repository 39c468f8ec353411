"""The task-type registry: the default type, unknown types, invalid payloads, the schemas."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from functions.common.errors import (
    InvalidRequestError,
    PermanentTaskError,
    TaskTypeDisabledError,
    UnknownTaskTypeError,
)
from functions.task_types import TASK_TYPES
from functions.task_types.registry import TaskEnvironment
from functions.task_types.webhook import REFUSED_HEADERS, WebhookPayload
from functions.usecases.submission import parse_body
from tests.fixtures.task_types import runner
from tests.fixtures.tasks import make_task


def test_a_body_without_a_type_is_the_default_simulated_type() -> None:
    assert TASK_TYPES.default.name == "simulated"
    assert TASK_TYPES.of({"hello": "world"}) is TASK_TYPES.default
    assert TASK_TYPES.of({"type": "simulated", "n": 1}) is TASK_TYPES.default
    assert parse_body(b'{"hello": "world", "nested": {"type": "anything"}}').payload == {
        "hello": "world",
        "nested": {"type": "anything"},
    }
    assert runner(TaskEnvironment())(make_task(payload={"n": 1}))["attempt"] == 1


@pytest.mark.parametrize("name", ["email", "", "WEBHOOK", 7, ["webhook"], {"name": "webhook"}])
def test_an_unknown_type_is_400_listing_the_known_ones(name: object) -> None:
    body = json.dumps({"type": name, "url": "https://a.example"}).encode()
    with pytest.raises(UnknownTaskTypeError) as refused:
        parse_body(body)
    assert refused.value.status_code == 400
    assert refused.value.details["knownTypes"] == ["simulated", "webhook"]
    assert "simulated, webhook" in refused.value.message


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (b'{"type": "webhook"}', {"url"}),
        (b'{"type": "webhook", "url": 5}', {"url"}),
        (b'{"type": "webhook", "url": "https://a.example", "extra": 1}', {"extra"}),
        (b'{"type": "webhook", "url": "https://a.example", "timeoutSeconds": 60}', {"timeoutSeconds"}),
        (b'{"type": "webhook", "url": "https://a.example", "headers": {"Host": "b"}}', {"headers"}),
        (b'{"type": "webhook", "url": "https://a.example", "headers": {"X-A": 1}}', {"headers.X-A"}),
        (b'{"type": "webhook", "url": "ftp://a.example"}', {"url"}),
        (b'{"type": "webhook", "url": "https://1.1.1.1:0/"}', {"url"}),
        (b'{"type": "webhook", "url": "https://a.example", "timeoutSeconds": "5"}', {"timeoutSeconds"}),
        (b'{"type": "webhook", "url": "https://a.example", "timeoutSeconds": true}', {"timeoutSeconds"}),
        (b'{"type": "webhook", "url": "https://a.example", "timeout_seconds": 5}', {"timeout_seconds"}),
        (
            b'{"type": "webhook", "url": "https://a.example", "headers": {"X-A": "1", "x-a": "2"}}',
            {"headers"},
        ),
        (b'{"simulate": {"failures": "2"}}', {"simulate.failures"}),
        (b'{"simulate": {"unknown": 1}}', {"simulate.unknown"}),
    ],
)
def test_an_invalid_payload_is_400_naming_the_fields(body: bytes, fields: set[str]) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        parse_body(body)
    assert refused.value.code == "INVALID_REQUEST"
    assert set(refused.value.details["fields"]) == fields  # type: ignore[call-overload]
    for field in fields:
        assert field in refused.value.message


@pytest.mark.parametrize("header", sorted(REFUSED_HEADERS))
def test_hop_by_hop_host_and_delivery_headers_are_refused(header: str) -> None:
    with pytest.raises(ValueError, match="refused"):
        WebhookPayload.model_validate(
            {"type": "webhook", "url": "https://a.example", "headers": {header.title(): "x"}}
        )


@pytest.mark.parametrize(
    "value", ["1\r\nHost: evil", "a\x00", "a\x7f", "a\x1bb", "日本", "Bearer …", "\u2028"]
)
def test_a_header_value_http_cannot_send_is_refused_at_submit(value: str) -> None:
    """http.client sends values as Latin-1 and refuses control characters: such a value would be
    accepted, then fail every attempt."""
    with pytest.raises(ValueError, match=r"outside Latin-1: HTTP/1\.1 cannot send it"):
        WebhookPayload.model_validate(
            {"type": "webhook", "url": "https://a.example", "headers": {"X-A": value}}
        )


@pytest.mark.parametrize("value", ["Bearer abc", "tab\tinside", "caf\u00e9", ""])
def test_a_header_value_http_can_send_is_kept(value: str) -> None:
    payload = WebhookPayload.model_validate(
        {"type": "webhook", "url": "https://a.example", "headers": {"X-A": value}}
    )
    assert payload.headers == {"X-A": value}


def test_a_stored_payload_its_type_no_longer_accepts_fails_permanently() -> None:
    with pytest.raises(PermanentTaskError, match="unknown task type"):
        runner(TaskEnvironment())(make_task(payload={"type": "retired-type"}))
    with pytest.raises(PermanentTaskError, match="invalid webhook task"):
        runner(TaskEnvironment())(make_task(payload={"type": "webhook"}))


def test_each_type_describes_itself_with_a_json_schema() -> None:
    described = {entry["name"]: entry for entry in TASK_TYPES.describe(TaskEnvironment())}
    assert set(described) == {"simulated", "webhook"}
    assert [name for name, entry in described.items() if entry["default"]] == ["simulated"]
    webhook = described["webhook"]["schema"]
    assert webhook["required"] == ["type", "url"]
    assert webhook["properties"]["type"]["const"] == "webhook"
    assert "timeoutSeconds" in webhook["properties"]
    assert described["simulated"]["schema"]["additionalProperties"] is True
    assert all(entry["description"] for entry in described.values())


def test_the_default_types_body_rules_are_unchanged() -> None:
    """As before types: ``simulate`` must be an object (null included), any other field goes."""
    with pytest.raises(InvalidRequestError):
        parse_body(b'{"simulate": null}')
    assert parse_body(b'{"type": null, "anything": [1, {"type": 2}]}').payload == {
        "type": None,
        "anything": [1, {"type": 2}],
    }


def test_a_disabled_type_is_refused_at_submit_and_fails_permanently_if_stored_earlier() -> None:
    off = TaskEnvironment(webhooks_enabled=False)
    with pytest.raises(TaskTypeDisabledError, match="webhooks=on"):
        parse_body(b'{"type": "webhook", "url": "https://a.example"}', off)
    with pytest.raises(PermanentTaskError, match="not enabled"):
        runner(off)(make_task(payload={"type": "webhook", "url": "https://a.example"}))
    assert parse_body(b'{"n": 1}', off).payload == {"n": 1}


@pytest.mark.parametrize("timeout", [5, Decimal("2.5"), Decimal("1E1")])
def test_a_timeout_given_as_a_json_number_is_kept(timeout: object) -> None:
    payload = WebhookPayload.model_validate(
        {"type": "webhook", "url": "https://a.example", "timeoutSeconds": timeout}
    )
    assert payload.timeout_seconds == float(timeout)  # type: ignore[arg-type]


def test_a_stage_that_takes_no_test_controls_refuses_simulate_naming_it() -> None:
    production = TaskEnvironment(simulation_allowed=False)

    with pytest.raises(InvalidRequestError) as refused:
        parse_body(b'{"orderId": 1, "simulate": {"failures": 3}}', production)

    fields = refused.value.details["fields"]
    assert isinstance(fields, dict)
    assert list(fields) == ["simulate"]
    assert "allowSimulation" in refused.value.message
    assert parse_body(b'{"orderId": 1}', production).payload == {"orderId": 1}
    assert parse_body(b'{"orderId": 1, "simulate": {}}', TaskEnvironment()).payload["simulate"] == {}
