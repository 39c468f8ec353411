"""Submit tasks, follow them to the end, and account for every one."""

from __future__ import annotations

import statistics
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ptm_client.transport import TasksApi
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from functions.common.clock import moment
from functions.common.task_status import TaskStatus
from smoke.config import SmokeConfig
from smoke.scenarios import EXPECTATIONS, Scenario, is_settled

WORKERS = 8


@dataclass
class Tracked:
    scenario: Scenario
    task_id: str
    record: dict[str, Any] | None = None


@dataclass
class Outcome:
    tracked: list[Tracked] = field(default_factory=list)
    violations: list[dict[str, str]] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    def violation(self, scenario: Scenario, task_id: str, problem: str) -> None:
        self.violations.append({"scenario": scenario.value, "taskId": task_id, "problem": problem})


def _latency_ms(record: dict[str, Any]) -> float:
    created, finished = moment(record["createdAt"]), moment(record["updatedAt"])
    return (finished - created).total_seconds() * 1000


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


class SimulationRefusedError(RuntimeError):
    """The stage takes no test controls (allowSimulation off): a forced scenario cannot run."""

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(
            f"the {scenario.value} scenario needs the simulate test control, which this stage refuses "
            "(its allowSimulation is off, as on production stages); run forced scenarios against a "
            "stage that allows it (dev, the local stack), or only the random one here"
        )


def _refuses_test_controls(status: int, body: Any) -> bool:
    fields = body.get("error", {}).get("fields") if isinstance(body, dict) else None
    return status == 400 and isinstance(fields, dict) and "simulate" in fields


def run(config: SmokeConfig, scenarios: list[Scenario], console: Console) -> Outcome:
    api = config.api()
    outcome = Outcome()
    started = time.monotonic()
    run_id = uuid.uuid4().hex[:8]
    plan = [(scenario, index) for scenario in scenarios for index in range(config.task_count)]
    with ThreadPoolExecutor(WORKERS) as pool, _progress(console) as progress:
        submitted = progress.add_task("submitted", total=len(plan))
        settled = progress.add_task("settled", total=len(plan))

        def submit(item: tuple[Scenario, int]) -> Tracked | None:
            scenario, index = item
            status, body = api.submit(
                EXPECTATIONS[scenario].payload(index), f"smoke-{run_id}-{scenario}-{index}"
            )
            progress.advance(submitted)
            if _refuses_test_controls(status, body):
                raise SimulationRefusedError(scenario)
            if status != 202 or not isinstance(body, dict) or "taskId" not in body:
                outcome.violation(scenario, "-", f"submit answered {status}: {body}")
                return None
            return Tracked(scenario, body["taskId"])

        outcome.tracked = [tracked for tracked in pool.map(submit, plan) if tracked is not None]
        deadline = time.monotonic() + config.timeout_ms / 1000
        pending = list(outcome.tracked)
        while pending and time.monotonic() < deadline:
            time.sleep(min(config.interval_ms / 1000, max(0.0, deadline - time.monotonic())))
            pending = [
                tracked for tracked in pool.map(lambda t: _refresh(api, t, outcome), pending) if tracked
            ]
            progress.update(settled, completed=len(outcome.tracked) - len(pending))
    for tracked in pending:
        status = tracked.record.get("status") if tracked.record else "unknown"
        outcome.violation(
            tracked.scenario, tracked.task_id, f"not settled after {config.timeout_ms} ms (status {status})"
        )
    for tracked in outcome.tracked:
        if tracked.record is not None and is_settled(tracked.record):
            problem = EXPECTATIONS[tracked.scenario].check(tracked.record)
            if problem:
                outcome.violation(tracked.scenario, tracked.task_id, problem)
    outcome.elapsed_seconds = time.monotonic() - started
    return outcome


def _refresh(api: TasksApi, tracked: Tracked, outcome: Outcome) -> Tracked | None:
    """Returns the task if it still has to be followed."""
    status, body = api.get(tracked.task_id)
    if status == 404:
        outcome.violation(tracked.scenario, tracked.task_id, "lost: accepted with 202 but GET answers 404")
        return None
    if status != 200 or not isinstance(body, dict):
        return tracked
    tracked.record = body
    return None if is_settled(body) else tracked


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:>10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def summary(config: SmokeConfig, outcome: Outcome) -> dict[str, Any]:
    per_scenario: dict[str, Any] = {}
    for scenario in dict.fromkeys(tracked.scenario for tracked in outcome.tracked):
        records = [
            t.record for t in outcome.tracked if t.scenario is scenario and t.record and is_settled(t.record)
        ]
        latencies = sorted(_latency_ms(record) for record in records)
        per_scenario[scenario.value] = {
            "submitted": sum(1 for t in outcome.tracked if t.scenario is scenario),
            "succeeded": sum(1 for r in records if r["status"] == TaskStatus.SUCCEEDED),
            "failed": sum(1 for r in records if r["status"] == TaskStatus.FAILED),
            "deadLettered": sum(1 for r in records if r.get("deadLetteredAt")),
            "attempts": dict(sorted(Counter(r.get("attempts", 0) for r in records).items())),
            "latencyMs": {
                "p50": round(_percentile(latencies, 0.50), 1),
                "p95": round(_percentile(latencies, 0.95), 1),
                "max": round(latencies[-1], 1) if latencies else 0.0,
            },
        }
    return {
        "endpoint": config.endpoint,
        "scenarios": per_scenario,
        "violations": outcome.violations,
        "elapsedSeconds": round(outcome.elapsed_seconds, 2),
    }


def render(report: dict[str, Any], console: Console) -> None:
    table = Table(title=f"Smoke run against {report['endpoint']} ({report['elapsedSeconds']} s)")
    for column in (
        "scenario",
        "submitted",
        "succeeded",
        "failed / dead-lettered",
        "attempts",
        "p50 ms",
        "p95 ms",
    ):
        table.add_column(column, justify="left" if column in {"scenario", "attempts"} else "right")
    for name, row in report["scenarios"].items():
        attempts = "  ".join(f"{attempt}:{count}" for attempt, count in row["attempts"].items())
        table.add_row(
            name,
            str(row["submitted"]),
            str(row["succeeded"]),
            f"{row['failed']} / {row['deadLettered']}",
            attempts,
            f"{row['latencyMs']['p50']:.0f}",
            f"{row['latencyMs']['p95']:.0f}",
        )
    console.print(table)
    if report["violations"]:
        console.print(f"[bold red]{len(report['violations'])} violation(s):[/]")
        for violation in report["violations"][:50]:
            console.print(f"  {violation['scenario']:<10} {violation['taskId']}  {violation['problem']}")
    else:
        console.print("[bold green]every task accounted for: no violations[/]")
