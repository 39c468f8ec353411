"""A Python client for a Process Task Manager deployment: submit tasks and read, list, cancel and
redrive them, with the deployment's authorization (SigV4, a JWT, or none).

    from ptm_client import TasksClient

    tasks = TasksClient.from_stage("prod")          # cdk.out/outputs-prod.json, or CloudFormation
    task = tasks.submit({"orderId": 42}, key="order-42")
    print(tasks.get(task.task_id).status)

Every submit carries an ``Idempotency-Key`` (the caller's, or one generated for the call), so a
request answered 429 or 503, or lost on the way, is sent again as the same request: retrying
never makes a second task. Standard library only; signing needs boto3 (``ptm-client[iam]``).
"""

from __future__ import annotations

import functools
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ptm_client.transport import (
    API_AUTH_VARIABLE,
    API_TOKEN_VARIABLE,
    EndpointUnreachableError,
    SigningError,
    TasksApi,
    tasks_api,
)

__all__ = [
    "API_AUTH_VARIABLE",
    "API_TOKEN_VARIABLE",
    "EndpointUnreachableError",
    "SigningError",
    "Task",
    "TasksApiError",
    "TasksClient",
]

ENDPOINT_OUTPUT = "TasksEndpoint"
"""The stack output ``make deploy`` saves the API's URL under."""
RETRIED_STATUSES = frozenset({429, 503})
"""Throttled (API Gateway's 429) or a busy dependency (the API's 503): the request took no effect."""


class TasksApiError(Exception):
    """The API refused a request: its status, the error's ``code`` and ``message``, and its
    other fields (``details``: e.g. ``currentStatus`` on a 409, ``fields`` on a 400)."""

    def __init__(self, status: int, body: Any) -> None:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            self.code = str(error.get("code", "ERROR"))
            self.message = str(error.get("message", ""))
            self.details = {k: v for k, v in error.items() if k not in ("code", "message")}
        else:  # API Gateway's own answers: {"message": "..."}
            self.code = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 429: "TOO_MANY_REQUESTS"}.get(status, "ERROR")
            self.message = str(body.get("message", body) if isinstance(body, dict) else body)
            self.details = {}
        self.status = status
        super().__init__(f"{status} {self.code}: {self.message}")


@dataclass(frozen=True)
class Task:
    """A task record as the API returns it (``record``: the whole body, camelCase)."""

    task_id: str
    status: str
    record: dict[str, Any] = field(repr=False)

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Task:
        return cls(str(record["taskId"]), str(record["status"]), dict(record))

    @property
    def attempts(self) -> int:
        return int(self.record.get("attempts", 0))

    @property
    def result(self) -> Any:
        return self.record.get("result")

    @property
    def error(self) -> str | None:
        return self.record.get("error")

    @property
    def cause(self) -> str | None:
        return self.record.get("cause")

    @property
    def finished(self) -> bool:
        return self.status in ("SUCCEEDED", "FAILED", "CANCELLED")


class TasksClient:
    """The tasks API of one deployment. ``auth``: ``auto`` (a bearer token when ``token`` is
    given, else SigV4 for an API Gateway endpoint when AWS credentials are found, else none),
    ``iam``, ``jwt`` or ``none``. A 429 or 503, or an unreachable endpoint, is retried up to
    ``retries`` times with full-jitter backoff from ``backoff`` seconds."""

    def __init__(
        self,
        endpoint: str,
        *,
        auth: str | None = None,
        token: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        timeout: float = 10.0,
        retries: int = 4,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api: TasksApi = tasks_api(endpoint, auth, region, profile, token)
        self.api.timeout = timeout
        self.retries, self.backoff, self.sleep = retries, backoff, sleep

    @classmethod
    def from_stage(
        cls, stage: str, *, outputs_dir: Path | str = "cdk.out", region: str | None = None, **options: Any
    ) -> TasksClient:
        """The stage's endpoint as ``make deploy`` saved it (``cdk.out/outputs-<stage>.json``), or
        else as CloudFormation describes the stack ``ProcessTaskManager-<stage>`` (needs boto3)."""
        stack = f"ProcessTaskManager-{stage}"
        saved = Path(outputs_dir) / f"outputs-{stage}.json"
        if saved.exists():
            outputs = json.loads(saved.read_text()).get(stack, {})
        else:
            import boto3  # noqa: PLC0415 - only a stage without saved outputs needs the SDK

            cloudformation = boto3.session.Session(profile_name=options.get("profile"), region_name=region)
            [described] = cloudformation.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
            outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        if ENDPOINT_OUTPUT not in outputs:
            raise ValueError(f"stack {stack} has no {ENDPOINT_OUTPUT} output (deployed with make deploy?)")
        return cls(str(outputs[ENDPOINT_OUTPUT]), region=region, **options)

    def _call(self, call: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
        for attempt in range(self.retries + 1):
            try:
                status, body = call()
            except EndpointUnreachableError:
                if attempt == self.retries:
                    raise
            else:
                if status not in RETRIED_STATUSES or attempt == self.retries:
                    return status, body
            self.sleep(random.uniform(0, self.backoff * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _task(self, call: Callable[[], tuple[int, Any]]) -> Task:
        status, body = self._call(call)
        if status >= 400:
            raise TasksApiError(status, body)
        return Task.of(body)

    def submit(
        self,
        body: Mapping[str, Any],
        *,
        key: str | None = None,
        delay: int | None = None,
        at: datetime | str | None = None,
    ) -> Task:
        """Submit a task (``body``: its payload, ``{"type": ...}`` for a type other than the
        default); ``delay`` seconds or ``at`` a time (with its offset) schedule it. The same ``key``
        and body return the same task; without ``key``, one is made for this call and its
        retries."""
        payload = dict(body)
        if delay is not None:
            payload["delaySeconds"] = delay
        if at is not None:
            payload["runAt"] = at.isoformat() if isinstance(at, datetime) else at
        idempotency_key = key or str(uuid.uuid4())
        return self._task(lambda: self.api.submit(payload, idempotency_key))

    def get(self, task_id: str) -> Task:
        return self._task(lambda: self.api.get(task_id))

    def list(self, status: str, *, limit: int | None = None) -> Iterator[Task]:
        """Every task with ``status``, newest first (the pages followed; ``limit`` per page)."""
        token: str | None = None
        while True:
            code, page = self._call(functools.partial(self.api.list, status, limit, token))
            if code >= 400:
                raise TasksApiError(code, page)
            yield from (Task.of(item) for item in page.get("items", []))
            token = page.get("nextToken")
            if not token:
                return

    def cancel(self, task_id: str) -> Task:
        """QUEUED or SCHEDULED → CANCELLED. A 409 for a task already CANCELLED counts as done
        (this call's earlier attempt may have cancelled it)."""
        return self._settled(task_id, lambda: self.api.cancel(task_id), {"CANCELLED"})

    def redrive(self, task_id: str) -> Task:
        """FAILED → QUEUED, a new run. A 409 for a task QUEUED or RUNNING again counts as done."""
        return self._settled(task_id, lambda: self.api.redrive(task_id), {"QUEUED", "RUNNING"})

    def _settled(self, task_id: str, call: Callable[[], tuple[int, Any]], done: set[str]) -> Task:
        status, body = self._call(call)
        if status == 409:
            refusal = TasksApiError(status, body)
            if refusal.details.get("currentStatus") in done:
                return self.get(task_id)
            raise refusal
        if status >= 400:
            raise TasksApiError(status, body)
        return Task.of(body) if isinstance(body, dict) and "taskId" in body else self.get(task_id)
