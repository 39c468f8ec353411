"""A minimal client for the tasks API (standard library only), shared by ``ptm`` and the smoke script."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode


class EndpointUnreachableError(ConnectionError):
    pass


class TasksApi:
    def __init__(self, endpoint: str, timeout: float = 10.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout

    def _call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.endpoint + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw or b"null")
            except json.JSONDecodeError:
                return error.code, raw.decode(errors="replace")
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise EndpointUnreachableError(f"cannot reach {self.endpoint}: {reason}") from error

    def submit(self, payload: dict[str, Any], idempotency_key: str | None = None) -> tuple[int, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self._call("POST", "/tasks", payload, headers)

    def get(self, task_id: str) -> tuple[int, Any]:
        return self._call("GET", f"/tasks/{quote(task_id, safe='')}")

    def list(self, status: str, limit: int | None = None, next_token: str | None = None) -> tuple[int, Any]:
        query = {
            "status": status,
            **({"limit": str(limit)} if limit else {}),
            **({"nextToken": next_token} if next_token else {}),
        }
        return self._call("GET", f"/tasks?{urlencode(query)}")

    def cancel(self, task_id: str) -> tuple[int, Any]:
        return self._call("DELETE", f"/tasks/{quote(task_id, safe='')}")

    def redrive(self, task_id: str) -> tuple[int, Any]:
        return self._call("POST", f"/tasks/{quote(task_id, safe='')}/redrive")
