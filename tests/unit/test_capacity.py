"""The capacity model's rules (bench/capacity.py), each on hand-made inputs checked by hand."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bench import capacity, cost, measure
from bench.capacity import QUOTAS_FILE, Demand, Deployed, Limit, Quotas
from functions.common.status_shards import SHARDS
from infra.names import Function

DEPLOYED = Deployed(
    api_rate=300,
    api_burst=600,
    dispatch_concurrency=4,
    dispatch_batch=10,
    dispatch_window=1.0,
    visibility_seconds=120,
    max_receive_count=3,
    reserved={Function.PROCESS: 100},
)
DEMAND = Demand(
    starts=1.25,
    invocations={Function.API: 1.5, Function.DISPATCH: 0.2, Function.PROCESS: 2.0, Function.MONITOR: 0.01},
    seconds={Function.API: 0.05, Function.DISPATCH: 0.5, Function.PROCESS: 0.2, Function.MONITOR: 0.1},
    writes={cost.TABLE: 4.0, cost.BY_PHASE: 2.0, cost.BY_RUN_AT: 0.5},
    reads=2.0,
    delayed=0.25,
    long_delayed=0.1,
    recurring=0.0,
)
GIVEN = {"api.account_rps": 3000, "stepfunctions.express_starts": 1000, "lambda.concurrency": 1000}


def _ceilings(**given: float) -> dict[str, float | None]:
    rows = capacity.limits(DEPLOYED, DEMAND, Quotas(QUOTAS_FILE, "us-east-1", {**GIVEN, **given}))
    return {row.name: row.ceiling for row in rows}


def test_each_limit_binds_where_the_hand_arithmetic_says() -> None:
    ceilings = _ceilings()
    assert ceilings["API stage throttle"] == pytest.approx(300 / 1.5)
    assert ceilings["API account throttle"] == pytest.approx(3000 / 1.5)
    assert ceilings["Dispatcher concurrency"] == pytest.approx(4 * 10 / 0.5)
    assert ceilings["Express StartExecution"] == pytest.approx(1000 / 1.25)
    # 900 unreserved; api holds 0.1 s an invocation (10 requests/s an environment), not its 0.05
    assert ceilings["Lambda concurrency"] == pytest.approx(
        900 / (1.5 * 0.1 + 0.2 * 0.5 + 2.0 * 0.2 + 0.01 * 0.1)
    )
    assert ceilings["Lambda requests (process)"] == pytest.approx(10 * 900 / 2.0)
    assert ceilings["DynamoDB table, warm writes"] == pytest.approx(4000 / 4.0)
    assert ceilings["DynamoDB byPhase index, warm writes"] == pytest.approx(4000 / 2.0)
    assert ceilings["DynamoDB table, warm reads"] == pytest.approx(12000 / 2.0)
    assert ceilings["DynamoDB table throughput quota"] == pytest.approx(40000 / 4.0)
    assert ceilings["byPhase ACTIVE key partitions"] == pytest.approx(16 * 1000 / 2)
    assert ceilings["byRunAt due-key partitions"] == pytest.approx(16 * 1000 / 0.5)
    assert ceilings["Scheduler CreateSchedule"] == pytest.approx(5000 / 0.1)
    assert ceilings["Scheduler invocations"] == pytest.approx(1000 / 0.1)
    assert ceilings["SQS in flight, steady"] == pytest.approx(120000 / (1.0 + 0.5))
    assert ceilings["SQS in flight while starts fail"] == pytest.approx(120000 / 120)
    assert ceilings["CloudWatch Logs PutLogEvents"] is None
    assert ceilings["X-Ray segments"] is None


def test_a_pre_warmed_table_and_a_raised_quota_move_their_limits_only() -> None:
    before, after = _ceilings(), _ceilings(**{"dynamodb.warm_write_units": 8000})
    assert after["DynamoDB table, warm writes"] == pytest.approx(2 * before["DynamoDB table, warm writes"])  # type: ignore[operator]
    assert after["DynamoDB byPhase index, warm writes"] == pytest.approx(4000.0)
    assert {k: v for k, v in after.items() if "warm writes" not in k} == {
        k: v for k, v in before.items() if "warm writes" not in k
    }


def test_limits_sort_by_ceiling_with_outages_and_uncomputed_rows_last() -> None:
    rows = capacity.limits(DEPLOYED, DEMAND, Quotas(QUOTAS_FILE, "us-east-1", GIVEN))
    steady = [row.ceiling for row in rows if row.steady and row.ceiling is not None]
    assert steady == sorted(steady)
    assert [row.name for row in rows][-4:] == [
        "CloudWatch Logs PutLogEvents",
        "X-Ray segments",
        "Scheduler schedules",
        "SQS in flight while starts fail",
    ]
    assert capacity.binding(rows).name == "Dispatcher concurrency"


def _row(name: str, ceiling: float | None, kind: str = "documented", steady: bool = True) -> Limit:
    return Limit(name, ceiling, "", kind, "", steady)


def test_the_ceiling_is_never_an_outage_an_unconfirmed_figure_or_an_uncomputed_row() -> None:
    rows = [
        _row("outage", 10, steady=False),
        _row("unconfirmed", 20, kind="unconfirmed"),
        _row("uncomputed", None),
        _row("template", 300, kind="template"),
        _row("given", 400, kind="given"),
    ]
    assert capacity.binding(rows).name == "template"
    assert capacity.binding([*rows[:3], rows[4]]).name == "given"
    assert capacity.after(rows, capacity.binding(rows)).name == "given"  # type: ignore[union-attr]
    assert capacity.after(rows[:4], rows[3]) is None
    with pytest.raises(ValueError, match="empty"):
        capacity.binding(rows[:3])  # nothing computed from a figure it may trust: no ceiling at all


def test_quotas_apply_the_region_and_say_how_each_is_known() -> None:
    east, cape_town, canada = (
        Quotas(QUOTAS_FILE, region) for region in ("us-east-1", "af-south-1", "ca-central-1")
    )
    assert (east("api.account_rps"), cape_town("api.account_rps")) == (10000, 2500)
    assert (east("api.account_burst"), cape_town("api.account_burst")) == (5000, 1250)
    assert (east("scheduler.create_schedule"), canada("scheduler.create_schedule")) == (5000, 250)
    assert canada.kind("scheduler.create_schedule") == "documented", "the page gives the other Regions' rate"
    assert east.kind("scheduler.invocations") == "documented"
    assert canada.kind("scheduler.invocations") == "unconfirmed", "the page's figure is the primary Regions'"
    assert east.kind("logs.put_log_events") == "unconfirmed"
    given = Quotas(QUOTAS_FILE, "ca-central-1", {"scheduler.invocations": 50})
    assert (given("scheduler.invocations"), given.kind("scheduler.invocations")) == (50, "given")
    assert "[given] scheduler.invocations = 50" in given.describe("scheduler.invocations")
    with pytest.raises(SystemExit, match=r"no quota named lambda\.concurency"):
        Quotas(QUOTAS_FILE, "us-east-1", {"lambda.concurency": 5})


def test_every_quota_in_the_file_is_read_so_the_report_prints_it() -> None:
    quotas = Quotas(QUOTAS_FILE, "us-east-1", GIVEN)
    printed = capacity.report(DEPLOYED, measure.load(measure.MEASURED_FILE), cost.Load(), quotas, 100)
    assert quotas.used == set(quotas.entries)
    assert all(any(f"] {name} = " in line for line in printed) for name in quotas.entries)


def test_every_quota_names_its_page_and_whether_it_can_be_raised() -> None:
    quotas = Quotas(QUOTAS_FILE, "us-east-1")
    for name, entry in quotas.entries.items():
        assert entry["source"].startswith("https://docs.aws.amazon.com/"), name
        assert isinstance(entry["adjustable"], bool), name
        assert isinstance(entry["confirmed"], bool), name
        assert quotas(name) > 0, name


def _template(**stage: Any) -> dict[str, Any]:
    function = {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "ptm-x-dispatch"}}
    return {
        "Resources": {
            "Dispatch": function,
            "Process": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"FunctionName": "ptm-x-process", "ReservedConcurrentExecutions": 50},
            },
            "Monitor": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "ptm-x-monitor"}},
            "Stage": {
                "Type": "AWS::ApiGatewayV2::Stage",
                "Properties": {
                    "DefaultRouteSettings": {"ThrottlingRateLimit": 7, "ThrottlingBurstLimit": 14, **stage}
                },
            },
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"VisibilityTimeout": 99, "RedrivePolicy": {"maxReceiveCount": 4}},
            },
            "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 1}},
            "MonitorMapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "FunctionName": {"Ref": "Monitor"},
                    "EventSourceArn": {"Fn::GetAtt": ["Dlq", "Arn"]},
                    "BatchSize": 1,
                    "ScalingConfig": {"MaximumConcurrency": 2},
                },
            },
            "Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "FunctionName": {"Ref": "Dispatch"},
                    "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]},
                    "BatchSize": 8,
                    "MaximumBatchingWindowInSeconds": 2,
                    "ScalingConfig": {"MaximumConcurrency": 3},
                },
            },
        }
    }


def test_the_deployment_is_read_from_the_template_the_dispatcher_s_mapping_and_queue() -> None:
    assert Deployed.from_template(_template()) == Deployed(
        api_rate=7,
        api_burst=14,
        dispatch_concurrency=3,
        dispatch_batch=8,
        dispatch_window=2,
        visibility_seconds=99,
        max_receive_count=4,
        reserved={Function.PROCESS: 50},
    )


def _docs(defaults: str, one_k: str) -> str:
    block = "<!-- capacity:{} -->\n{}<!-- /capacity -->\n"
    return "a\n" + block.format("defaults", defaults) + "b\n" + block.format("1k", one_k)


def test_the_docs_blocks_are_replaced_only_when_each_recipe_has_one() -> None:
    rendered = capacity.render_docs(_docs("old\n", ""), {"defaults": "new\n", "1k": "one\n"})
    assert rendered == _docs("new\n", "one\n")
    with pytest.raises(ValueError, match="generated blocks"):
        capacity.render_docs(_docs("old\n", ""), {"defaults": "new\n"})


def test_a_task_s_writes_split_between_the_table_and_each_index() -> None:
    """byPhase: the entry (1) and its move when the task leaves ACTIVE (2), and a delayed task's
    promotion (2); byRunAt: a delayed task's entry in and out (2); the rest on the table. The
    split sums to the bill's writes."""
    m, load = measure.load(measure.MEASURED_FILE), cost.Load()
    demand = Demand.of(m, load, 10)
    delayed = load.short_delay_share + load.long_delay_share
    assert demand.writes[cost.BY_PHASE] == pytest.approx(1 + 2 + 2 * delayed)
    assert demand.writes[cost.BY_RUN_AT] == pytest.approx(2 * delayed)
    item, mix = cost.sizes(m, load), cost.Mix.at(load.failure_rate)
    assert sum(demand.writes.values()) == pytest.approx(sum(cost.writes_per_task(item, mix, load).values()))


def test_every_number_scaling_md_s_prose_states_is_a_declared_one() -> None:
    """Outside its generated tables, docs/SCALING.md states quotas (bench/quotas.json, any Region),
    the recipes' options, quotas and rates (RECIPES), the index's partition ceiling and one example
    --quota value: a quota changed in the file cannot leave the page saying the old one."""
    text = capacity.BLOCK.sub("", capacity.DOCS.read_text())
    quotas = Quotas(QUOTAS_FILE, "us-east-1")
    declared = {float(e["value"]) for e in quotas.entries.values()}
    declared |= {float(v) for e in quotas.entries.values() for v in e.get("by_region", {}).values()}
    declared |= {float(e["elsewhere"]) for e in quotas.entries.values() if "elsewhere" in e}
    for recipe in capacity.RECIPES.values():
        declared |= {recipe.rate, *map(float, recipe.context.values()), *recipe.quotas.values()}
    declared.add(SHARDS * quotas("dynamodb.partition_write_units") / capacity.ACTIVE_KEY_WRITES)
    example_quota = 3000.0  # the page's `make capacity CAPACITY_ARGS="--quota lambda.concurrency=3000"`
    declared.add(example_quota)
    stated = {
        float(n.replace(",", "")) for n in re.findall(r"(?<![\w.-])(\d{1,3}(?:,\d{3})+|\d{4,})(?!\w)", text)
    }
    assert stated - declared == set()
