"""JSON text read strictly and written exactly (functions/common/json_text.py): every number
literal the grammar allows comes back equal as a decimal, equal values write one canonical text,
and what JSON text cannot be is refused in words a caller understands."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.common.json_text import JsonTextError, dumps, parse
from tests.fixtures.strict_json import number_literal

LITERALS = st.builds(
    number_literal,
    st.booleans(),
    st.integers(min_value=0, max_value=10**60),
    st.none() | st.text("0123456789", min_size=1, max_size=60),
    st.none() | st.tuples(st.sampled_from("eE"), st.sampled_from(["", "+", "-"]), st.integers(0, 10**6)),
)


@given(literal=LITERALS)
def test_every_number_comes_back_equal_as_a_decimal(literal: str) -> None:
    document = f'{{"n": {literal}, "in": [{literal}, {{"deeper": {literal}}}]}}'

    written = dumps(parse(document.encode()))

    expected = Decimal(literal)
    again = json.loads(written, parse_float=Decimal, parse_int=Decimal)
    assert again["n"] == again["in"][0] == again["in"][1]["deeper"] == expected
    assert parse(written) == parse(document)


@given(literal=LITERALS)
def test_equal_numbers_write_one_canonical_text(literal: str) -> None:
    sign, digits, exponent = Decimal(literal).as_tuple()
    assert isinstance(exponent, int)
    scaled = str(Decimal((sign, (*digits, 0, 0, 0), exponent - 3)))  # the same number, written another way

    assert dumps(parse(f"[{literal}]"), canonical=True) == dumps(parse(f"[{scaled}]"), canonical=True)


def test_canonical_numbers_keep_every_digit() -> None:
    """Decimal.normalize would round to 28 digits: two numbers 30 digits long must stay apart."""
    assert dumps(parse("[0.123456789012345678901234567891]"), canonical=True) != dumps(
        parse("[0.123456789012345678901234567892]"), canonical=True
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (b"\xef\xbb\xbf{}", "byte order mark"),
        ('{"a": 1}'.encode("utf-16"), "not UTF-8"),
        (b'{"a": "\xff"}', "not UTF-8"),
        (b'{"a": 1, "a": 1}', "'a' occurs twice"),
        (b'{"x": {"y": [{"z": 1, "z": 2}]}}', "'z' occurs twice"),
        (b"[NaN]", "NaN is not a JSON number"),
        (b"[1e99999999999999999999]", "beyond the exponent"),
        (b"[1" + b"0" * 4300 + b"]", "the limit is 4300"),
        (b"[" * 100_000, "nests deeper"),
        (b'{"a": 1', "not valid JSON"),
    ],
)
def test_what_json_text_cannot_be_is_refused_in_words(text: bytes, said: str) -> None:
    with pytest.raises(JsonTextError, match=said):
        parse(text)


def test_a_string_that_looks_like_the_writers_marker_is_written_as_itself() -> None:
    value = {"a": "decimal-0000000000000000-0", "b": Decimal("1.5")}
    assert json.loads(dumps(value), parse_float=Decimal) == value
