"""The HTTP transport for the tasks API (standard library; boto3 only to sign requests): one call,
its status and its JSON body. ``ptm_client.TasksClient`` builds on it; ``ptm`` and the smoke
script use both."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

API_AUTH_VARIABLE = "TASKS_API_AUTH"
"""How to authorize: ``auto`` (unset), ``iam`` (SigV4), ``jwt`` (a bearer token) or ``none``."""
API_TOKEN_VARIABLE = "TASKS_API_TOKEN"
"""The bearer token for a stack deployed with ``apiAuth=jwt``."""
AUTH_MODES = ("auto", "iam", "jwt", "none")


def authorization_advice(status: int) -> str:
    """What to give when the API refuses a request's authorization (its 401 or 403)."""
    return (
        f"the API refused the request's authorization ({status}): give AWS credentials "
        f"(apiAuth=iam, the default) or {API_TOKEN_VARIABLE} (apiAuth=jwt)"
    )


_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$")


class EndpointUnreachableError(ConnectionError):
    pass


class SigningError(RuntimeError):
    pass


class SigV4Signer:
    """Signs requests for an HTTP API behind IAM authorization (service ``execute-api``) with the
    credentials boto3 finds (``AWS_PROFILE``, environment, SSO, instance role)."""

    def __init__(self, endpoint: str, region: str | None = None, profile: str | None = None) -> None:
        import boto3  # noqa: PLC0415 - only signed calls pay for the SDK
        from botocore.auth import SigV4Auth  # noqa: PLC0415

        host = urlsplit(endpoint).hostname or ""
        match = _EXECUTE_API_HOST.match(host)
        session = boto3.session.Session(profile_name=profile)
        self.region = region or (match.group(1) if match else None) or session.region_name
        if not self.region:
            raise SigningError(f"no AWS region for signing: set AWS_REGION (endpoint {endpoint})")
        credentials = session.get_credentials()
        if credentials is None:
            raise SigningError(
                "no AWS credentials to sign requests with (AWS_PROFILE or the usual variables)"
            )
        self._auth = SigV4Auth(credentials, "execute-api", self.region)

    def headers(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> dict[str, str]:
        from botocore.awsrequest import AWSRequest  # noqa: PLC0415

        request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        self._auth.add_auth(request)
        return dict(request.headers.items())


def api_base(endpoint: str) -> str:
    """The API's base URL from either form users give: the stack's ``TasksEndpoint`` output
    (``https://<id>.execute-api.<region>.amazonaws.com/``) or the Node.js version's
    ``TASKS_ENDPOINT``, which already ends in ``/tasks``."""
    base = endpoint.rstrip("/")
    return base.removesuffix("/tasks") if base.endswith("/tasks") else base


class TasksApi:
    def __init__(
        self,
        endpoint: str,
        timeout: float = 10.0,
        signer: SigV4Signer | None = None,
        token: str | None = None,
    ) -> None:
        self.endpoint = api_base(endpoint)
        self.timeout = timeout
        self.signer = signer
        self.token = token

    def _call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        url = self.endpoint + path
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if self.token is not None:
            all_headers["Authorization"] = f"Bearer {self.token}"
        if self.signer is not None:
            all_headers = self.signer.headers(method, url, data, all_headers)
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
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

    def task_types(self) -> tuple[int, Any]:
        return self._call("GET", "/task-types")

    def put_schedule(self, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        return self._call("PUT", f"/schedules/{quote(name, safe='')}", body)

    def get_schedule(self, name: str) -> tuple[int, Any]:
        return self._call("GET", f"/schedules/{quote(name, safe='')}")

    def list_schedules(self, limit: int | None = None, next_token: str | None = None) -> tuple[int, Any]:
        query = {
            **({"limit": str(limit)} if limit else {}),
            **({"nextToken": next_token} if next_token else {}),
        }
        return self._call("GET", "/schedules" + (f"?{urlencode(query)}" if query else ""))

    def pause_schedule(self, name: str) -> tuple[int, Any]:
        return self._call("POST", f"/schedules/{quote(name, safe='')}/pause")

    def resume_schedule(self, name: str) -> tuple[int, Any]:
        return self._call("POST", f"/schedules/{quote(name, safe='')}/resume")

    def delete_schedule(self, name: str) -> tuple[int, Any]:
        return self._call("DELETE", f"/schedules/{quote(name, safe='')}")

    def put_limit(self, key: str, body: dict[str, Any]) -> tuple[int, Any]:
        return self._call("PUT", f"/limits/{quote(key, safe='')}", body)

    def get_limit(self, key: str) -> tuple[int, Any]:
        return self._call("GET", f"/limits/{quote(key, safe='')}")

    def list_limits(self) -> tuple[int, Any]:
        return self._call("GET", "/limits")

    def delete_limit(self, key: str) -> tuple[int, Any]:
        return self._call("DELETE", f"/limits/{quote(key, safe='')}")

    def schedule_tasks(
        self, name: str, limit: int | None = None, next_token: str | None = None
    ) -> tuple[int, Any]:
        query = {
            "schedule": name,
            **({"limit": str(limit)} if limit else {}),
            **({"nextToken": next_token} if next_token else {}),
        }
        return self._call("GET", f"/tasks?{urlencode(query)}")


def is_api_gateway(endpoint: str) -> bool:
    return _EXECUTE_API_HOST.match(urlsplit(api_base(endpoint)).hostname or "") is not None


def _signed_if_possible(endpoint: str, region: str | None, profile: str | None) -> TasksApi:
    """SigV4 when credentials are found (one lookup, the signer's own); otherwise unsigned, and
    the API's 403 says what is missing."""
    import botocore.exceptions  # noqa: PLC0415 - only API Gateway endpoints pay for the SDK

    try:
        return TasksApi(endpoint, signer=SigV4Signer(endpoint, region, profile))
    except (SigningError, botocore.exceptions.BotoCoreError):
        return TasksApi(endpoint)


def tasks_api(
    endpoint: str,
    auth: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    token: str | None = None,
) -> TasksApi:
    """The client for ``endpoint`` and the stack's ``apiAuth``. ``auto`` (the default): a bearer
    token when one is given, else SigV4 for an API Gateway endpoint when AWS credentials are
    found (a default deployment's ``iam``), else unsigned (the local stack)."""
    mode = (auth or "auto").lower()
    if mode not in AUTH_MODES:
        raise SigningError(f"{API_AUTH_VARIABLE}={auth!r}: expected one of {', '.join(AUTH_MODES)}")
    if mode == "auto" and token:
        mode = "jwt"
    if mode == "auto":
        return (
            _signed_if_possible(endpoint, region, profile) if is_api_gateway(endpoint) else TasksApi(endpoint)
        )
    if mode == "iam":
        return TasksApi(endpoint, signer=SigV4Signer(endpoint, region, profile))
    if mode == "jwt":
        if not token:
            raise SigningError(f"{API_AUTH_VARIABLE}=jwt needs a token: set {API_TOKEN_VARIABLE}")
        return TasksApi(endpoint, token=token)
    return TasksApi(endpoint)
