"""``ptm schedules``: recurring schedules that submit tasks (``PUT|GET|DELETE /schedules/{name}``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from ptm import main as cli

app = typer.Typer(help="Recurring schedules: each firing submits one task.", no_args_is_help=True)


def _document(text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        cli._fail(f"{what} is not JSON: {error}", 2)


def _table(schedules: list[dict[str, Any]]) -> Table:
    table = Table(title="schedules")
    for column in ("name", "expression", "timezone", "state", "overlap", "next firing", "last task"):
        table.add_column(column)
    for item in schedules:
        last = item.get("lastFiring") or {}
        table.add_row(
            item["name"],
            item["expression"],
            item["timezone"],
            item["state"],
            item["overlap"],
            (item.get("nextFirings") or ["-"])[0],
            f"{last.get('taskId', '-')} {last.get('status', '')}".strip(),
        )
    return table


def _detail(body: dict[str, Any]) -> Table:
    table = Table(show_header=False)
    for field, value in body.items():
        shown = "\n".join(value) if field == "nextFirings" else value
        table.add_row(field, json.dumps(shown) if isinstance(shown, dict | list) else str(shown))
    return table


@app.command("put")
def put(
    name: str,
    body: Annotated[
        str | None, typer.Argument(help="the whole schedule as JSON; the options below set its fields")
    ] = None,
    *,
    expression: Annotated[
        str | None, typer.Option(help="rate(5 minutes) or cron(0 9 ? * MON-FRI *): EventBridge Scheduler's")
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="the body each firing submits (JSON, as to ptm submit)")
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA name for a cron schedule (default UTC)")] = None,
    overlap: Annotated[str | None, typer.Option(help="skip (default) or allow")] = None,
    start_at: Annotated[str | None, typer.Option("--start-at", help="RFC 3339")] = None,
    end_at: Annotated[str | None, typer.Option("--end-at", help="RFC 3339")] = None,
    disabled: Annotated[bool, typer.Option(help="create it paused")] = False,
) -> None:
    """Create or replace a schedule (the same command twice leaves one schedule)."""
    document = _document(body, "the schedule") or {}
    if not isinstance(document, dict):
        cli._fail("the schedule must be a JSON object", 2)
    fields = {
        "expression": expression,
        "task": _document(task, "--task"),
        "timezone": timezone,
        "overlap": overlap,
        "startAt": start_at,
        "endAt": end_at,
        "state": "DISABLED" if disabled else None,
    }
    document.update({field: value for field, value in fields.items() if value is not None})
    stored = cli._api(cli.State.api.put_schedule, name, document, ok=frozenset({200, 201}))
    cli._emit(stored, _detail(stored))


@app.command("list")
def list_schedules(
    all_pages: Annotated[bool, typer.Option("--all", help="follow nextToken to the end")] = False,
) -> None:
    """The schedules, by name, with their next firing and last task."""
    items, token = [], None
    while True:
        page = cli._api(cli.State.api.list_schedules, None, token)
        items += page["items"]
        token = page.get("nextToken")
        if not (all_pages and token):
            break
    cli._emit({"items": items, **({"nextToken": token} if token else {})}, _table(items))


@app.command("show")
def show(
    name: str,
    tasks: Annotated[bool, typer.Option("--tasks", help="also list the tasks its firings submitted")] = False,
) -> None:
    """One schedule: its next firings, its last task and status, the last firing it skipped."""
    body = cli._api(cli.State.api.get_schedule, name)
    if not tasks:
        cli._emit(body, _detail(body))
        return
    page = cli._api(cli.State.api.schedule_tasks, name)
    cli._emit({**body, "tasks": page["items"]}, _detail(body))
    if not cli.State.json:
        cli.console.print(cli._task_table(page["items"], f"tasks of {name}, newest firing first"))


@app.command("delete")
def delete(name: str) -> None:
    """Delete a schedule: it fires no more (its tasks stay)."""
    cli._api(cli.State.api.delete_schedule, name, ok=frozenset({204}))
    cli._emit({"name": name, "deleted": True}, f"{name}  deleted")


@app.command("pause")
def pause(name: str) -> None:
    """Stop a schedule's firings until it is resumed."""
    body = cli._api(cli.State.api.pause_schedule, name)
    cli._emit(body, f"{name}  {body['state']}")


@app.command("resume")
def resume(name: str) -> None:
    """Fire again from now on (no catch-up of the firings missed while paused)."""
    body = cli._api(cli.State.api.resume_schedule, name)
    cli._emit(body, f"{name}  {body['state']}  next: {(body.get('nextFirings') or ['-'])[0]}")
