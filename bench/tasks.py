"""The benchmarks' calls to the tasks API, through the same client ``ptm`` and the smoke script use."""

from __future__ import annotations

from typing import Any

from ptm.client import TasksApi


def api(endpoint: str) -> TasksApi:
    """A client patient enough for a loaded local stack."""
    return TasksApi(endpoint, timeout=30)


def submit(client: TasksApi, payload: dict[str, Any]) -> str:
    """The new task's id; anything but 202 Accepted stops the benchmark."""
    status, body = client.submit(payload)
    if status != 202:
        raise RuntimeError(f"submit answered {status}: {body}")
    return str(body["taskId"])


def get(client: TasksApi, task_id: str) -> dict[str, Any]:
    status, body = client.get(task_id)
    if status != 200:
        raise RuntimeError(f"GET /tasks/{task_id} answered {status}: {body}")
    task: dict[str, Any] = body
    return task
