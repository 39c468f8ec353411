"""JSON text as RFC 8259 defines it, read strictly and written exactly.

Read: UTF-8 only, without a byte order mark (section 8.1); no name twice in one object at any
depth (section 4 leaves duplicates to the parser, and a filter in front that reads the first would
judge another body than the one that runs); no ``NaN`` or ``Infinity`` (not JSON). A number with
a fraction or an exponent becomes a ``Decimal`` with every digit the caller sent, an integer an
``int``: nothing is rounded to a double, so what is stored, returned and delivered equals what was
sent (``Decimal(returned) == Decimal(sent)``).

Written: compact, characters as they are, each ``Decimal`` as its exact literal (``json`` itself
writes no Decimal, and a float would round it).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any

BYTE_ORDER_MARK = b"\xef\xbb\xbf"
MAX_INTEGER_DIGITS = 4300
"""Python's own limit for an integer's text (sys.int_info.default_max_str_digits)."""


class JsonTextError(ValueError):
    """Not JSON text this system takes; the message says why, in the caller's terms."""


def parse(text: bytes | str) -> Any:
    """The JSON value of ``text``; raises JsonTextError."""
    if isinstance(text, bytes):
        if text.startswith(BYTE_ORDER_MARK):
            raise JsonTextError("it starts with a byte order mark: JSON text is UTF-8 without one")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonTextError(f"it is not UTF-8 (byte {exc.start}): JSON text is UTF-8") from None
    try:
        return json.loads(
            text,
            parse_float=_decimal,
            parse_int=_integer,
            parse_constant=_constant,
            object_pairs_hook=_object,
        )
    except JsonTextError:
        raise
    except RecursionError:
        raise JsonTextError("it nests deeper than a parser follows") from None
    except ValueError as exc:
        raise JsonTextError(f"it is not valid JSON: {exc}") from None


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) < len(pairs):
        names = [name for name, _ in pairs]
        twice = next(name for index, name in enumerate(names) if name in names[:index])
        raise JsonTextError(f"the name {twice!r} occurs twice in one object")
    return value


def _decimal(literal: str) -> Decimal:
    try:
        return Decimal(literal)
    except ArithmeticError:
        # The decimal module's exponent range, ±999,999,999,999,999,999: nothing real is beyond it.
        raise JsonTextError(f"the number {literal[:40]} is beyond the exponent a decimal holds") from None


def _integer(literal: str) -> int:
    digits = len(literal.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise JsonTextError(f"an integer of {digits} digits: the limit is {MAX_INTEGER_DIGITS}")
    return int(literal)


def _constant(name: str) -> Any:
    raise JsonTextError(f"{name} is not a JSON number")


def _normalized(number: Decimal) -> Decimal:
    """Without trailing zeros, every digit kept (``Decimal.normalize`` rounds to 28 digits); zero
    unsigned."""
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # a finite number
    kept = list(digits)
    while len(kept) > 1 and kept[-1] == 0:
        kept.pop()
        exponent += 1
    if kept == [0]:  # zero, whatever its sign and exponent (an integer -0 reads as 0)
        sign, exponent = 0, 0
    return Decimal((sign, tuple(kept), exponent))


def map_scalars(value: Any, change: Callable[[Any], Any]) -> Any:
    """``value`` with ``change`` applied to each value in it that is no object or array."""
    if isinstance(value, dict):
        return {key: map_scalars(item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [map_scalars(item, change) for item in value]
    return change(value)


def _as_decimal(value: Any) -> Any:
    return Decimal(value) if isinstance(value, int) and not isinstance(value, bool) else value


def dumps(
    value: Any,
    *,
    sort_keys: bool = False,
    canonical: bool = False,
    default: Callable[[Any], Any] | None = None,
) -> str:
    """Compact JSON text, each Decimal written as its exact literal.

    ``canonical``: every number written normalized (``100``, ``1E2``, ``100.0`` and ``1.00E+2``
    alike), for a hash of the value. ``default`` serializes anything else (as ``json.dumps``'s
    does). Raises ValueError for a Decimal that is not a number (NaN, Infinity)."""
    literals: list[str] = []
    marker = f"decimal-{secrets.token_hex(8)}-"
    if canonical:  # one number type in JSON: 50 and 50.000 are one value
        value = map_scalars(value, _as_decimal)

    def literal(obj: Any) -> Any:
        if isinstance(obj, Decimal):
            if not obj.is_finite():
                raise ValueError(f"{obj} is not a JSON number")
            literals.append(str(_normalized(obj) if canonical else obj))
            return f"{marker}{len(literals) - 1}"
        if default is not None:
            return default(obj)
        raise TypeError(f"{type(obj).__name__} is not JSON")

    text = json.dumps(
        value,
        default=literal,
        sort_keys=sort_keys,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    if not literals:
        return text
    return re.sub(f'"{marker}([0-9]+)"', lambda found: literals[int(found.group(1))], text)
