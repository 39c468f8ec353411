"""``ptm``: submit, inspect and operate tasks, against the local stack (default) or AWS.

Point it at a deployment with ``--endpoint`` or ``TASKS_ENDPOINT`` (the stack output
``TasksEndpoint``). Human-readable tables by default, ``--json`` for scripts.
Exit codes: 0 done; 1 the API refused (4xx/5xx); 2 bad usage or unreachable endpoint.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn
from urllib.parse import quote

import typer
from botocore.exceptions import BotoCoreError, ClientError
from ptm_client.transport import (
    API_AUTH_VARIABLE,
    API_TOKEN_VARIABLE,
    EndpointUnreachableError,
    SigningError,
    TasksApi,
    authorization_advice,
    tasks_api,
)
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from functions.common.errors import DependencyMisconfiguredError, DependencyUnavailableError
from functions.common.scheduling import DELAY_FIELD, RUN_AT_FIELD
from functions.common.task_status import TaskStatus
from infra.names import LOCAL_ENDPOINT, Output
from ptm.deployment import (
    Deployment,
    DeploymentError,
    aws_deployment,
    is_local,
    local_deployment,
    saved_outputs,
    saved_outputs_path,
)
from ptm.dispatch import SETTLED, NoSwitchError, PauseReport, report, settle, switch_of
from ptm.durations import parse_duration
from ptm.logs import LogLine, LogsUsageError, follow, parse_since, read, render, resolve_source

STATUSES = tuple(status.value for status in TaskStatus)
STATUS_STYLE = {
    TaskStatus.SCHEDULED: "cyan",
    TaskStatus.QUEUED: "white",
    TaskStatus.RUNNING: "yellow",
    TaskStatus.SUCCEEDED: "green",
    TaskStatus.FAILED: "red",
    TaskStatus.CANCELLED: "dim",
}

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
console = Console()
errors = Console(stderr=True)


class State:
    api = TasksApi(LOCAL_ENDPOINT)
    json = False
    stage: str | None = None


@app.callback()
def main(
    endpoint: Annotated[str | None, typer.Option(envvar="TASKS_ENDPOINT", help="API base URL")] = None,
    stage: Annotated[
        str | None, typer.Option(help="use the TasksEndpoint output that `make deploy STAGE=…` saved")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    auth: Annotated[
        str,
        typer.Option(
            envvar=API_AUTH_VARIABLE,
            help="auto: a bearer token if TASKS_API_TOKEN is set, SigV4 (your AWS credentials) for an "
            "API Gateway endpoint, else none; or iam, jwt, none",
        ),
    ] = "auto",
    token: Annotated[
        str | None,
        typer.Option(envvar=API_TOKEN_VARIABLE, help="bearer token for a stack deployed with apiAuth=jwt"),
    ] = None,
) -> None:
    url = endpoint or (_deployed_endpoint(stage) if stage else LOCAL_ENDPOINT)
    try:
        State.api = tasks_api(
            url, auth, os.environ.get("AWS_REGION"), os.environ.get("AWS_PROFILE"), token=token
        )
    except SigningError as error:
        _fail(str(error), 2)
    State.json = as_json
    State.stage = stage


def _deployed_endpoint(stage: str) -> str:
    outputs = saved_outputs(stage) or {}
    if Output.TASKS_ENDPOINT not in outputs:
        _fail(
            f"no {Output.TASKS_ENDPOINT} in {saved_outputs_path(stage)}: deploy with "
            f"`make deploy STAGE={stage}` first",
            2,
        )
    return str(outputs[Output.TASKS_ENDPOINT])


def _fail(message: str, code: int) -> NoReturn:
    errors.print(f"[bold red]ptm:[/] {message}")
    raise typer.Exit(code)


def _call(status_and_body: tuple[int, Any], ok: set[int]) -> Any:
    status, body = status_and_body
    if status in ok:
        return body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        current = f" (current status {error['currentStatus']})" if "currentStatus" in error else ""
        _fail(f"{status} {error.get('code')}: {error.get('message')}{current}", 1)
    if status in {401, 403} and isinstance(body, dict) and "message" in body:
        _fail(f"{status} {body['message']}: {authorization_advice(status)}", 1)
    _fail(f"{status}: {body}", 1)


def _api(call: Any, *args: Any, ok: frozenset[int] = frozenset({200})) -> Any:
    try:
        return _call(call(*args), set(ok))
    except EndpointUnreachableError as error:
        hint = " (start it with `make local` or `ptm local`)" if State.api.endpoint == LOCAL_ENDPOINT else ""
        _fail(f"{error}{hint}", 2)


def _emit(body: Any, human: Any) -> None:
    if State.json:
        print(json.dumps(body, indent=2))
    else:
        # A one-line answer stays one line (an id, a status and a time overrun 80 columns).
        console.print(human, soft_wrap=isinstance(human, str))


def _task_table(items: list[dict[str, Any]], title: str | None = None) -> Table:
    table = Table(title=title)
    scheduled = any("runAt" in item for item in items)
    for column in ("task", "status", "attempts", "created", *(("runs at",) if scheduled else ()), "error"):
        table.add_column(column)
    for item in items:
        status = item["status"]
        table.add_row(
            item["taskId"],
            f"[{STATUS_STYLE[status]}]{status}[/]",
            str(item.get("attempts", 0)),
            item.get("createdAt", ""),
            *((item.get("runAt", ""),) if scheduled else ()),
            item.get("error", "") or "",
        )
    return table


@app.command()
def submit(
    payload: Annotated[str | None, typer.Argument(help="the task payload as JSON")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="read the payload from a file")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Idempotency-Key")] = None,
    delay: Annotated[
        str | None, typer.Option("--delay", help="run it this long from now: 90s, 10m, 2h, 3d, 1h30m")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="run it at this RFC 3339 time, e.g. 2030-01-31T09:30:00Z")
    ] = None,
) -> None:
    """Submit a task (now, or later with --delay or --at: it is SCHEDULED until then)."""
    if (payload is None) == (file is None):
        _fail("give the payload as an argument or with --file, not both", 2)
    text = file.read_text() if file else str(payload)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        _fail(f"the payload is not JSON: {error}", 2)
    document = _scheduled(document, delay, at)
    body = _api(State.api.submit, document, key, ok=frozenset({202}))
    when = f"  runs at {body['runAt']}" if "runAt" in body else ""
    _emit(body, f"{body['taskId']}  {body['status']}{when}")


def _scheduled(document: Any, delay: str | None, at: str | None) -> Any:
    """The body with ``delaySeconds`` (from --delay) or ``runAt`` (--at); the API checks them."""
    if delay is None and at is None:
        return document
    if delay is not None and at is not None:
        _fail("give --delay or --at, not both", 2)
    if not isinstance(document, dict):
        _fail("a scheduled task's payload must be a JSON object", 2)
    if DELAY_FIELD in document or RUN_AT_FIELD in document:
        _fail(f"the payload already says when it runs ({DELAY_FIELD} or {RUN_AT_FIELD})", 2)
    if at is not None:
        return {**document, RUN_AT_FIELD: at}
    seconds = parse_duration(str(delay))
    if seconds is None:
        _fail(f"--delay {delay!r}: use seconds or a duration such as 90s, 10m, 2h, 3d or 1h30m", 2)
    return {**document, DELAY_FIELD: seconds}


@app.command()
def types(
    schema: Annotated[str | None, typer.Option("--schema", help="print this type's JSON Schema")] = None,
) -> None:
    """List the task types the deployment runs (submit one with {"type": NAME, ...})."""
    body = _api(State.api.task_types)
    if schema is not None:
        match = [entry for entry in body["items"] if entry["name"] == schema]
        if not match:
            _fail(f"no task type {schema!r}; known: {', '.join(entry['name'] for entry in body['items'])}", 2)
        print(json.dumps(match[0]["schema"], indent=2))
        return
    table = Table()
    for column in ("type", "fields", "description"):
        table.add_column(column)
    for entry in body["items"]:
        properties = entry["schema"].get("properties", {})
        required = set(entry["schema"].get("required", []))
        fields = ", ".join(
            f"{name}{'' if name in required else '?'}" for name in properties if name != "type"
        )
        name = f"{entry['name']} (default)" if entry.get("default") else entry["name"]
        table.add_row(name, fields, entry["description"])
    _emit(body, table)


@app.command()
def status(task_id: str) -> None:
    """Show one task's record."""
    body = _api(State.api.get, task_id)
    table = Table(show_header=False)
    for field, value in body.items():
        table.add_row(field, json.dumps(value) if isinstance(value, dict | list) else str(value))
    _emit(body, table)


@app.command("list")
def list_tasks(
    status: Annotated[str, typer.Option("--status", "-s", help="|".join(STATUSES))] = "FAILED",
    limit: Annotated[int, typer.Option(min=1, max=100)] = 50,
    all_pages: Annotated[bool, typer.Option("--all", help="follow nextToken to the end")] = False,
) -> None:
    """List tasks with a status, newest first."""
    items, token = [], None
    while True:
        page = _api(State.api.list, status.upper(), limit, token)
        items += page["items"]
        token = page.get("nextToken")
        if not (all_pages and token):
            break
    _emit(
        {"items": items, **({"nextToken": token} if token else {})},
        _task_table(items, f"{status.upper()} tasks"),
    )


@app.command()
def cancel(task_id: str) -> None:
    """Cancel a task that has not started."""
    body = _api(State.api.cancel, task_id)
    _emit(body, f"{body['taskId']}  {body['status']}")


@app.command()
def redrive(
    task_id: Annotated[str | None, typer.Argument()] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="redrive every FAILED task")] = False,
    rate: Annotated[float, typer.Option(help="redrives per second with --all-failed", min=0.1)] = 5.0,
) -> None:
    """Queue a FAILED task again (a new run); --all-failed does every one, rate-limited."""
    if (task_id is None) == (not all_failed):
        _fail("give a task id or --all-failed", 2)
    if task_id is not None:
        body = _api(State.api.redrive, task_id, ok=frozenset({202}))
        _emit(body, f"{body['taskId']}  {body['status']}  run {body['runs']}")
        return
    # Snapshot first: a redriven task that fails again is FAILED once more, and re-listing after
    # each page would redrive it again, for ever.
    failed: list[str] = []
    token: str | None = None
    while True:
        page = _api(State.api.list, "FAILED", 100, token)
        failed.extend(item["taskId"] for item in page["items"])
        token = page.get("nextToken")
        if not token:
            break
    redriven: list[dict[str, Any]] = []
    skipped: list[str] = []
    for failed_id in dict.fromkeys(failed):
        started = time.monotonic()
        body = _api(State.api.redrive, failed_id, ok=frozenset({202, 409}))
        if "taskId" in body:
            redriven.append(body)
        else:
            skipped.append(failed_id)
        time.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))
    summary = f"redrove {len(redriven)} failed task(s)"
    if skipped:
        summary += f"; {len(skipped)} no longer FAILED when reached"
    _emit({"redriven": redriven, "skipped": skipped}, summary)


@app.command()
def watch(
    statuses: Annotated[
        list[str] | None, typer.Option("--status", "-s", help="repeatable; default all")
    ] = None,
    interval: Annotated[float, typer.Option(min=0.2)] = 2.0,
    once: Annotated[bool, typer.Option(help="print one snapshot and exit")] = False,
) -> None:
    """A live table of recent tasks (Ctrl-C to stop)."""
    chosen = [s.upper() for s in statuses] if statuses else list(STATUSES)

    def snapshot() -> tuple[list[dict[str, Any]], Table]:
        items = [item for s in chosen for item in _api(State.api.list, s, 20, None)["items"]]
        items.sort(key=lambda item: item["createdAt"], reverse=True)
        counts = "  ".join(f"{s} {sum(1 for i in items if i['status'] == s)}" for s in chosen)
        return items, _task_table(items[:30], f"{State.api.endpoint}   {counts}")

    if once or State.json:
        items, table = snapshot()
        _emit({"items": items}, table)
        return
    try:
        with Live(snapshot()[1], console=console, refresh_per_second=4) as live:
            while True:
                time.sleep(interval)
                live.update(snapshot()[1])
    except KeyboardInterrupt:
        return


def _deployment() -> Deployment:
    try:
        if State.stage is None and is_local(State.api.endpoint):
            return local_deployment(State.api.endpoint)
        return aws_deployment(
            State.stage or _stage_of(State.api.endpoint),
            os.environ.get("AWS_REGION"),
            os.environ.get("AWS_PROFILE"),
        )
    except DeploymentError as error:
        _fail(str(error), 2)


def _stage_of(endpoint: str) -> str:
    """An API Gateway endpoint does not name its stage: say which with --stage."""
    _fail(f"which stage is {endpoint}? give --stage (the STAGE you deployed with)", 2)


@app.command()
def logs(
    function: Annotated[
        str | None,
        typer.Argument(
            help="api, dispatch, process, monitor, reconcile or workflow (or submitTask, processTask, "
            "dlqMonitor); all when omitted"
        ),
    ] = None,
    follow_logs: Annotated[bool, typer.Option("--follow", "-f", help="keep printing new lines")] = False,
    since: Annotated[str, typer.Option(help="how far back: 30s, 10m, 2h, 1d")] = "10m",
    task: Annotated[
        str | None,
        typer.Option("--task", help="only the lines about this task, from every function and the workflow"),
    ] = None,
) -> None:
    """Print the functions' (and the workflow's) logs, on AWS or on the local stack alike."""
    try:
        window = parse_since(since)
        source = resolve_source(function) if function else None
    except LogsUsageError as error:
        _fail(str(error), 2)
    deployment = _deployment()
    groups = deployment.log_groups()
    if source is not None:
        groups = {source: groups[source]}
    client = deployment.client("logs")
    start = int((time.time() - window) * 1000)

    def fetch(start_ms: int) -> list[LogLine]:
        return read(client, groups, start_ms=start_ms, task_id=task)

    try:
        for line in follow(fetch, start, rounds=None if follow_logs else 1):
            if State.json:
                print(
                    json.dumps(
                        {"source": line.source, "timestamp": line.timestamp_ms, "message": line.message}
                    )
                )
            else:
                stamp = time.strftime("%H:%M:%S", time.localtime(line.timestamp_ms / 1000))
                console.print(
                    f"{stamp}  [bold]{line.source:<9}[/]  {escape(render(line.message))}",
                    markup=True,
                    highlight=False,
                    soft_wrap=True,
                )
    except KeyboardInterrupt:
        return
    except (BotoCoreError, ClientError) as error:
        _fail(f"reading logs: {error}", 2)


def _switch_dispatch(action: str, wait: int) -> None:
    deployment = _deployment()
    try:
        switch = switch_of(deployment)
        change = switch.pause if action == "pause" else switch.resume
        state = settle(change, switch.state, SETTLED[action], wait)
        current = report(deployment, state)
    except NoSwitchError as error:
        _fail(str(error), 2)
    except (DependencyMisconfiguredError, DependencyUnavailableError, BotoCoreError, ClientError) as error:
        _fail(f"{action}: {error}", 2)
    if State.json:
        print(json.dumps(current.as_json(), indent=2))
    else:
        for line in current.lines():
            console.print(escape(line))
    if state.state != SETTLED[action]:
        errors.print(
            f"ptm: the mapping is still {state.state} after {wait}s; Lambda finishes the change on its own "
            "(check with `ptm info`)"
        )


@app.command()
def pause(
    wait: Annotated[int, typer.Option(help="seconds to wait until Lambda has stopped polling")] = 120,
) -> None:
    """Stop dispatch for an incident: disable the dispatcher's event-source mapping. New tasks stay
    QUEUED and wait in the tasks queue (nothing is lost); batches already dispatched finish."""
    _switch_dispatch("pause", wait)


@app.command()
def resume(
    wait: Annotated[int, typer.Option(help="seconds to wait until Lambda polls again")] = 120,
) -> None:
    """Start dispatch again: enable the dispatcher's event-source mapping; the queue drains."""
    _switch_dispatch("resume", wait)


def _queue_depths(deployment: Deployment) -> dict[str, dict[str, int]]:
    sqs = deployment.client("sqs")
    depths: dict[str, dict[str, int]] = {}
    for name in (Output.TASKS_QUEUE_URL, Output.DEAD_LETTER_QUEUE_URL):
        url = deployment.outputs.get(name)
        if not url:
            continue
        try:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
        except (BotoCoreError, ClientError) as error:
            _fail(f"reading {name}: {error}", 2)
        depths[name] = {
            "visible": int(attributes["ApproximateNumberOfMessages"]),
            "inFlight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        }
    return depths


def _dispatch_report(deployment: Deployment) -> PauseReport | None:
    try:
        return report(deployment)
    except NoSwitchError as error:
        errors.print(f"ptm: {error}")
        return None
    except (DependencyMisconfiguredError, DependencyUnavailableError, BotoCoreError, ClientError) as error:
        _fail(f"reading the dispatch state: {error}", 2)


@app.command()
def info(
    capacity: Annotated[
        bool,
        typer.Option(
            "--capacity",
            help="instead: which AWS limit binds first, in tasks/s, for what is deployed (make capacity)",
        ),
    ] = False,
    rate: Annotated[
        float, typer.Option(help="with --capacity: the tasks/s its headroom is shown at")
    ] = 100.0,
) -> None:
    """Where everything is: endpoint, table, queues (with their depth), state machine, log groups,
    dashboard and console links."""
    deployment = _deployment()
    if capacity:
        _print_capacity(deployment, rate)
        return
    outputs = dict(deployment.outputs)
    depths = _queue_depths(deployment)
    dispatch = _dispatch_report(deployment)
    body = {
        **outputs,
        "SavedOptions": None if deployment.local else _saved_options(deployment.stage),
        "Dispatch": dispatch.as_json() if dispatch else None,
        "LogGroups": deployment.log_groups(),
        "QueueDepths": depths,
        "Limits": _limits(),
        "Links": _links(deployment),
    }
    body.pop("FunctionLogGroups", None)
    secret_arn = outputs.get(Output.WEBHOOK_SIGNING_SECRET_ARN)
    if secret_arn:
        body["WebhookSigningSecret"] = (
            f"Secrets Manager: aws secretsmanager get-secret-value --secret-id {secret_arn} "
            "--query SecretString (receivers verify with whsec_ + that value)"
        )
    if State.json:
        print(json.dumps(body, indent=2))
        return
    where = "local" if deployment.local else deployment.region
    table = Table(title=f"Process Task Manager — stage {deployment.stage} ({where})")
    table.add_column("what")
    table.add_column("where")
    for key, value in body.items():
        if key == "Dispatch":  # printed below the table, with its warning
            continue
        if isinstance(value, dict):
            for inner, detail in value.items():
                table.add_row(
                    f"{key} {inner}", json.dumps(detail) if isinstance(detail, dict) else str(detail)
                )
        else:
            table.add_row(key, str(value))
    console.print(table)
    if dispatch is not None:
        for line in dispatch.lines():
            (errors if line.startswith("warning") else console).print(escape(line))


def _limits() -> dict[str, Any] | str:
    """The flow-control limits with their tasks in flight (``GET /limits``), by key."""
    try:
        status, body = State.api.list_limits()
    except EndpointUnreachableError as error:
        return str(error)
    if status != 200 or not isinstance(body, dict):
        return f"GET /limits answered {status}"
    items = body.get("items") or []
    if not items:
        return "none (ptm limits set <key> --concurrency N)"
    return {item["key"]: {name: value for name, value in item.items() if name != "key"} for item in items}


def _saved_options(stage: str) -> dict[str, Any] | str:
    """The stage's file, as synthesis reads it (what ``make deploy`` deploys)."""
    from infra.stage_options import StageOptionsError, saved_options  # noqa: PLC0415

    try:
        options = saved_options(stage)
    except StageOptionsError as error:
        return str(error)
    return options if options is not None else f"no stages/{stage}.json here"


def _print_capacity(deployment: Deployment, rate: float) -> None:
    from infra.synth import SynthError  # noqa: PLC0415
    from ptm.capacity import lines  # noqa: PLC0415 - the cost model loads only for this option

    try:
        report = lines(deployment, rate)
    except (BotoCoreError, ClientError, SynthError) as error:
        _fail(f"reading the deployment for --capacity: {error}", 2)
    if State.json:
        print(json.dumps({"report": report}, indent=2))
        return
    for line in report:
        console.print(escape(line), soft_wrap=True)


def _links(deployment: Deployment) -> dict[str, str]:
    if deployment.local:
        return {"execution view": f"{deployment.outputs[Output.TASKS_ENDPOINT]}/ui"}
    region, outputs = deployment.region, deployment.outputs
    console_home = f"https://{region}.console.aws.amazon.com"
    links = {}
    states = f"{console_home}/states/home?region={region}"
    cloudwatch = f"{console_home}/cloudwatch/home?region={region}"
    if Output.STATE_MACHINE_ARN in outputs:
        links["state machine"] = (
            f"{states}#/statemachines/view/{quote(outputs[Output.STATE_MACHINE_ARN], safe='')}"
        )
    if Output.DASHBOARD_NAME in outputs:
        links["dashboard"] = (
            f"{console_home}/cloudwatch/home?region={region}#dashboards/dashboard/"
            f"{outputs[Output.DASHBOARD_NAME]}"
        )
    for source, group in deployment.log_groups().items():
        links[f"logs {source}"] = f"{cloudwatch}#logsV2:log-groups/log-group/{quote(group, safe='')}"
    return links


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}
)
def local(context: typer.Context) -> None:
    """Run the whole system on this machine (options: ptm local --help)."""
    from local.cli import main as run_local  # noqa: PLC0415 - moto loads only for this command

    run_local(list(context.args))


if __name__ == "__main__":
    sys.exit(app())


# The schedules' commands live in ptm/schedules.py, which reads this module's helpers.
from ptm import limits, schedules  # noqa: E402

app.add_typer(schedules.app, name="schedules")
app.add_typer(limits.app, name="limits")
