"""The smoke script's settings, from the Node.js version's environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ptm_client.transport import (
    API_AUTH_VARIABLE,
    API_TOKEN_VARIABLE,
    AUTH_MODES,
    TasksApi,
    api_base,
    authorization_advice,
    tasks_api,
)

from infra.names import LOCAL_ENDPOINT


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
    api_auth: str = "auto"
    """``TASKS_API_AUTH``: auto (SigV4 for an API Gateway endpoint with credentials, a bearer
    token when ``TASKS_API_TOKEN`` is set), iam, jwt or none."""
    token: str | None = None

    @property
    def is_local_default(self) -> bool:
        return self.endpoint == LOCAL_ENDPOINT

    def api(self) -> TasksApi:
        """Raises SigningError when ``iam`` is asked for and no credentials are found."""
        return tasks_api(self.endpoint, self.api_auth, self.region, self.profile, token=self.token)


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
    endpoint = api_base(env.get("TASKS_ENDPOINT") or LOCAL_ENDPOINT)
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
        token=env.get(API_TOKEN_VARIABLE) or None,
    )


PROBE_ID = "smoke-reachability-probe"


def check_endpoint(config: SmokeConfig) -> None:
    """The endpoint must answer as this API does: a JSON 404 TASK_NOT_FOUND for an unknown task.
    Raises EndpointUnreachableError, or SmokeConfigError naming what it answered instead."""
    status, body = config.api().get(PROBE_ID)
    code = (
        body.get("error", {}).get("code")
        if isinstance(body, dict) and isinstance(body.get("error"), dict)
        else None
    )
    if status == 404 and code == "TASK_NOT_FOUND":
        return
    if status in {401, 403}:
        raise SmokeConfigError(f"TASKS_ENDPOINT={config.endpoint!r}: {authorization_advice(status)}")
    answer = str(body)[:120]
    raise SmokeConfigError(
        f"TASKS_ENDPOINT={config.endpoint!r} is not the Process Task Manager API (GET /tasks/{PROBE_ID} "
        f"answered {status} {answer}): use the stack's TasksEndpoint output"
    )


def _api_auth(environ: Mapping[str, str]) -> str:
    raw = (environ.get(API_AUTH_VARIABLE) or "auto").lower()
    if raw not in AUTH_MODES:
        raise SmokeConfigError(f"{API_AUTH_VARIABLE}={raw!r} must be one of {', '.join(AUTH_MODES)}")
    return raw
