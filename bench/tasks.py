"""The benchmarks' calls to the tasks API, through the same client ``ptm`` and the smoke script use."""

from __future__ import annotations

import json
import random
import time
from typing import Any

from ptm_client.transport import TasksApi

from functions.common.task_status import TaskStatus

SKUS = ("desk-lamp", "usb-c-cable", "notebook-a5", "coffee-beans-1kg", "mechanical-keyboard", "monitor-arm")


def sample_payload(index: int, size: int = 1024) -> dict[str, Any]:
    """A JSON body of about ``size`` bytes shaped like a real one (an order: ids, names, amounts,
    dates, an address), its values drawn from a seed so each index differs: what the cost model
    calls "a 1 KiB payload". Compression shrinks it as it would shrink real JSON, unlike a run
    of one repeated character."""
    draw = random.Random(index)
    order: dict[str, Any] = {
        "orderId": f"ord-{draw.getrandbits(64):016x}",
        "customer": {
            "id": f"cus-{draw.getrandbits(48):012x}",
            "email": f"user{draw.randrange(10**6)}@example.com",
            "address": {
                "street": f"{draw.randrange(1, 999)} Market Street",
                "city": draw.choice(("Lisbon", "Oslo", "Austin", "Osaka", "Lyon")),
                "postcode": f"{draw.randrange(10**5):05d}",
            },
        },
        "placedAt": f"2026-{draw.randrange(1, 13):02d}-{draw.randrange(1, 29):02d}T"
        f"{draw.randrange(24):02d}:{draw.randrange(60):02d}:{draw.randrange(60):02d}Z",
        "currency": "EUR",
        "lines": [],
    }
    while len(json.dumps(order, separators=(",", ":"))) < size - 60:
        order["lines"].append(
            {
                "sku": draw.choice(SKUS),
                "quantity": draw.randrange(1, 5),
                "unitPrice": round(draw.uniform(2, 300), 2),
                "lineId": draw.getrandbits(32),
            }
        )
    return order


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


def finished(client: TasksApi, task_id: str, timeout: float) -> dict[str, Any]:
    """The task once it is terminal (its status ``is_terminal``), polled every half second."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = get(client, task_id)
        if TaskStatus(task["status"]).is_terminal:
            return task
        time.sleep(0.5)
    raise TimeoutError(f"task {task_id} not terminal after {timeout} s")
