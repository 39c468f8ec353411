"""Generated JSON documents at random depths, some holding what Python parses but JSON text cannot
hold (a lone UTF-16 surrogate in a key or a string), and numbers of every shape (fractions of 30
digits, exponents far past a double's, -0): the API refuses exactly the poisoned ones with a 400
and keeps nothing of them, and keeps every other one exactly: each number the GET returns equals
the one sent, as a decimal (``Decimal(returned) == Decimal(sent)``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.usecases.submission import task_id_for
from tests.fixtures.stack import Stack
from tests.fixtures.strict_json import number_literal, strict_json


@dataclass(frozen=True)
class Token:
    """JSON text spliced into the document as it is."""

    text: str
    poison: bool = False


NUMBERS = st.builds(
    number_literal,
    st.booleans(),
    st.integers(min_value=0, max_value=10**40),
    st.none() | st.text("0123456789", min_size=1, max_size=30),
    st.none() | st.tuples(st.sampled_from("eE"), st.sampled_from(["", "+", "-"]), st.integers(0, 2000)),
).map(Token)
POISON = st.sampled_from(
    [Token('"\\ud800"', True), Token('"tail \\udfff"', True), Token('"\\ude00\\ud83d"', True)]
)
CLEAN = st.one_of(st.none(), st.booleans(), st.text(max_size=12), NUMBERS)
POISON_KEY = Token('"\\udc00key"', True)


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
    if isinstance(value, Token):
        return value.text
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(
                f"{_render(key) if isinstance(key, Token) else json.dumps(key)}:{_render(item)}"
                for key, item in value.items()
            )
            + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(_render(item) for item in value) + "]"
    return json.dumps(value)


def _poisoned(value: Any) -> bool:
    if isinstance(value, Token):
        return value.poison
    if isinstance(value, dict):
        return any((isinstance(key, Token) and key.poison) or _poisoned(item) for key, item in value.items())
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
        returned = stack.api("GET", f"/tasks/{response.body['taskId']}")
        assert strict_json(returned.text, exact=True)["payload"] == json.loads(text, parse_float=Decimal)
