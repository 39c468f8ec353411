"""``GET /tasks`` fuzzed: query strings of any text (Unicode digits, huge numbers, unknown
parameters) and ``nextToken`` values of any shape (random text, base64 of random JSON, cursors
with parts of every type and length). Every answer is a 200 or a JSON 400, never a 5xx: nothing a
caller sends reaches DynamoDB as a key it would refuse."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.common.models import TaskStatus
from functions.usecases.operations import encode_token
from tests.fixtures.stack import Stack

DIGITS = "0123456789\u00b2\u0661\u0660"
"""ASCII digits, a superscript two and Arabic-Indic digits: all digits to ``str.isdigit``."""
TEXT = (
    st.text(max_size=30)
    | st.text(DIGITS, min_size=1, max_size=4)
    | st.text(DIGITS, min_size=4300, max_size=6000)
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=6,
)
CURSOR_BODIES = st.fixed_dictionaries(
    {
        "s": st.sampled_from([status.value for status in TaskStatus]) | TEXT,
        "c": st.dictionaries(
            TEXT | st.sampled_from([str(shard) for shard in range(16)]), JSON_VALUES, max_size=4
        ),
    }
)


def _token(body: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


TOKENS = (
    TEXT
    | JSON_VALUES.map(_token)
    | CURSOR_BODIES.map(_token)
    | st.just(encode_token(TaskStatus.QUEUED, {0: ("2026-01-01T00:00:00.000Z", "x" * 3000)}))
)
STATUSES = st.sampled_from([status.value for status in TaskStatus])
QUERIES = st.fixed_dictionaries(
    # Mostly a valid status: a bad one is refused before limit and nextToken are read.
    {"status": st.one_of(STATUSES, STATUSES, STATUSES, TEXT)},
    optional={"limit": TEXT | st.integers(-5, 200).map(str), "nextToken": TOKENS},
)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=QUERIES)
def test_no_query_string_or_token_is_a_server_error(stack: Stack, query: dict[str, str]) -> None:
    response = stack.api("GET", f"/tasks?{urlencode(query)}")

    assert response.status in {200, 400}, (query, response.body)
    if response.status == 400:
        assert response.body["error"]["code"] in {"INVALID_QUERY", "INVALID_NEXT_TOKEN"}
