"""``python -m smoke`` / ``make smoke``: submit tasks and check that every one ends as the contract says.

Reads the Node.js version's variables verbatim: TASKS_ENDPOINT (default: the local stack; with
or without its trailing /tasks), TASKS_TABLE (optional cross-check in DynamoDB: the local stack's
emulator, or the table in AWS_REGION), SMOKE_TASK_COUNT, SMOKE_TIMEOUT_MS, SMOKE_INTERVAL_MS,
AWS_REGION, AWS_PROFILE, AWS_SDK_LOAD_CONFIG (accepted; boto3 always reads the AWS config file).
Exit codes: 0 all accounted for; 1 violations (lost, stuck, forbidden state); 2 bad configuration
or unreachable endpoint, named in one line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ptm_client.transport import EndpointUnreachableError, SigningError
from rich.console import Console
from rich.markup import escape

from smoke.config import SmokeConfigError, check_endpoint, load
from smoke.run import SimulationRefusedError, render, run, summary
from smoke.scenarios import Scenario
from smoke.table_check import cross_check, open_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[scenario.value for scenario in Scenario],
        help="repeatable; default random (FAILURE_RATE decides); success/retry/dlq/permanent force one path",
    )
    parser.add_argument("--json", type=Path, help="also write the summary as JSON to this file")
    args = parser.parse_args(argv)
    console = Console()
    try:
        config = load()
        check_endpoint(config)
        reader = open_table(config) if config.table else None
    except (SmokeConfigError, SigningError) as error:
        console.print(f"[bold red]smoke: bad configuration:[/] {escape(str(error))}", soft_wrap=True)
        return 2
    except EndpointUnreachableError as error:
        hint = " (start it with `make local`)" if config.is_local_default else ""
        console.print(f"[bold red]smoke:[/] TASKS_ENDPOINT: {escape(str(error))}{hint}", soft_wrap=True)
        return 2
    scenarios = [Scenario(name) for name in dict.fromkeys(args.scenario or [Scenario.RANDOM.value])]
    console.print(
        f"smoke: {config.task_count} task(s) per scenario ({', '.join(scenarios)}) → {config.endpoint}"
    )
    try:
        outcome = run(config, scenarios, console)
    except EndpointUnreachableError as error:
        console.print(f"[bold red]smoke:[/] {error}")
        return 2
    except SimulationRefusedError as error:
        console.print(f"[bold red]smoke:[/] {escape(str(error))}", soft_wrap=True)
        return 2
    if reader is not None:
        cross_check(reader, outcome)
    report = summary(config, outcome)
    render(report, console)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 1 if report["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
