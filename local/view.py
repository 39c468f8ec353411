"""The local stack's execution view: recent tasks, and per task the state-machine graph with
the path its execution took, drawn by Mermaid from the ASL and the emulator's execution history.

Served under ``/ui`` by the local HTTP front; the Step Functions console does not exist locally.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jinja2

from functions.common.models import Task, TaskStatus, TaskSummary
from infra.workflow_definition import REPO_ROOT

MERMAID_JS = REPO_ROOT / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
Reply = tuple[int, dict[str, str], bytes]


@dataclass
class PathTaken:
    """What one execution did, read from its history."""

    entered: list[str] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)
    failed_attempts: Counter[str] = field(default_factory=Counter)
    caught_from: set[str] = field(default_factory=set)
    outcome: str = "RUNNING"


def path_taken(events: list[dict[str, Any]]) -> PathTaken:
    taken = PathTaken()
    current = ""
    for event in events:
        kind = event["type"]
        if "stateEnteredEventDetails" in event:
            entered = event["stateEnteredEventDetails"]["name"]
            if current and taken.failed_attempts[current] and entered != current:
                taken.caught_from.add(current)
            current = entered
            taken.entered.append(current)
        elif kind == "TaskScheduled":
            taken.attempts[current] += 1
        elif kind == "TaskFailed":
            taken.failed_attempts[current] += 1
        elif kind in {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}:
            taken.outcome = kind.removeprefix("Execution").upper()
    return taken


def _node_id(name: str) -> str:
    return "s_" + "".join(ch if ch.isalnum() else "_" for ch in name)


def mermaid_graph(definition: dict[str, Any], taken: PathTaken | None = None) -> str:
    """A Mermaid flowchart of the ASL: Next edges solid, Catch edges dotted, Retry as self-loops;
    the states the execution entered are highlighted, the failing end in red."""
    taken = taken or PathTaken()
    states: dict[str, Any] = definition["States"]
    lines = [
        "flowchart TD",
        "  start((start))",
        "  done((end))",
        f"  start --> {_node_id(definition['StartAt'])}",
    ]
    for name, state in states.items():
        label = name
        if taken.attempts[name] > 1:
            label += f"<br/>{taken.attempts[name]} attempts"
        lines.append(f'  {_node_id(name)}["{label}"]')
        if name == definition["StartAt"]:
            node = _node_id(name)
            lines += [
                f'  {node} -- "retry {", ".join(retrier["ErrorEquals"])}" --> {node}'
                for retrier in state.get("Retry", [])
                if "TaskFailedError" in retrier["ErrorEquals"]
            ]
        if "Next" in state:
            lines.append(f"  {_node_id(name)} --> {_node_id(state['Next'])}")
        for catcher in state.get("Catch", []):
            errors = ", ".join(catcher["ErrorEquals"])
            lines.append(f'  {_node_id(name)} -. "catch {errors}" .-> {_node_id(catcher["Next"])}')
        if state.get("End") or state["Type"] in {"Succeed", "Fail"}:
            lines.append(f"  {_node_id(name)} --> done")
    lines += [
        "  classDef entered fill:#d7f0d2,stroke:#2e7d32,stroke-width:3px",
        "  classDef retried fill:#fff1c2,stroke:#b7791f,stroke-width:3px",
        "  classDef failed fill:#f9d2d2,stroke:#c62828,stroke-width:3px",
    ]
    lines += [
        f"  class {_node_id(name)} {_css(states[name], name, taken)}"
        for name in states
        if name in taken.entered
    ]
    return "\n".join(lines)


def _css(state: dict[str, Any], name: str, taken: PathTaken) -> str:
    if state["Type"] == "Fail":
        return "failed"
    if taken.failed_attempts[name] or name in taken.caught_from:
        return "retried"
    return "entered"


_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
HTML = {"Content-Type": "text/html; charset=utf-8"}


def index_page(tasks: list[TaskSummary], status: TaskStatus | None) -> bytes:
    title = f"Tasks: {status.value}" if status else "Recent tasks"
    return (
        _templates.get_template("index.html")
        .render(title=title, tasks=tasks, statuses=[s.value for s in TaskStatus], refresh=True)
        .encode()
    )


def task_page(task: Task, graph: str, events: list[dict[str, Any]], taken: PathTaken, mermaid: bool) -> bytes:
    rows = [{"id": event["id"], "type": event["type"], "detail": _detail(event)} for event in events]
    settled = task.status.settled(task.dead_lettered_at is not None)
    return (
        _templates.get_template("task.html")
        .render(
            title=task.task_id,
            task=task,
            graph=graph,
            events=rows,
            outcome=taken.outcome.lower(),
            mermaid=mermaid,
            refresh=not settled,
        )
        .encode()
    )


def _cause(cause: str) -> str:
    """A Lambda error's message rather than its whole payload (stack trace included)."""
    try:
        payload = json.loads(cause)
    except json.JSONDecodeError:
        return cause[:200]
    return str(payload.get("errorMessage", cause))[:200] if isinstance(payload, dict) else cause[:200]


def _detail(event: dict[str, Any]) -> str:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            if "name" in value:
                return str(value["name"])
            if "error" in value:
                return f"{value['error']}: {_cause(str(value.get('cause', '')))}"
            if "resource" in value:
                return str(value["resource"])
    return ""


@dataclass
class ExecutionView:
    """Answers ``/ui`` requests from the emulator's records and execution history."""

    get_task: Callable[[str], Task | None]
    list_tasks: Callable[[TaskStatus], list[TaskSummary]]
    history: Callable[[str], list[dict[str, Any]]]
    definition: dict[str, Any]
    mermaid_js: Path = MERMAID_JS

    def handle(self, path: str, query: str) -> Reply:
        if path == "/ui/static/mermaid.min.js" and self.mermaid_js.exists():
            return (
                200,
                {"Content-Type": "text/javascript", "Cache-Control": "max-age=3600"},
                self.mermaid_js.read_bytes(),
            )
        if path in {"/ui", "/ui/"}:
            raw = parse_qs(query).get("status", [""])[0]
            status = TaskStatus(raw) if raw in TaskStatus.__members__ else None
            statuses = [status] if status else list(TaskStatus)
            tasks = sorted(
                (task for s in statuses for task in self.list_tasks(s)),
                key=lambda t: t.created_at,
                reverse=True,
            )[:100]
            return 200, HTML, index_page(tasks, status)
        if path.startswith("/ui/tasks/"):
            task = self.get_task(path.removeprefix("/ui/tasks/"))
            if task is None:
                return 404, HTML, b"<!doctype html><p>No such task.</p>"
            events = self.history(task.execution_arn) if task.execution_arn else []
            taken = path_taken(events)
            graph = mermaid_graph(self.definition, taken)
            return 200, HTML, task_page(task, graph, events, taken, self.mermaid_js.exists())
        return 404, {"Content-Type": "application/json"}, json.dumps({"message": "Not Found"}).encode()
