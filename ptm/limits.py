"""``ptm limits``: flow-control limits, changed at runtime (``PUT|GET|DELETE /limits/{key}``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from ptm import main as cli

app: typer.Typer = typer.Typer(
    help="Flow-control limits: at most N tasks in flight, or N starts a second, per task type "
    "(type:<name>), webhook host (host:<host>) or caller key (key:<concurrencyKey>, key:* for each).",
    no_args_is_help=True,
)
_KEY_HELP = (
    "type:<task type>, host:<webhook host>, key:<concurrencyKey> or key:* (every key, each on its own)"
)


def _table(limits: list[dict[str, Any]]) -> Table:
    table = Table(title="limits")
    for column in ("key", "maxConcurrency", "inFlight", "maxPerSecond", "burst", "governedBy"):
        table.add_column(column)
    for item in limits:
        table.add_row(
            *(str(item.get(column, "-")) for column in ("key", "maxConcurrency", "inFlight", "maxPerSecond")),
            str(item.get("burst", "-")),
            str(item.get("governedBy", "-")),
        )
    return table


@app.command("set")
def set_limit(
    key: Annotated[str, typer.Argument(help=_KEY_HELP)],
    *,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", help="at most this many in flight")
    ] = None,
    per_second: Annotated[
        float | None, typer.Option("--per-second", help="at most this many starts a second")
    ] = None,
    burst: Annotated[int | None, typer.Option(help="the token bucket's size (with --per-second)")] = None,
) -> None:
    """Set (or replace) a limit; every dispatcher applies it within its limits cache's period."""
    fields = {"maxConcurrency": concurrency, "maxPerSecond": per_second, "burst": burst}
    body = {name: value for name, value in fields.items() if value is not None}
    stored = cli._api(cli.State.api.put_limit, key, body, ok=frozenset({200, 201}))
    cli._emit(stored, _table([stored]))


@app.command("get")
def get(key: Annotated[str, typer.Argument(help=_KEY_HELP)]) -> None:
    """The limit that governs a key, with its tasks in flight."""
    body = cli._api(cli.State.api.get_limit, key)
    cli._emit(body, _table([body]))


@app.command("list")
def list_limits() -> None:
    """Every limit, with its tasks in flight."""
    body = cli._api(cli.State.api.list_limits)
    cli._emit(
        body, _table(body["items"]) if body["items"] else "no limits: every task runs as fast as it can"
    )


@app.command("clear")
def clear(key: Annotated[str, typer.Argument(help=_KEY_HELP)]) -> None:
    """Delete a limit: its tasks run unlimited from then on."""
    cli._api(cli.State.api.delete_limit, key, ok=frozenset({204}))
    cli._emit({"key": key, "deleted": True}, f"{json.dumps(key)}  cleared")
