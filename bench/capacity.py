"""Capacity on AWS: for a stage's settings, the tasks/s at which each AWS limit binds, sorted, the
binding one, the headroom at a rate, and what lifts each. From the template ``make synth`` writes
for the stage (its throttles, concurrency, batch size, visibility timeout), the quotas
(bench/quotas.json), the measured run and the assumptions the cost model uses (bench/measured.json,
bench/assumptions.json): no latency or quota typed twice. docs/SCALING.md is this output.

Usage: python -m bench.capacity [--stage dev] [--context key=value ...] [--quota name=value ...]
                                [--recipe NAME] [--rate N] [--region us-east-1]
                                [--gets N] [--docs]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from bench import billing, cost, measure
from bench.billing import A
from bench.measure import Measured
from functions.common.status_shards import SHARDS
from infra.names import Function
from infra.synth import functions as template_functions
from infra.synth import resources, synthesized_template
from infra.workflow_definition import REPO_ROOT

QUOTAS_FILE = billing.BENCH / "quotas.json"
DEFAULT_REGION = "us-east-1"
ACTIVE_KEY_WRITES = 2
"""Index writes a task puts on its ``ACTIVE#n`` key: the entry in (submit, or a delayed task's
promotion) and its delete when it leaves (DATA_MODEL.md)."""


class Quotas:
    """bench/quotas.json for one Region, with overrides (a raised quota, a pre-warmed table); it
    remembers each one read, so the report prints every one used."""

    def __init__(self, path: Path, region: str, given: Mapping[str, float] | None = None) -> None:
        self.entries: dict[str, dict[str, Any]] = json.loads(path.read_text())["quotas"]
        self.region, self.given = region, dict(given or {})
        unknown = set(self.given) - set(self.entries)
        if unknown:
            raise SystemExit(f"--quota: no quota named {', '.join(sorted(unknown))} in {path.name}")
        self.used: set[str] = set()

    def __call__(self, name: str) -> float:
        self.used.add(name)
        if name in self.given:
            return self.given[name]
        entry = self.entries[name]
        if self.region in entry.get("by_region", {}):
            return float(entry["by_region"][self.region])
        if "elsewhere" in entry and self.region not in entry["primary_regions"]:
            return float(entry["elsewhere"])
        return float(entry["value"])

    def confirmed(self, name: str) -> bool:
        """A given value is the user's; a listed Region's value is the page's; a Region the page's
        primary list leaves out has no confirmed figure unless the page gives one elsewhere."""
        entry = self.entries[name]
        outside = "primary_regions" in entry and self.region not in entry["primary_regions"]
        return bool(entry["confirmed"]) and not (outside and "elsewhere" not in entry)

    def kind(self, name: str) -> str:
        """How a quota's figure is known: given (--quota), documented, or unconfirmed."""
        return "given" if name in self.given else ("documented" if self.confirmed(name) else "unconfirmed")

    def describe(self, name: str) -> str:
        entry, value, kind = self.entries[name], self(name), self.kind(name)
        adjustable = "adjustable" if entry["adjustable"] else "fixed"
        what = f"{entry['unit']} ({adjustable}): {entry['what']}; {entry['source']}"
        return f"[{kind}] {name} = {value:,.0f} {what}"


@dataclass(frozen=True)
class Deployed:
    """What a synthesized (or deployed) template sets that bounds throughput."""

    api_rate: float
    api_burst: float
    dispatch_concurrency: int
    dispatch_batch: int
    dispatch_window: float
    visibility_seconds: int
    max_receive_count: int
    reserved: dict[Function, int]

    @classmethod
    def from_template(cls, document: dict[str, Any]) -> Deployed:
        functions = template_functions(document)
        [stage] = resources(document, "AWS::ApiGatewayV2::Stage").values()
        [mapping] = (
            p
            for p in resources(document, "AWS::Lambda::EventSourceMapping").values()
            if functions[p["FunctionName"]["Ref"]] is Function.DISPATCH
        )
        queue = document["Resources"][mapping["EventSourceArn"]["Fn::GetAtt"][0]]["Properties"]
        reserved = {
            functions[key]: int(p["ReservedConcurrentExecutions"])
            for key, p in resources(document, "AWS::Lambda::Function").items()
            if "ReservedConcurrentExecutions" in p
        }
        throttle = stage["DefaultRouteSettings"]
        return cls(
            api_rate=float(throttle["ThrottlingRateLimit"]),
            api_burst=float(throttle["ThrottlingBurstLimit"]),
            dispatch_concurrency=int(mapping["ScalingConfig"]["MaximumConcurrency"]),
            dispatch_batch=int(mapping["BatchSize"]),
            dispatch_window=float(mapping.get("MaximumBatchingWindowInSeconds", 0)),
            visibility_seconds=int(queue["VisibilityTimeout"]),
            max_receive_count=int(queue["RedrivePolicy"]["maxReceiveCount"]),
            reserved=reserved,
        )


@dataclass(frozen=True)
class Demand:
    """What one task asks of each service, at the cost model's load and the measured run's times."""

    starts: float
    invocations: dict[Function, float]
    seconds: dict[Function, float]
    """An invocation's duration on AWS (s): the measured handler plus the stated call latencies."""
    writes: dict[str, float]
    """Write units per task by where they land (table, byPhase, byRunAt)."""
    reads: float
    delayed: float
    long_delayed: float
    recurring: float
    """The share of tasks a recurring schedule's firing submits (a Scheduler invocation each)."""

    @property
    def api_requests(self) -> float:
        """API requests a task brings: the submit, a replay, each status read."""
        return self.invocations[Function.API]

    @classmethod
    def of(cls, m: Measured, load: cost.Load, batch: int) -> Demand:
        item, mix = cost.sizes(m, load), cost.Mix.at(load.failure_rate)
        # a message per task, a duplicate's, and an early scheduled message's second delivery
        messages = 1 + load.duplicate_share + load.long_delay_share
        figures = m.functions
        return cls(
            starts=1 + load.duplicate_share,
            invocations={
                Function.API: 1 + load.replay_share + load.gets_per_task,
                Function.DISPATCH: messages / batch,
                Function.PROCESS: mix.attempts + load.duplicate_share,
                Function.MONITOR: mix.exhausted / batch,
            },
            seconds={
                Function.API: cost.lambda_ms(figures[Function.API]) / 1000,
                Function.DISPATCH: cost.batch_ms(figures[Function.DISPATCH], batch) / 1000,
                Function.PROCESS: cost.process_invocation_ms(m, load, item) / 1000,
                Function.MONITOR: cost.batch_ms(figures[Function.MONITOR], batch) / 1000,
            },
            writes=cost.writes_by_target(item, mix, load),
            reads=sum(cost.reads_per_task(item, mix, load).values()),
            delayed=load.short_delay_share + load.long_delay_share,
            long_delayed=load.long_delay_share,
            recurring=load.recurring_share,
        )


class Limit(NamedTuple):
    """One limit: the tasks/s at which it binds (None: not computed), how that was worked out,
    the kind of its inputs, and what lifts it. ``steady`` False: it binds only while a dependency
    fails (it is printed, never the ceiling)."""

    name: str
    ceiling: float | None
    arithmetic: str
    kind: str
    lift: str
    steady: bool = True


def limits(d: Deployed, demand: Demand, q: Quotas) -> list[Limit]:
    """Every limit the design meets, each as the tasks/s at which it binds."""
    per_env = 1 / q("lambda.requests_per_environment")
    concurrency = q("lambda.concurrency") - sum(d.reserved.values())
    env_seconds = {f: demand.invocations[f] * max(demand.seconds[f], per_env) for f in demand.invocations}
    held = sum(env_seconds.values())
    busiest = max(demand.invocations, key=lambda f: demand.invocations[f])
    calls, batch_s = demand.invocations[busiest], demand.seconds[Function.DISPATCH]
    table, phase, due = (demand.writes.get(t, 0.0) for t in (cost.TABLE, cost.BY_PHASE, cost.BY_RUN_AT))
    rps, starts, in_flight = q("api.account_rps"), q("stepfunctions.express_starts"), q("sqs.in_flight")
    warm_w, warm_r, table_max = (
        q(f"dynamodb.{n}") for n in ("warm_write_units", "warm_read_units", "table_max_write_units")
    )
    key_w, creates, fires = (
        q("dynamodb.partition_write_units"),
        q("scheduler.create_schedule"),
        q("scheduler.invocations"),
    )
    late, requests = demand.long_delayed, demand.api_requests
    kind = q.kind
    rows = [
        Limit(
            "API stage throttle",
            d.api_rate / requests,
            f"{d.api_rate:,.0f} req/s [template] / {requests:.2f} requests a task (burst "
            f"{d.api_burst:,.0f} absorbs a spike: burst / (spike - rate) s)",
            "template",
            "--context apiRateLimit=N apiBurstLimit=2N (the stage's own cap, on purpose)",
        ),
        Limit(
            "API account throttle",
            rps / requests,
            f"{rps:,.0f} req/s per account and Region (burst {q('api.account_burst'):,.0f}), "
            "shared with every API in it",
            kind("api.account_rps"),
            "Service Quotas: API Gateway throttle per account and Region",
        ),
        Limit(
            "Dispatcher concurrency",
            d.dispatch_concurrency * d.dispatch_batch / batch_s,
            f"{d.dispatch_concurrency} [template] x {d.dispatch_batch} records / {batch_s * 1000:.0f} ms "
            "a full batch (BatchGetItem + one StartExecution a record, in turn)",
            "template",
            "--context dispatchMaxConcurrency=N (2 to 1,000)",
        ),
        Limit(
            "Express StartExecution",
            starts / demand.starts,
            f"{starts:,.0f}/s per account and Region / {demand.starts:.2f} starts a task",
            kind("stepfunctions.express_starts"),
            "Service Quotas: Step Functions StartExecution (Express)",
        ),
        Limit(
            "Lambda concurrency",
            concurrency / held,
            f"{concurrency:,.0f} unreserved / {held:.3f} environment-s a task ("
            + ", ".join(f"{f.value} {s:.3f}" for f, s in env_seconds.items())
            + f"; an invocation holds an environment at least {per_env:g} s)",
            kind("lambda.concurrency"),
            "Service Quotas: Lambda concurrent executions (a reservation of N needs a quota of at least "
            f"N + {q('lambda.unreserved_minimum'):,.0f})",
        ),
        Limit(
            f"Lambda requests ({busiest.value})",
            concurrency / per_env / calls,
            f"{1 / per_env:g} x {concurrency:,.0f} synchronous invocations/s per function / {calls:.2f} "
            f"{busiest.value} invocations a task (per function, as the quota is named; summed over "
            f"the functions, {sum(demand.invocations.values()):.2f} a task)",
            kind("lambda.requests_per_environment"),
            "Service Quotas: Lambda concurrent executions (the request rate follows it)",
        ),
        Limit(
            "DynamoDB table, warm writes",
            warm_w / table,
            f"{warm_w:,.0f} WRU/s a new table serves / {table:.2f} WRU a task on the table",
            kind("dynamodb.warm_write_units"),
            "pre-warm the table (WarmThroughput), or ramp over 30 minutes a doubling",
        ),
        Limit(
            "DynamoDB byPhase index, warm writes",
            warm_w / phase,
            f"{warm_w:,.0f} WRU/s a new index serves / {phase:.2f} WRU a task on it (its own budget)",
            kind("dynamodb.warm_write_units"),
            "pre-warm the index (its WarmThroughput), as the table",
        ),
        Limit(
            "DynamoDB table, warm reads",
            warm_r / demand.reads,
            f"{warm_r:,.0f} RRU/s / {demand.reads:.2f} RRU a task",
            kind("dynamodb.warm_read_units"),
            "pre-warm reads (WarmThroughput)",
        ),
        Limit(
            "DynamoDB table throughput quota",
            table_max / table,
            f"{table_max:,.0f} WRU/s an on-demand table / {table:.2f} WRU a task",
            kind("dynamodb.table_max_write_units"),
            "Service Quotas: DynamoDB table-level write throughput",
        ),
        Limit(
            "byPhase ACTIVE key partitions",
            SHARDS * key_w / ACTIVE_KEY_WRITES,
            f"{SHARDS} shards x {key_w:,.0f} WCU/s a key / {ACTIVE_KEY_WRITES} writes a task on its "
            "ACTIVE#n key",
            kind("dynamodb.partition_write_units"),
            "more shards (functions/common/status_shards.py SHARDS: a code change; existing index keys move)",
        ),
        Limit(
            "byRunAt due-key partitions",
            SHARDS * key_w / due if due else None,
            f"{SHARDS} shards x {key_w:,.0f} WCU/s a key / {due:.2f} writes a task "
            f"({demand.delayed:.0%} delayed)",
            kind("dynamodb.partition_write_units"),
            "more shards, as byPhase",
        ),
        Limit(
            "Scheduler CreateSchedule",
            creates / late if late else None,
            f"{creates:,.0f}/s / {late:.0%} of tasks delayed past 15 minutes",
            kind("scheduler.create_schedule"),
            "Service Quotas: EventBridge Scheduler CreateSchedule",
        ),
        Limit(
            "Scheduler invocations",
            fires / (late + demand.recurring) if late + demand.recurring else None,
            f"{fires:,.0f}/s / {late + demand.recurring:.0%} of tasks a schedule fires (delayed past 15 "
            "minutes, or a recurring schedule's; beyond it invocations are late, not lost)",
            kind("scheduler.invocations"),
            "Service Quotas: EventBridge Scheduler invocations",
        ),
        Limit(
            "SQS in flight, steady",
            in_flight / (d.dispatch_window + batch_s),
            f"{in_flight:,.0f} per queue / {d.dispatch_window + batch_s:.2f} s a message is in flight "
            "(the batching window [template] and a batch)",
            kind("sqs.in_flight"),
            "a support request (SQS in-flight messages)",
        ),
        Limit(
            "SQS in flight while starts fail",
            in_flight / d.visibility_seconds,
            f"{in_flight:,.0f} / {d.visibility_seconds} s visibility [template]: a refused start keeps "
            f"its message in flight; after {d.max_receive_count} receives "
            f"({d.max_receive_count * d.visibility_seconds // 60} min) it is dead-lettered, and past "
            "the quota receives return nothing",
            kind("sqs.in_flight"),
            "an outage, not a rate: alarmed on queue age; raise StartExecution first",
            steady=False,
        ),
        Limit(
            "CloudWatch Logs PutLogEvents",
            None,
            f"{q('logs.put_log_events'):,.0f}/s per account: Lambda and Step Functions deliver these "
            "logs themselves",
            kind("logs.put_log_events"),
            "the production log levels cut the volume (make cost); workflowLogLevel=ERROR too, "
            "without the console's graphs",
        ),
        Limit(
            "X-Ray segments",
            None,
            f"{q('xray.segments'):,.0f} segments/s per Region; sampled traces grow with the rate (1 a "
            "second, then 5 %), and the segments a trace holds were not measured",
            kind("xray.segments"),
            "a sampling rule with a lower rate; past the quota segments are dropped, tasks unaffected",
        ),
        Limit(
            "Scheduler schedules",
            None,
            f"{q('scheduler.schedules'):,.0f} schedules per account and Region: every recurring "
            "schedule, and every task waiting more than 15 minutes to run, holds one; not a rate",
            kind("scheduler.schedules"),
            "Service Quotas: EventBridge Scheduler number of schedules",
        ),
    ]
    return sorted(rows, key=lambda row: (not row.steady, math.inf if row.ceiling is None else row.ceiling))


def _trusted(rows: list[Limit]) -> list[Limit]:
    """What may set a ceiling: steady rows computed from template, documented or given figures."""
    return [row for row in rows if row.steady and row.ceiling is not None and row.kind != "unconfirmed"]


def _ceiling(row: Limit) -> float:
    return math.inf if row.ceiling is None else row.ceiling


def binding(rows: list[Limit]) -> Limit:
    """The lowest trusted ceiling (none computed from trusted figures: an error)."""
    return min(_trusted(rows), key=_ceiling)


def after(rows: list[Limit], top: Limit) -> Limit | None:
    """The limit that binds once ``top`` is lifted: the next trusted ceiling."""
    rest = [row for row in _trusted(rows) if row is not top]
    return min(rest, key=_ceiling) if rest else None


def ceiling_lines(rows: list[Limit], top: Limit) -> list[str]:
    """The last two lines: what binds next, and the ceiling (``top``)."""
    following = after(rows, top)
    then = (
        f"next: {following.name} at {following.ceiling:,.0f} tasks/s" if following else "next: none computed"
    )
    return [then, f"ceiling: {top.ceiling:,.0f} tasks/s (binding: {top.name})"]


def traces_per_second(rate: float, demand: Demand) -> float:
    """X-Ray's sampled traces at ``rate``: API requests (executions join theirs) and dispatch
    batches each decide (1 a second, then 5 %)."""
    reservoir, share = A("xray.reservoir_per_second"), A("xray.rate")
    deciders = (rate * demand.api_requests, rate * demand.invocations[Function.DISPATCH])
    return sum(min(r, reservoir) + share * max(0.0, r - reservoir) for r in deciders)


def table(rows: list[Limit], rate: float, markdown: bool = False) -> list[str]:
    def shown(row: Limit) -> tuple[str, str]:
        if row.ceiling is None:
            return "—", "—"
        return f"{row.ceiling:,.0f}", f"{row.ceiling / rate:.2f}x"

    def label(row: Limit) -> str:
        return row.name if row.steady else f"{row.name} (outage only)"

    if markdown:
        out = [
            f"| limit | binds at (tasks/s) | headroom at {rate:,.0f}/s | inputs | arithmetic | lifted by |",
            "|---|---:|---:|---|---|---|",
        ]
        for row in rows:
            ceiling, headroom = shown(row)
            out.append(
                f"| {label(row)} | {ceiling} | {headroom} | {row.kind} | {row.arithmetic} | {row.lift} |"
            )
        return out
    out = [f"{'limit':<38} {'binds at':>12} {'headroom':>9}  inputs"]
    for row in rows:
        ceiling, headroom = shown(row)
        name = label(row)
        out += [
            f"{name:<38} {ceiling:>12} {headroom:>9}  [{row.kind}] {row.arithmetic}",
            f"{'':<62}lift: {row.lift}",
        ]
    return out


class Recipe(NamedTuple):
    """Settings for a target rate: the context to deploy with, and the quotas to raise (or the
    warm throughput to pre-warm), each as ``make capacity`` takes them."""

    rate: float
    context: dict[str, str]
    quotas: dict[str, float]


RECIPES = {
    "defaults": Recipe(100, {}, {}),
    "1k": Recipe(
        1000,
        {"apiRateLimit": "1200", "apiBurstLimit": "2400", "dispatchMaxConcurrency": "50"},
        {"dynamodb.warm_write_units": 8000},
    ),
    "10k": Recipe(
        10000,
        {"apiRateLimit": "12000", "apiBurstLimit": "24000", "dispatchMaxConcurrency": "400"},
        {
            "api.account_rps": 15000,
            "stepfunctions.express_starts": 12000,
            "lambda.concurrency": 5000,
            "dynamodb.table_max_write_units": 60000,
            "dynamodb.warm_write_units": 50000,
            "dynamodb.warm_read_units": 24000,
        },
    ),
}


def report(deployed: Deployed, m: Measured, load: cost.Load, quotas: Quotas, rate: float) -> list[str]:
    """Every figure computed before the inputs are printed: they are exactly the ones used."""
    demand = Demand.of(m, load, deployed.dispatch_batch)
    rows = limits(deployed, demand, quotas)
    top = binding(rows)
    needed = {f: rate * demand.invocations[f] * demand.seconds[f] for f in demand.invocations}
    scale = quotas("lambda.scaling_per_10s")
    ramp = max(math.ceil(n / scale) * 10 for n in needed.values())
    out = [
        f"capacity at {rate:,.0f} tasks/s, region {quotas.region}, failure rate {load.failure_rate}; "
        "each limit as the tasks/s at which it binds",
        *table(rows, rate),
        "",
        f"at {rate:,.0f} tasks/s: Lambda concurrency "
        + ", ".join(f"{f.value} {n:,.0f}" for f, n in needed.items())
        + f" (from zero, {ramp} s to scale at {scale:,.0f} environments per 10 s a function); X-Ray samples "
        f"{traces_per_second(rate, demand):,.0f} traces/s (it grows with load)",
    ]
    below = [
        r
        for r in rows
        if r.kind == "unconfirmed" and r.ceiling is not None and r.ceiling < (top.ceiling or 0)
    ]
    out += [f"warning: {r.name} [unconfirmed] would bind first at {r.ceiling:,.0f} tasks/s" for r in below]
    out += [
        "",
        f"inputs [template] (make synth): API stage {deployed.api_rate:,.0f} req/s, burst "
        f"{deployed.api_burst:,.0f}; dispatch concurrency {deployed.dispatch_concurrency}, batch "
        f"{deployed.dispatch_batch}, window {deployed.dispatch_window:g} s; queue visibility "
        f"{deployed.visibility_seconds} s, {deployed.max_receive_count} receives; reserved concurrency "
        f"{ {f.value: n for f, n in deployed.reserved.items()} or 'none' }",
        *m.describe(),
        "  an invocation on AWS (measured own time, the calls at the latencies below): "
        + ", ".join(f"{f.value} {s * 1000:.1f} ms" for f, s in demand.seconds.items()),
        "inputs [documented] and [assumed] (bench/assumptions.json):",
        *(f"  {A.describe(name)}" for name in sorted(A.used)),
        "quotas (bench/quotas.json; [given] = --quota):",
        *(f"  {quotas.describe(name)}" for name in sorted(quotas.used)),
        "",
        *ceiling_lines(rows, top),
    ]
    return out


DOCS = REPO_ROOT / "docs" / "SCALING.md"
BLOCK = re.compile(r"(<!-- capacity:(?P<recipe>[\w-]+) -->\n)(?P<body>.*?)(<!-- /capacity -->)", re.S)
"""docs/SCALING.md's generated tables: ``python -m bench.capacity --docs`` writes them, a test
fails when they differ from what it would write."""


def docs_block(recipe: Recipe, document: dict[str, Any], m: Measured) -> str:
    """A recipe's table as docs/SCALING.md shows it, with its ceiling line."""
    deployed, quotas = Deployed.from_template(document), Quotas(QUOTAS_FILE, DEFAULT_REGION, recipe.quotas)
    rows = limits(
        deployed, Demand.of(m, cost.Load(tasks_per_second=recipe.rate), deployed.dispatch_batch), quotas
    )
    return "\n".join(
        [
            *table(rows, recipe.rate, markdown=True),
            "",
            *(f"- {line}" for line in reversed(ceiling_lines(rows, binding(rows)))),
            "",
        ]
    )


def render_docs(text: str, blocks: dict[str, str]) -> str:
    """``text`` with each generated block replaced by ``blocks``' (every recipe must have one)."""
    found = {match["recipe"] for match in BLOCK.finditer(text)}
    if found != set(blocks):
        raise ValueError(f"{DOCS.name}: generated blocks {sorted(found)}, recipes {sorted(blocks)}")
    return BLOCK.sub(lambda match: match[1] + blocks[match["recipe"]] + match[4], text)


def recipe_templates(stage: str, outdir: Path) -> dict[str, dict[str, Any]]:
    """Each recipe's template as ``make synth`` writes it, side by side."""
    with ThreadPoolExecutor(max_workers=len(RECIPES)) as pool:
        documents = pool.map(
            lambda item: synthesized_template(stage, outdir / item[0], item[1].context), RECIPES.items()
        )
        return dict(zip(RECIPES, documents, strict=True))


def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise SystemExit(f"{what} {value!r}: expected name=value")
        pairs[key] = rest
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--context", action="append", default=[], help="a synth context value, key=value")
    parser.add_argument(
        "--quota", action="append", default=[], help="a raised quota or pre-warmed throughput, name=value"
    )
    parser.add_argument(
        "--recipe", choices=sorted(RECIPES), help="a recipe's context and quotas (docs/SCALING.md)"
    )
    parser.add_argument(
        "--rate", type=float, help="tasks/s the headroom is shown at (default: the recipe's, or 100)"
    )
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--gets", type=float, default=0.0, help="status reads (GET /tasks/{id}) per task")
    parser.add_argument("--measured", type=Path, default=measure.MEASURED_FILE)
    parser.add_argument("--docs", action="store_true", help="rewrite docs/SCALING.md's tables (every recipe)")
    args = parser.parse_args()
    if args.docs:
        m = measure.load(args.measured)
        with tempfile.TemporaryDirectory(prefix="ptm-capacity-") as scratch:
            templates = recipe_templates(args.stage, Path(scratch))
        blocks = {name: docs_block(RECIPES[name], document, m) for name, document in templates.items()}
        DOCS.write_text(render_docs(DOCS.read_text(), blocks))
        print(f"{DOCS.relative_to(REPO_ROOT)}: {len(blocks)} tables written")
        return
    recipe = RECIPES[args.recipe or "defaults"]
    context = {**recipe.context, **_pairs(args.context, "--context")}
    try:
        given = {**recipe.quotas, **{k: float(v) for k, v in _pairs(args.quota, "--quota").items()}}
    except ValueError as error:
        raise SystemExit(f"--quota: {error}") from error
    quotas = Quotas(QUOTAS_FILE, args.region, given)
    with tempfile.TemporaryDirectory(prefix="ptm-capacity-") as scratch:
        document = synthesized_template(args.stage, Path(scratch), context)
    rate = args.rate or recipe.rate
    load = cost.Load(tasks_per_second=rate, gets_per_task=args.gets)
    deployed, m = Deployed.from_template(document), measure.load(args.measured)
    if context:
        overrides = " ".join(f"{key}={value}" for key, value in sorted(context.items()))
        print(f"hypothetical: stages/{args.stage}.json's options with {overrides} (not what is deployed)")
    print("\n".join(report(deployed, m, load, quotas, rate)))


if __name__ == "__main__":
    main()
