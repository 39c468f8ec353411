"""Generated JSON documents, some holding what Python parses but JSON cannot hold (a number that
overflows to infinity, a lone UTF-16 surrogate in a key or a string) at random depths: the API
refuses exactly those with a 400 and keeps nothing, and keeps every other one exactly."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.usecases.submission import task_id_for
from tests.fixtures.stack import Stack

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Poison:
    """A token spliced into the JSON text as it is."""

    text: str


POISON = st.sampled_from(
    [
        Poison("1e400"),
        Poison("-1E309"),
        Poison("1.5e+999"),
        Poison('"\\ud800"'),
        Poison('"tail \\udfff"'),
        Poison('"\\ude00\\ud83d"'),
    ]
)
CLEAN = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
POISON_KEY = Poison('"\\udc00key"')


def _document(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[Any, Any]]:
    values = st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.dictionaries(st.text(max_size=6), children, max_size=3),
        ),
        max_leaves=8,
    )
    return st.dictionaries(
        st.one_of(st.text(max_size=6), st.just(POISON_KEY)), values, min_size=1, max_size=4
    )


def _render(value: Any) -> str:
    if isinstance(value, Poison):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{_render_key(key)}:{_render(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_render(item) for item in value) + "]"
    return json.dumps(value)


def _render_key(key: Any) -> str:
    return key.text if isinstance(key, Poison) else json.dumps(key)


def _poisoned(value: Any) -> bool:
    if isinstance(value, Poison):
        return True
    if isinstance(value, dict):
        return any(isinstance(key, Poison) or _poisoned(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_poisoned(item) for item in value)
    return False


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=_document(st.one_of(CLEAN, POISON)))
def test_generated_bodies_are_kept_exactly_or_refused_without_a_trace(stack: Stack, document: Any) -> None:
    text = _render(document)
    key = f"fuzz-{abs(hash(text))}"

    response = stack.api("POST", "/tasks", text, {"Idempotency-Key": key})

    if _poisoned(document):
        assert response.status == 400, (text, response.body)
        assert response.body["error"]["code"] == "INVALID_JSON"
        assert stack.table.get(task_id_for(key)) is None
    else:
        assert response.status == 202, (text, response.body)
        kept = stack.api("GET", f"/tasks/{response.body['taskId']}").body["payload"]
        assert kept == json.loads(text)
