"""The cost model's rules (bench/cost.py), each checked by hand arithmetic."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from bench import billing, cost
from bench.billing import A, Line
from bench.cost import Load, Mix, PricedDeployment, Sizes
from bench.measure import PLATFORM_LOG_BYTES, ExecutionSample, FunctionFigures, Measured
from infra.names import Function


def test_an_unobserved_kind_waits_half_its_full_jitter_ceilings() -> None:
    """TaskFailedError: 2 s then 4 s ceilings (cap 8); FULL jitter: 1 s and 2 s on average. With
    only first-attempt successes measured, the other kinds are estimated: attempts of 25 ms (the
    Lambda task's overhead), the mean waits, the Catch path's 25 ms; each billed in 100 ms steps."""
    figures = cost.executions(_measured(), 0.0, 0.3)
    assert set(figures.unobserved) == {(2, False), (3, False), (3, True)}
    billed = 0.7 * 0.1 + 0.21 * 1.1 + 0.063 * 3.1 + 0.027 * 3.1  # 0.025, 1.05, 3.075 and 3.1 s
    assert figures.billed_seconds == pytest.approx(billed)


def test_a_write_costs_one_unit_per_started_kilobyte() -> None:
    assert billing.write_units(400) == 1
    assert billing.write_units(1024) == 1
    assert billing.write_units(1025) == 2
    assert billing.write_units(2100) == 3, "a failed record with its cause crosses 2 KB"


def test_writes_per_task_follow_the_keys_only_active_phase_index() -> None:
    sizes = Sizes(record=500, failed_record=2100, payload_item=1100)
    mix = Mix.at(0.3)
    writes = cost.writes_per_task(sizes, mix, Load(replay_share=0.0, duplicate_share=0.0))
    assert writes["submit: record (+ payload item) + index entry"] == 2 + 1 + 1
    assert writes["claims (one per attempt)"] == pytest.approx(mix.attempts)
    assert writes["attempt errors (lastError)"] == pytest.approx(mix.failed_attempts)
    assert writes["success (+ index move)"] == pytest.approx((1 - mix.exhausted) * 3)
    assert writes["MarkFailed (+ index move) and dead-lettered"] == pytest.approx(mix.exhausted * (3 + 2 + 3))
    assert writes["refused replays and duplicate claims"] == 0


def test_a_body_inline_saves_the_payload_items_put_its_expiry_and_its_storage_overhead() -> None:
    apart = Sizes(record=500, failed_record=1500, payload_item=600)
    inline = Sizes(record=950, failed_record=1900, payload_item=600, inline=True)
    load = Load(replay_share=0.0, duplicate_share=0.0)
    writes = cost.writes_per_task(inline, Mix.at(0.3), load)
    assert writes["submit: record (+ payload item) + index entry"] == 1 + 1
    assert writes["the payload item's expiry (retention)"] == 0
    assert sum(cost.writes_per_task(apart, Mix.at(0.3), load).values()) - sum(
        writes.values()
    ) == pytest.approx(2)
    assert cost.storage_bytes_per_task(inline) == 950 + A("dynamodb.item_overhead_bytes") + A(
        "dynamodb.index_entry_bytes"
    )


def test_the_table_rule_decides_inline_at_the_loads_body() -> None:
    """The new record, the stored body and the reserve within one write unit: a 1 KiB order
    (compressed to ~45 %) fits; 4 KiB or a body that does not compress does not."""
    measured = _measured()
    assert cost.sizes(measured, Load()).inline
    assert cost.sizes(measured, Load()).record == pytest.approx(440 + 1024 * 0.45 + len("payloadZ"))
    assert not cost.sizes(measured, Load(payload_bytes=4096)).inline
    assert not cost.sizes(measured, Load(payload_compression=1.0)).inline
    assert not cost.sizes(measured, Load(inline=False)).inline


def test_refused_conditional_writes_still_consume_units() -> None:
    sizes = Sizes(record=500, failed_record=2100, payload_item=1100)
    writes = cost.writes_per_task(sizes, Mix.at(0.3), Load(replay_share=0.1, duplicate_share=0.2))
    assert writes["refused replays and duplicate claims"] == pytest.approx(0.1 * (2 + 1) + 0.2 * 1)


def test_xray_samples_the_reservoir_then_five_percent_per_source() -> None:
    assert billing.sampled_share(0.5) == 1.0, "below 1 request/s the reservoir takes every request"
    assert billing.sampled_share(1.0) == 1.0
    assert billing.sampled_share(10.0) == pytest.approx((1 + 0.05 * 9) / 10)
    assert billing.sampled_share(1e6) == pytest.approx(0.05, abs=1e-5)
    assert billing.sampled_share(0.0) == 0.0


def test_batches_fill_only_as_fast_as_messages_arrive() -> None:
    assert billing.batch_size(0.1, 1, 10) == 1.0
    assert billing.batch_size(10.0, 1, 10) == pytest.approx(10 / A("sqs.pollers"))
    assert billing.batch_size(1000.0, 1, 10) == 10.0


def test_cold_starts_follow_idle_gaps_and_never_drop_below_one_percent() -> None:
    assert billing.cold_start_share(1 / 3600) == pytest.approx(math.exp(-300 / 3600))
    assert billing.cold_start_share(10.0) == A("lambda.cold_start_floor")
    assert billing.cold_start_share(0.0) == 1.0


def test_express_bills_whole_100_ms_steps() -> None:
    assert billing.express_billed_seconds(0.3) == pytest.approx(0.3)
    assert billing.express_billed_seconds(0.31) == pytest.approx(0.4)
    assert billing.express_billed_seconds(0.01) == pytest.approx(0.1)


def test_provisioned_capacity_prices_a_unit_at_the_utilization_it_runs_at() -> None:
    deployment = PricedDeployment({}, "ALL", False, "WARNING", "{}", capacity="provisioned", utilization=0.7)
    hours = 1e6 / 3600 / 0.7  # a unit-hour serves 3,600 units when fully used
    [write] = cost._dynamodb(deployment, {"a write a task": 1.0}, "write")
    [read] = cost._dynamodb(deployment, {"a read a task": 1.0}, "read")
    assert write.dollars == pytest.approx(hours * billing.PRICES["dynamodb_wcu_hours"].usd)
    assert read.dollars == pytest.approx(hours * billing.PRICES["dynamodb_rcu_hours"].usd)
    [on_demand] = cost._dynamodb(PricedDeployment({}, "ALL", False, "WARNING", "{}"), {"w": 1.0}, "write")
    assert on_demand.dollars == pytest.approx(billing.PRICES["dynamodb_write_units"].usd)


def test_an_access_log_line_is_the_format_with_typical_values() -> None:
    assert billing.access_log_bytes('{"status":"$context.status"}') == len('{"status":"xxx"}') + 1
    assert billing.access_log_bytes('{"x":"$context.unknownThing"}') == len('{"x":"x"}') + 1


def test_storage_counts_the_record_the_payload_and_the_index_entry() -> None:
    sizes = Sizes(record=500, failed_record=2100, payload_item=1100)
    assert cost.storage_bytes_per_task(sizes) == 500 + 1100 + 2 * A("dynamodb.item_overhead_bytes") + A(
        "dynamodb.index_entry_bytes"
    )


def test_every_price_names_its_source_page() -> None:
    prices = json.loads((Path(cost.__file__).parent / "prices.json").read_text())["prices"]
    assert set(prices) == set(billing.PRICES)
    for name, entry in prices.items():
        assert entry["source"].startswith("https://aws.amazon.com/"), name
        assert entry["read"], name
        assert entry["per"], name


def test_xray_counts_only_the_services_that_decide_sampling() -> None:
    """Executions and the process invocations inside them inherit dispatch's decision (parent-based
    sampling), so only the api, the queue consumers' batches and the sweeps add traces."""
    api, dispatch = (1000.0, 10.0), (500.0, 5.0)
    assert billing.trace_roots([api, dispatch]) == pytest.approx(
        1000 * billing.sampled_share(10.0) + 500 * billing.sampled_share(5.0)
    )
    assert billing.trace_roots([]) == 0.0


def _measured(executions: tuple[ExecutionSample, ...] = (ExecutionSample(1, False, 7, ()),)) -> Measured:
    figures = FunctionFigures(
        invocations=10,
        records=10,
        total_ms=1000.0,
        total_log_bytes=3300.0,
        aws_ms=900.0,
        calls={"dynamodb": 20},
    )
    return Measured(
        tasks=10,
        failure_rate=0.3,
        functions=dict.fromkeys(Function, figures),
        succeeded_record_bytes=440,
        failed_record_bytes=1500,
        new_record_bytes=230,
        inline_share=1.0,
        payload_item_overhead_bytes=90,
        payload_compression=0.45,
        executions=executions,
        metric_names=frozenset({"TasksSubmitted", "TasksSucceeded"}),
        submit_response_bytes=70,
        event_bytes=700,
        event_bytes_without_data=400,
    )


def test_a_functions_aws_duration_is_its_own_time_plus_a_stated_latency_per_call() -> None:
    """1,000 ms of wall time on the emulator, 900 of them in 20 DynamoDB calls: 10 ms of its own
    per invocation, plus two calls at AWS's stated latency."""
    figures = _measured().functions[Function.PROCESS]
    assert figures.own_ms_per_invocation == pytest.approx(10.0)
    assert cost.lambda_ms(figures) == pytest.approx(10.0 + 2 * A("aws_call_ms.dynamodb"))
    assert cost.batch_ms(figures, 4) == pytest.approx(cost.lambda_ms(figures) * 4)


def test_each_execution_is_billed_in_whole_100_ms_steps_on_its_own() -> None:
    """Two executions of 0.15 s and 0.25 s: billed 0.2 and 0.3 (mean 0.25), where rounding their
    mean (0.2) would bill 0.2."""
    process_ms = 100.0 - A("workflow.lambda_task_overhead_ms")  # an attempt takes 0.1 s in the execution
    short = ExecutionSample(1, False, 7, ())
    retried = ExecutionSample(2, False, 10, (0.05,))
    assert cost.execution_seconds(short, process_ms) == pytest.approx(0.1)
    assert cost.execution_seconds(retried, process_ms) == pytest.approx(0.25)
    measured = _measured((ExecutionSample(1, False, 7, (0.05,)), ExecutionSample(1, False, 7, (0.15,))))
    assert cost.executions(measured, process_ms, 0.0).billed_seconds == pytest.approx((0.2 + 0.3) / 2)


def test_executions_weigh_each_measured_kind_by_its_probability_and_count_measured_events() -> None:
    samples = (
        ExecutionSample(1, False, 7, ()),
        ExecutionSample(2, False, 10, (1.0,)),
        ExecutionSample(3, False, 13, (1.0, 2.0)),
        ExecutionSample(3, True, 24, (1.0, 2.0)),
    )
    p = 0.3
    figures = cost.executions(_measured(samples), 0.0, p)
    assert figures.unobserved == ()
    weights = Mix.at(p).classes()
    assert weights == pytest.approx({(1, False): 0.7, (2, False): 0.21, (3, False): 0.063, (3, True): 0.027})
    assert figures.events == pytest.approx(0.7 * 7 + 0.21 * 10 + 0.063 * 13 + 0.027 * 24)
    estimated = cost.executions(_measured(samples[:1]), 0.0, p)
    assert set(estimated.unobserved) == {(2, False), (3, False), (3, True)}


def test_lambdas_own_lines_are_dropped_at_system_level_warn() -> None:
    figures = _measured().functions[Function.API]
    info = PricedDeployment({}, "ALL", False, "WARNING", "{}", system_log_level="INFO")
    warn = PricedDeployment({}, "ALL", False, "WARNING", "{}", system_log_level="WARN")
    assert cost.log_bytes(info, figures) - cost.log_bytes(warn, figures) == PLATFORM_LOG_BYTES


def test_monthly_lines_are_spread_over_the_months_tasks() -> None:
    """At 1 task/s (2.59M a month) a $3 dashboard is $1.16 per 1M tasks; at 100 tasks/s, $0.01."""
    deployment = PricedDeployment({}, "ALL", False, "WARNING", "{}", alarm_metrics=10, dashboards=1)
    for rate, dashboard in ((1.0, 3.0 / 2.592), (100.0, 3.0 / 259.2)):
        total = billing.by_service(cost._monthly(deployment, _measured(), Load(tasks_per_second=rate), []))
        assert total["CloudWatch dashboard"] == pytest.approx(dashboard)
        assert total["CloudWatch alarms"] == pytest.approx(dashboard / 3.0 * 10 * 0.10)
        assert total["CloudWatch metrics (EMF)"] == pytest.approx(dashboard / 3.0 * 2 * 0.30)


def test_executions_and_their_attempts_add_no_trace_of_their_own() -> None:
    """The X-Ray line counts the api's requests (each execution joins its trace), the monitor's
    batches and the sweeps only: retries (more process invocations inside the same executions)
    leave it unchanged, apart from the dead letters' own monitor batches."""
    deployment = PricedDeployment(
        memory_mb=dict.fromkeys(Function, 128),
        workflow_log_level="ALL",
        execution_data=False,
        function_log_level="WARNING",
        access_log_format="{}",
        traced=frozenset(Function) - {Function.DISPATCH},
    )
    xray = {
        rate: billing.by_service(cost.this_design(deployment, _measured(), Load(failure_rate=rate)))["X-Ray"]
        for rate in (0.0, 0.3)
    }
    per_trace = billing.PRICES["traces"].usd / billing.MILLION
    api = billing.MILLION * 1.01 * billing.sampled_share(10.1) * per_trace  # submissions and replays
    assert api < xray[0.0] < api + 0.01, "sweeps only beyond the api's traces (executions join them)"
    dead_letters = billing.MILLION * Mix.at(0.3).exhausted  # 0.27/s: one a batch, each one sampled
    assert xray[0.3] - xray[0.0] == pytest.approx(dead_letters * per_trace), "only monitor batches are new"
    dispatching = dataclasses.replace(deployment, traced=frozenset(Function))
    own = billing.by_service(cost.this_design(dispatching, _measured(), Load(failure_rate=0.0)))["X-Ray"]
    batches = 1.01e6 / 2 * billing.sampled_share(10 / 2)  # two messages a batch, 5 batches/s
    assert own - xray[0.0] == pytest.approx(batches * per_trace), "a traced dispatcher adds a trace a batch"


def test_a_payload_from_the_threshold_is_priced_compressed() -> None:
    assert cost.stored_payload_bytes(1024, 0.45) == pytest.approx(460.8)
    assert cost.stored_payload_bytes(800, 0.45) == 800, "under COMPRESS_FROM_BYTES it is stored as text"
    assert cost.stored_payload_bytes(1024, 1.3) == 1024, "a body compression would grow is stored as text"
    compressed = cost.sizes(_measured(), Load(inline=False))
    assert compressed.payload_item == pytest.approx(90 + 1024 * 0.45)
    assert billing.write_units(compressed.payload_item) == 1
    assert billing.write_units(cost.sizes(_measured(), Load(payload_compression=1.0)).payload_item) == 2


def test_the_feature_floor_adds_only_the_lines_no_setting_removes() -> None:
    """Each line below is $1 (1M requests at $1 per 1M): the floor counts its own services only."""
    services = [*cost.FLOOR_LINES, "X-Ray", "CloudWatch Logs"]
    lines = [Line(service, "", 1e6, "api_requests") for service in services]
    assert cost.feature_floor(lines) == pytest.approx(len(cost.FLOOR_LINES))
    assert "CloudWatch Logs" not in cost.FLOOR_LINES, "function logs can be turned down"


def test_a_retry_wait_scale_shortens_only_the_waits() -> None:
    retried = ExecutionSample(attempts=2, caught=False, events=0, waits=(1.0,))
    whole = cost.execution_seconds(retried, 50.0)
    halved = cost.execution_seconds(retried, 50.0, wait_scale=0.5)
    assert whole - halved == pytest.approx(0.5)


def test_the_workflow_log_group_is_priced_by_its_log_class() -> None:
    standard = PricedDeployment(dict.fromkeys(Function, 128), "ALL", False, "WARNING", "{}")
    infrequent = dataclasses.replace(standard, workflow_log_class="INFREQUENT_ACCESS")
    prices = {
        deployment.workflow_log_class: [
            line.price
            for line in cost.this_design(deployment, _measured(), Load())
            if line.service == cost.WORKFLOW_LOGS
        ]
        for deployment in (standard, infrequent)
    }
    assert prices == {"STANDARD": ["logs_gb"], "INFREQUENT_ACCESS": ["logs_ia_gb"]}
    assert billing.PRICES["logs_ia_gb"].usd < billing.PRICES["logs_gb"].usd


def test_a_scheduled_task_adds_its_due_index_entry_its_promotion_and_its_index_moves() -> None:
    sizes = Sizes(record=500, failed_record=2100, payload_item=1100)
    none = cost.writes_per_task(sizes, Mix.at(0.3), Load(short_delay_share=0.0, long_delay_share=0.0))
    some = cost.writes_per_task(sizes, Mix.at(0.3), Load(short_delay_share=0.1, long_delay_share=0.3))
    key = "scheduled: due-index entry, promotion (+ index moves)"
    assert none[key] == 0
    assert some[key] == pytest.approx(0.4 * (1 + 1 + 2 + 1))
    assert {name: units for name, units in some.items() if name != key} == {
        name: units for name, units in none.items() if name != key
    }


def _deployment(**overrides: object) -> PricedDeployment:
    base = PricedDeployment(
        dict.fromkeys(Function, 128), "ALL", False, "WARNING", '{"status":"$context.status"}'
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def test_every_assumption_the_report_uses_is_printed_with_its_source_and_every_one_is_used() -> None:
    """The report prints each assumption it read (bench/assumptions.json), after computing every
    figure; none in the file goes unused (here the run measured first attempts only, so the
    estimates for the other kinds read theirs)."""
    A.used.clear()
    figures = _measured().functions[Function.API]
    calls = dataclasses.replace(figures, calls={"dynamodb": 10, "stepfunctions": 5, "lambda": 1})
    measured = dataclasses.replace(_measured(), functions=dict.fromkeys(Function, calls))
    printed = "\n".join(cost.report(measured, _deployment(), _deployment(), Load()))
    assert A.used == set(A.entries), f"never used: {sorted(set(A.entries) - A.used)}"
    for name in A.used:
        entry = A.entries[name]
        assert f"[{entry['kind']}] {name} = " in printed, name
        assert entry["source"] in printed, name
    assert printed.splitlines()[-1].startswith("prod defaults: $")


def test_each_lever_changes_only_what_it_names() -> None:
    """Every lever in bench/levers.json overrides existing settings or load, and moves the total."""
    base = cost.with_monthly(cost.this_design, _deployment(), _measured(), Load())
    for lever in cost.LEVERS:
        assert set(lever.deployment) <= {field.name for field in dataclasses.fields(PricedDeployment)}, (
            lever.name
        )
        assert set(lever.load) <= {field.name for field in dataclasses.fields(Load)}, lever.name
        assert lever.effect, lever.name
        moved = lever.lines(
            _deployment(traced=frozenset(Function) - {Function.DISPATCH}), _measured(), Load()
        )
        assert billing.total(moved) != pytest.approx(billing.total(base)) or lever.name.startswith(
            "applied"
        ), lever.name


def test_a_long_poll_takes_what_reached_its_poller_during_one_round_trip() -> None:
    """At 10 messages/s each receive takes one (15 ms x 10/s over 5 pollers is 0.03); at 10,000/s,
    ten (30 a round trip, capped at ten)."""
    assert billing.receives_per_message(10.0) == 1.0
    assert billing.receives_per_message(1000.0) == pytest.approx(1 / 3)
    assert billing.receives_per_message(10_000.0) == pytest.approx(1 / 10)


def test_a_measurement_is_saved_and_read_back_whole(tmp_path: Path) -> None:
    from bench import measure

    measured = dataclasses.replace(_measured(), init_seconds=dict.fromkeys(Function, 0.2))
    measure.save(measured, tmp_path / "measured.json")
    assert measure.load(tmp_path / "measured.json") == measured


def test_a_recurring_firing_adds_its_invocation_its_message_its_claim_and_its_index_entry() -> None:
    """Per task a recurring schedule submits: a Scheduler invocation, the firing's send, receive
    and delete, the schedule's claim (a write of its item, which holds the task's body), its
    strongly consistent read and the last task's status, and the bySchedule entry."""
    sizes, load = Sizes(record=500, failed_record=2100, payload_item=1100), Load(recurring_share=0.1)
    units = cost.write_units_by_target(sizes, Mix.at(0.3), load)[
        "a recurring firing: its claim, the bySchedule entry"
    ]
    item = 1024 + A("dynamodb.schedule_item_extra_bytes")
    assert units == {cost.SCHEDULES: pytest.approx(0.1 * 2), cost.BY_SCHEDULE: pytest.approx(0.1)}
    assert billing.write_units(item) == 2
    reads = cost.reads_per_task(sizes, Mix.at(0.3), load)[
        "a recurring firing: its schedule, the last task's status"
    ]
    assert reads == pytest.approx(0.1 * (1 + 1))
    lines = {(line.service, line.what): line for line in cost.this_design(_deployment(), _measured(), load)}
    assert lines[("EventBridge Scheduler", "a recurring schedule's firings")].quantity == pytest.approx(
        0.1 * billing.MILLION
    )
    none = {(line.service, line.what): line for line in cost.this_design(_deployment(), _measured(), Load())}
    assert none[("EventBridge Scheduler", "a recurring schedule's firings")].quantity == 0
