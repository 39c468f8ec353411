"""Every benchmark runs once at a small size, as a user runs it, so one that breaks turns the suite
red; its figures are read back and must be sane, not only printed (the full runs are `make bench`,
`make bench-local`, `make bench-retry`, `make bench-init`, `make cost`; `make bench-schedule` runs
small in tests/e2e/test_scheduled.py, on the shared local stack)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench import capacity, measure
from tests.e2e.conftest import run_benchmark
from tests.e2e.documented import fences


def _run(module: str, *arguments: str) -> str:
    result = run_benchmark(module, *arguments)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout


def _numbers(pattern: str, text: str) -> list[float]:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in:\n{text[-3000:]}"
    return [float(group) for group in match.groups()]


def test_the_local_stack_benchmark_ends_every_task_and_prints_a_sane_ratio() -> None:
    printed = _run("bench.local_throughput", "--tasks", "10", "--time-scale", "0.01")
    ended, submitted, floor_ended, floor_submitted = _numbers(
        r"terminal\s+(\d+) / (\d+)\s+(\d+) / (\d+)", printed
    )
    assert ended == submitted == floor_ended == floor_submitted == 10
    [ratio] = _numbers(r"throughput vs the floor: ([\d.]+)x", printed)
    assert 0 < ratio <= 2


def test_the_fairness_benchmark_prints_its_three_figures_and_both_ratios() -> None:
    printed = _run("bench.fairness", "--tasks", "5")
    alone, loaded, limited = _numbers(
        r"p95: alone ([\d.]+) s, beside 5 more unlimited ([\d.]+) s, beside the limited key ([\d.]+) s",
        printed,
    )
    assert 0 < alone <= loaded * 3
    assert limited > 0
    ratio, same_load = _numbers(r"ratio: ([\d.]+)x alone .*, ([\d.]+)x the same load", printed)
    assert ratio == pytest.approx(limited / alone, abs=0.01)
    assert same_load == pytest.approx(limited / loaded, abs=0.01)
    [ended] = _numbers(r"finished meanwhile: (\d+) of 5", printed)
    assert ended >= 1


def test_the_retry_benchmark_observes_every_wait_within_its_policy() -> None:
    printed = _run("bench.retry_timing", "--tasks", "3")  # real time: a scale would magnify overheads
    observed, expected = _numbers(r"waits observed: (\d+) of (\d+) expected", printed)
    assert observed == expected == 6
    rows = re.findall(r"^\s+(\d)\s+(\d+)\s+.*\s(\d+)/(\d+)\s*$", printed, re.MULTILINE)
    assert [(retry, within, n) for retry, _, within, n in rows] == [("1", "3", "3"), ("2", "3", "3")]


def test_the_init_benchmark_prints_a_sane_row_for_each_handler() -> None:
    """One fresh interpreter each, beside the suite's other work: noisy, so only the shape and
    the bounds of each figure are checked (milliseconds of an import, a ratio near one)."""
    printed = _run("bench.init_time", "--runs", "1")
    rows = re.findall(
        r"^(\w+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+[+-][\d.]+\s+([\d.]+)x", printed, re.MULTILINE
    )
    assert {name for name, *_ in rows} == {"api", "dispatch", "process", "monitor", "reconcile"}
    for name, *milliseconds, ratio in rows:
        assert all(0 < float(value) < 5000 for value in milliseconds), name
        assert 0 < float(ratio) <= 3, name


def _cost_figures(printed: str) -> dict[str, float]:
    figures = {
        title: _numbers(rf"(?m)^{re.escape(title)}: \$([\d.]+) per 1M tasks", printed)[0]
        for title in ("dev defaults", "prod defaults", "the Node.js version's design, same settings")
    }
    figures["provisioned"] = _numbers(r"(?m)^provisioned: \$([\d.]+) per 1M tasks$", printed)[0]
    [figures["last line"]] = _numbers(
        r"\Aprod defaults: \$([\d.]+) per 1M tasks \(", printed.splitlines()[-1]
    )
    return figures


def test_make_cost_prices_the_saved_measurement_with_sane_figures() -> None:
    """What `make cost` runs: the committed bench/measured.json, no stack."""
    printed = _run("bench.cost")
    figures = _cost_figures(printed)
    assert figures["last line"] == figures["prod defaults"]
    assert 5 < figures["provisioned"] < figures["prod defaults"] < figures["dev defaults"] < 50
    assert "line items:" in printed
    assert "inputs [documented] and [assumed]" in printed


def test_a_fresh_measurement_is_saved_and_priced(tmp_path: Path) -> None:
    saved = tmp_path / "measured.json"
    _run("bench.measure", "--tasks", "10", "--init-runs", "1", "--out", str(saved))
    figures = _cost_figures(_run("bench.cost", "--measured", str(saved)))
    assert 5 < figures["provisioned"] < figures["prod defaults"] < 50


def test_make_capacity_names_the_binding_limit_last_and_moves_it_with_the_context() -> None:
    """What `make capacity` runs, with a context that lifts the stage throttle past the dispatcher
    (the ceiling moves to it), a status read a task, a Region and a rate (`make capacity` itself
    runs in test_documented_commands.py, the recipes in the next test)."""
    raised = _run(
        "bench.capacity",
        *("--context", "apiRateLimit=5000", "--quota", "dynamodb.warm_write_units=9000"),
        *("--gets", "1", "--region", "eu-south-1", "--rate", "250"),
    )
    assert raised.strip().splitlines()[-1].endswith("(binding: Dispatcher concurrency)")
    assert raised.strip().splitlines()[-2].startswith("next: API account throttle at "), (
        "eu-south-1: 2,500 req/s"
    )
    assert "[given] dynamodb.warm_write_units = 9,000" in raised
    assert "5,000 req/s [template] / 2.01 requests a task" in raised, "a status read a task counts"
    assert "2,500 req/s per account and Region" in raised, "eu-south-1's API Gateway quota"
    assert "capacity at 250 tasks/s, region eu-south-1" in raised
    assert raised.startswith(
        "hypothetical: stages/dev.json's options with apiRateLimit=5000 (not what is deployed)"
    )


def test_scaling_md_tables_are_what_make_capacity_writes(tmp_path: Path) -> None:
    """docs/SCALING.md's tables, regenerated by `python -m bench.capacity --docs` from each
    recipe's template as make synth writes it; the recipes meet their rate, except the one the
    page says does not, and the options it saves are the recipes'."""
    templates = capacity.recipe_templates("dev", tmp_path)
    m = measure.load(measure.MEASURED_FILE)
    blocks = {name: capacity.docs_block(capacity.RECIPES[name], doc, m) for name, doc in templates.items()}
    text = capacity.DOCS.read_text()
    assert capacity.render_docs(text, blocks) == text, "run: python -m bench.capacity --docs"
    ceilings = {
        name: _numbers(r"ceiling: ([\d,]+)", block.replace(",", ""))[0] for name, block in blocks.items()
    }
    assert ceilings["defaults"] >= capacity.RECIPES["defaults"].rate
    assert "(binding: API stage throttle)\n- next: Dispatcher concurrency" in blocks["defaults"]
    assert ceilings["1k"] >= capacity.RECIPES["1k"].rate
    assert ceilings["10k"] < capacity.RECIPES["10k"].rate
    assert "binding: byPhase ACTIVE key partitions" in blocks["10k"]
    saved = [json.loads(block) for block in fences(text, "json")]
    assert [{key: str(value) for key, value in options.items()} for options in saved] == [
        capacity.RECIPES["1k"].context,
        capacity.RECIPES["10k"].context,
    ]
