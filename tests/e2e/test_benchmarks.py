"""Every benchmark runs once at a small size, so one that breaks turns the suite red (the full
runs are `make bench`, `make bench-local`, `make bench-retry`, `make bench-init`, `make cost`;
`make bench-schedule` runs small in tests/e2e/test_scheduled.py, on the shared local stack)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import run_benchmark


@pytest.mark.parametrize(
    ("module", "arguments", "printed"),
    [
        ("bench.local_throughput", ["--tasks", "10", "--time-scale", "0.01"], "throughput vs the floor"),
        # In real time: a time scale would magnify the interpreter's own milliseconds past a ceiling.
        ("bench.retry_timing", ["--tasks", "3"], "waits observed"),
        ("bench.init_time", ["--runs", "1"], "own code"),
        ("bench.cost", ["--measure-tasks", "10", "--init-runs", "1"], "prod defaults: $"),
    ],
)
def test_each_benchmark_runs_at_a_small_size_and_prints_its_figures(
    module: str, arguments: list[str], printed: str
) -> None:
    result = run_benchmark(module, *arguments)

    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert printed in result.stdout, result.stdout[-4000:]
