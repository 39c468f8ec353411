"""How AWS bills, for the cost model: prices (bench/prices.json) and assumptions
(bench/assumptions.json), each with its source; the billing rules the designs share (write units,
X-Ray sampling, SQS polling, Express steps, cold starts, access-log lines); line items, each a
quantity per 1M tasks at a unit price, reported as quantity x unit price = dollars.
bench/cost.py holds the designs priced with them."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

BENCH = Path(__file__).parent
MILLION = 1_000_000


class Price(NamedTuple):
    usd: float
    per: str
    source: str

    @property
    def unit(self) -> float:
        """What the price is per: 1M of something, or one."""
        return MILLION if self.per.startswith("1M ") else 1.0


PRICES = {
    name: Price(float(entry["usd"]), entry["per"], entry["source"])
    for name, entry in json.loads((BENCH / "prices.json").read_text())["prices"].items()
}


class Assumptions:
    """bench/assumptions.json; it remembers each one read, so the report prints every one used."""

    def __init__(self, path: Path) -> None:
        self.entries: dict[str, dict[str, Any]] = json.loads(path.read_text())["assumptions"]
        self.used: set[str] = set()

    def __call__(self, name: str) -> float:
        self.used.add(name)
        return float(self.entries[name]["value"])

    def table(self, name: str) -> dict[str, float]:
        self.used.add(name)
        return {key: float(value) for key, value in self.entries[name]["value"].items()}

    def describe(self, name: str) -> str:
        entry = self.entries[name]
        value = entry["value"]
        shown = ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else f"{value:g}"
        return f"[{entry['kind']}] {name} = {shown} {entry['unit']}: {entry['source']}"


A = Assumptions(BENCH / "assumptions.json")


class Line(NamedTuple):
    """One line item: ``quantity`` per 1M tasks, in the unit ``price`` is quoted per."""

    service: str
    what: str
    quantity: float
    price: str

    @property
    def dollars(self) -> float:
        price = PRICES[self.price]
        return self.quantity * price.usd / price.unit


def by_service(lines: Iterable[Line]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for line in lines:
        totals[line.service] = totals.get(line.service, 0.0) + line.dollars
    return totals


def total(lines: Iterable[Line]) -> float:
    return sum(line.dollars for line in lines)


def items(lines: list[Line]) -> list[str]:
    """Each line item: quantity x unit price = dollars, and the price's source page."""
    rows = []
    for line in sorted(lines, key=lambda line: (line.service, -line.dollars)):
        price = PRICES[line.price]
        quantity = f"{line.quantity / price.unit:,.6g} x ${price.usd:g} per {price.per.split(' (')[0]}"
        rows.append(
            f"    {line.service:<24} {line.what:<52} {quantity} = ${line.dollars:.3f}  ({price.source})"
        )
    return rows


def summary(title: str, lines: list[Line]) -> list[str]:
    ranked, amount = sorted(by_service(lines).items(), key=lambda item: -item[1]), total(lines)
    return [f"\n{title}: ${amount:,.2f} per 1M tasks"] + [
        f"  {name:<26} ${dollars:8.2f}  {dollars / amount:6.1%}" for name, dollars in ranked
    ]


def moves(base: list[Line], other: list[Line]) -> str:
    before, after = by_service(base), by_service(other)
    deltas = sorted(((k, after.get(k, 0.0) - before.get(k, 0.0)) for k in before | after), key=lambda p: p[1])
    return ", ".join(f"{name} {delta:+.2f}" for name, delta in deltas if abs(delta) >= 0.01)


def write_units(bytes_: float) -> int:
    """Per started 1 KB of the item (the larger of before and after)."""
    return max(1, math.ceil(bytes_ / 1024))


def sampled_share(requests_per_second: float) -> float:
    """The share of a deciding source's requests X-Ray records: the reservoir, then the rate."""
    if requests_per_second <= 0:
        return 0.0
    reservoir = A("xray.reservoir_per_second")
    rest = max(0.0, requests_per_second - reservoir)
    return (min(requests_per_second, reservoir) + A("xray.rate") * rest) / requests_per_second


def trace_roots(sources: Iterable[tuple[float, float]]) -> float:
    """Traces recorded, from the sources that decide sampling: (requests, requests per second)."""
    return sum(requests * sampled_share(rate) for requests, rate in sources)


def batch_size(messages_per_second: float, window_seconds: float, largest: int) -> float:
    """Records per invocation of an SQS consumer: each poller gathers for up to the window."""
    return min(float(largest), max(1.0, messages_per_second * window_seconds / A("sqs.pollers")))


def receives_per_message(messages_per_second: float) -> float:
    """A long poll returns as soon as a message is there: each receive takes what reached its
    poller during one round trip (one message at least, ten at most)."""
    per_receive = messages_per_second * A("aws_call_ms.sqs") / 1000 / A("sqs.pollers")
    return 1 / min(10.0, max(1.0, per_receive))


def cold_start_share(invocations_per_second: float) -> float:
    """Invocations after an idle gap longer than the reclaim time (Poisson), at least the floor."""
    if invocations_per_second <= 0:
        return 1.0
    idle = math.exp(-invocations_per_second * A("lambda.idle_reclaim_seconds"))
    return min(1.0, max(A("lambda.cold_start_floor"), idle))


def express_billed_seconds(seconds: float) -> float:
    step = A("express.step_seconds")
    return math.ceil(seconds / step - 1e-9) * step


def access_log_bytes(log_format: str) -> float:
    """One access-log line: the format with each $context variable at a typical length."""
    typical = A.table("access_log.value_bytes")
    field = re.compile(r"\$context\.([A-Za-z.]+)")
    rendered = field.sub(lambda match: "x" * int(typical.get(match[1].rsplit(".", 1)[-1], 1)), log_format)
    return len(rendered.encode()) + 1
