from __future__ import annotations

from decimal import Decimal

import pytest

from functions.common.config import MAX_PAYLOAD_BYTES
from functions.common.errors import (
    InvalidIdempotencyKeyError,
    InvalidJsonError,
    InvalidRequestError,
    PayloadNotObjectError,
    PayloadTooLargeError,
)
from functions.common.models import TaskStatus
from functions.common.status_shards import SHARDS
from functions.common.tasks_table import ShardCursors
from functions.usecases.operations import MAX_TOKEN_CHARS, decode_token, encode_token
from functions.usecases.submission import parse_body, task_id_for, validate_idempotency_key


def test_the_same_key_always_maps_to_the_same_task_id() -> None:
    assert task_id_for("order-1") == task_id_for("order-1")
    assert task_id_for("order-1") != task_id_for("order-2")


def test_without_a_key_every_submission_gets_a_new_id() -> None:
    assert task_id_for(None) != task_id_for(None)


def _hash(body: bytes) -> str:
    return parse_body(body).hash


def test_request_hash_ignores_key_order_and_white_space() -> None:
    assert _hash(b'{"a": 1, "b": [1, 2]}') == _hash(b'{"b":[1,2],"a":1}')
    assert _hash(b'{"a": 1}') != _hash(b'{"a": 2}')
    assert _hash(b'{"a": 1}') != _hash(b'{"a": 1.5}')


def test_request_hash_is_the_same_for_equal_numbers_and_tells_every_digit_apart() -> None:
    assert _hash(b'{"a": 1E2}') == _hash(b'{"a": 100.0}')
    assert _hash(b'{"a": 0.1}') != _hash(b'{"a": 0.10000000000000000001}')


@pytest.mark.parametrize("key", ["a", "k" * 128, "order-42/retry 1", "~!@#$%^&*()"])
def test_valid_idempotency_keys(key: str) -> None:
    assert validate_idempotency_key(key) == key


@pytest.mark.parametrize("key", ["", "k" * 129, "line\nbreak", "\x7f", "é"])
def test_invalid_idempotency_keys(key: str) -> None:
    with pytest.raises(InvalidIdempotencyKeyError):
        validate_idempotency_key(key)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", InvalidJsonError),
        (b"   ", InvalidJsonError),
        (b"{", InvalidJsonError),
        (b"\xff", InvalidJsonError),
        (b'{"a": NaN}', InvalidJsonError),
        (b'{"a": -Infinity}', InvalidJsonError),
        (b"\xef\xbb\xbf{}", InvalidJsonError),
        ('{"a": 1}'.encode("utf-16"), InvalidJsonError),
        ('{"a": 1}'.encode("utf-16-le"), InvalidJsonError),
        ('{"a": 1}'.encode("utf-32"), InvalidJsonError),
        (b'{"type": "webhook", "type": "simulated"}', InvalidJsonError),
        (b'{"a": [{"b": 1, "b": 1}]}', InvalidJsonError),
        (b'{"a": 1e99999999999999999999}', InvalidJsonError),
        (b'{"a": "\\ud800"}', InvalidJsonError),
        (b'{"a": {"b": "x\\udfff"}}', InvalidJsonError),
        (b'{"\\udc00": 1}', InvalidJsonError),
        (b'{"a": "\\ude00\\ud83d"}', InvalidJsonError),
        (b'{"a": 1' + b"0" * 5000 + b"}", InvalidJsonError),
        (b"[]", PayloadNotObjectError),
        (b"true", PayloadNotObjectError),
        (b'{"simulate": {"failures": -1}}', InvalidRequestError),
        (b'{"simulate": "yes"}', InvalidRequestError),
        (b'{"simulate": {"permanent": 0}}', InvalidRequestError),
        (b'{"simulate": {"failures": "2"}}', InvalidRequestError),
        (b'{"simulate": {"failures": true}}', InvalidRequestError),
        (b"x" * (MAX_PAYLOAD_BYTES + 1), PayloadTooLargeError),
    ],
)
def test_parse_body_refuses(body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_body(body)


def test_parse_body_accepts_objects_with_a_valid_simulation() -> None:
    assert parse_body(b'{"simulate": {"failures": 2}, "x": [1]}').payload == {
        "simulate": {"failures": 2},
        "x": [1],
    }


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        (b'{"a": 1.7976931348623157e308}', {"a": Decimal("1.7976931348623157e308")}),
        (b'{"a": -1e308}', {"a": Decimal("-1e308")}),
        (
            b'{"a": 1e400, "b": -1E309, "c": 1e-400}',
            {"a": Decimal("1e400"), "b": Decimal("-1E309"), "c": Decimal("1e-400")},
        ),
        (b'{"a": 0.1234567890123456789012}', {"a": Decimal("0.1234567890123456789012")}),
        (b'{"a": "\\ud83d\\ude00"}', {"a": "\U0001f600"}),
        (b'{"a": 1' + b"0" * 100 + b"}", {"a": 10**100}),
    ],
)
def test_parse_body_keeps_what_json_can_hold_at_its_edges(body: bytes, kept: dict[str, object]) -> None:
    """The largest double, numbers beyond a double's range or precision, a surrogate pair (one
    character), a long integer: kept exactly."""
    assert parse_body(body).payload == kept


@pytest.mark.parametrize("body", [b"", b"  \n\t "])
def test_an_empty_body_is_told_so(body: bytes) -> None:
    with pytest.raises(InvalidJsonError, match="the body is empty; send a JSON object"):
        parse_body(body)


def test_the_longest_token_the_api_issues_is_under_the_bound_and_reads_back() -> None:
    """Every shard holding a cursor, the longest status: the token stays under the length
    ``decode_token`` refuses above, and decodes to the same cursors."""
    status = max(TaskStatus, key=lambda candidate: len(candidate.value))
    cursors: ShardCursors = {
        shard: ("9999-12-31T23:59:59.999Z", "ffffffff-ffff-ffff-ffff-ffffffffffff") for shard in range(SHARDS)
    }

    token = encode_token(status, cursors)

    assert len(token) <= MAX_TOKEN_CHARS
    assert decode_token(token, status) == cursors
