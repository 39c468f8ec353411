"""The smoke script's settings, from the Node.js version's environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from infra.spec import LOCAL_ENDPOINT
from ptm.client import API_AUTH_VARIABLE, TasksApi, tasks_api


class SmokeConfigError(ValueError):
    """A variable is missing or malformed; the message names it."""


@dataclass(frozen=True)
class SmokeConfig:
    endpoint: str
    table: str | None
    task_count: int
    timeout_ms: int
    interval_ms: int
    region: str | None
    profile: str | None
    api_auth: str = "none"
    """``iam`` for a stack deployed with ``apiAuth=iam``: requests are SigV4-signed."""

    @property
    def is_local_default(self) -> bool:
        return self.endpoint == LOCAL_ENDPOINT

    def api(self) -> TasksApi:
        """Raises SigningError when ``iam`` is asked for and no credentials are found."""
        return tasks_api(self.endpoint, self.api_auth, self.region, self.profile)


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SmokeConfigError(f"{name}={raw!r} is not a whole number") from None
    if value <= 0:
        raise SmokeConfigError(f"{name}={raw!r} must be greater than zero")
    return value


def load(environ: Mapping[str, str] | None = None) -> SmokeConfig:
    env = os.environ if environ is None else environ
    endpoint = (env.get("TASKS_ENDPOINT") or LOCAL_ENDPOINT).rstrip("/")
    url = urlsplit(endpoint)
    if url.scheme not in {"http", "https"} or not url.netloc:
        raise SmokeConfigError(f"TASKS_ENDPOINT={endpoint!r} is not an http(s) URL")
    return SmokeConfig(
        endpoint=endpoint,
        table=env.get("TASKS_TABLE") or None,
        task_count=_positive_int(env, "SMOKE_TASK_COUNT", 10),
        timeout_ms=_positive_int(env, "SMOKE_TIMEOUT_MS", 60_000),
        interval_ms=_positive_int(env, "SMOKE_INTERVAL_MS", 3_000),
        region=env.get("AWS_REGION") or None,
        profile=env.get("AWS_PROFILE") or None,
        api_auth=_api_auth(env),
    )


def _api_auth(environ: Mapping[str, str]) -> str:
    raw = (environ.get(API_AUTH_VARIABLE) or "none").lower()
    if raw not in {"none", "iam"}:
        raise SmokeConfigError(f"{API_AUTH_VARIABLE}={raw!r} must be none or iam")
    return raw
