"""The ``webhook`` type: POST a JSON body to a URL, with retries, backoff and the DLQ behind it.

Each attempt POSTs ``body`` with ``Idempotency-Key: <taskId>``, the Standard Webhooks signature
headers and the caller's headers, and follows no redirect. A connection failure, a timeout, 408,
429 or 5xx is ``TaskFailedError`` (retried); 3xx, any other 4xx or a destination the SSRF policy
now refuses is ``PermanentTaskError``; a 2xx stores status, latency and the first 1 KiB of the
body. The README's "Task types" section is the contract.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import urllib3
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from functions.common import json_text
from functions.common.errors import (
    DependencyUnavailableError,
    PermanentTaskError,
    TaskFailedError,
    invalid_task_payload,
)
from functions.common.signing import SIGNATURE_HEADERS
from functions.task_types.destinations import (
    MAX_URL_LENGTH,
    Destination,
    DestinationRefusedError,
    DestinationUnresolvedError,
)
from functions.task_types.registry import Attempt, TaskEnvironment, TaskType

DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_TIMEOUT_SECONDS = 20.0
"""Below the process function's timeout (the spec checks it), with time to record the result."""
MAX_RESPONSE_BYTES = 1024
MAX_HEADERS = 32
REDACTED = "[redacted]"
"""What the API shows in place of each header value a webhook task was given."""
USER_AGENT = "process-task-manager-webhook/1"
REFUSED_HEADERS = frozenset(
    {
        # Hop-by-hop (RFC 9110 §7.6.1) and the ones the connection itself sets.
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        # Set by the delivery: the body is JSON, the key is the task id, the signature is ours.
        "content-type",
        "idempotency-key",
        *SIGNATURE_HEADERS,
    }
)
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
RETRYABLE_STATUSES = frozenset({408, 429})
_SAFETY_SECONDS = 2.0
"""Kept back from the function's remaining time, to record the outcome."""


def _json_number(value: Any) -> Any:
    """A JSON number, as given: not a string of digits, not a boolean (pydantic would take both)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a JSON number")
    return value


def _sendable(char: str) -> bool:
    """A character a header value may hold (RFC 9110 field-vchar, obs-text, SP, HTAB): what
    http.client sends, as Latin-1, without refusing it at every attempt."""
    code = ord(char)
    return char == "\t" or (0x20 <= code <= 0xFF and code != 0x7F)


class WebhookPayload(BaseModel):
    # Only the documented names: an alias (timeout_seconds) is an unknown field, refused.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    type: Literal["webhook"]
    url: str = Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="https URL of the receiver; private, loopback, link-local and other non-public "
        "addresses are refused unless the host is in WEBHOOK_ALLOWED_HOSTS",
    )
    body: Any = Field(
        default=None,
        description="Any JSON value, POSTed as the request body exactly as given (numbers with every digit)",
        json_schema_extra={"type": ["object", "array", "string", "number", "integer", "boolean", "null"]},
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        max_length=MAX_HEADERS,
        description="Extra request headers, sent as given; the API shows their names only (each value "
        "reads [redacted]). Hop-by-hop headers, Host, Content-Type, Content-Length, Idempotency-Key "
        "and the webhook-* signature headers are refused",
    )
    timeout_seconds: Annotated[float, BeforeValidator(_json_number)] = Field(
        default=DEFAULT_TIMEOUT_SECONDS,
        gt=0,
        le=MAX_TIMEOUT_SECONDS,
        alias="timeoutSeconds",
        description="Per attempt: connect plus response; a timeout is retried",
    )

    @field_validator("headers")
    @classmethod
    def _headers(cls, headers: dict[str, str]) -> dict[str, str]:
        lowered = [name.lower() for name in headers]
        twice = sorted({name for name in lowered if lowered.count(name) > 1})
        if twice:
            raise ValueError(f"{twice[0]} is given twice (header names are case-insensitive)")
        for name, value in headers.items():
            if not name or not set(name) <= _TOKEN:
                raise ValueError(f"{name!r} is not a valid header name")
            if name.lower() in REFUSED_HEADERS:
                raise ValueError(f"the {name} header is refused (set by the delivery or hop-by-hop)")
            if any(not _sendable(ch) for ch in value):
                raise ValueError(
                    f"the value of {name} contains a control character (a line break, NUL, ...) or one "
                    "outside Latin-1: HTTP/1.1 cannot send it"
                )
            if len(value) > 4096:
                raise ValueError(f"the value of {name} is longer than 4096 characters")
        return headers


class Webhook(TaskType[WebhookPayload]):
    name = "webhook"
    description = (
        "Deliver a JSON body to an https URL with Idempotency-Key: <taskId>; connection errors, "
        "timeouts, 408, 429 and 5xx are retried with backoff, other answers end the task"
    )
    payload = WebhookPayload

    def disabled(self, environment: TaskEnvironment) -> str | None:
        if environment.webhooks_enabled:
            return None
        return "deploy with --context webhooks=on; WEBHOOKS_ENABLED=true"

    def redacted(self, body: dict[str, Any]) -> dict[str, Any]:
        """Header values are credentials as often as not (``Authorization``): only their names show."""
        headers = body.get("headers")
        if not isinstance(headers, dict):
            return body
        return {**body, "headers": dict.fromkeys(headers, REDACTED)}

    def limit_host(self, payload: WebhookPayload) -> str | None:
        """The URL's host as URLs compare it (lower case; an IPv6 address without brackets)."""
        return urlsplit(payload.url).hostname

    def admit(self, payload: WebhookPayload, environment: TaskEnvironment) -> None:
        try:
            environment.destinations.check(payload.url)
        except (DestinationRefusedError, DestinationUnresolvedError) as exc:
            raise invalid_task_payload(self.name, {"url": str(exc)}) from exc

    def run(self, payload: WebhookPayload, attempt: Attempt) -> dict[str, Any]:
        try:
            destination = attempt.environment.destinations.check(payload.url)
        except DestinationRefusedError as exc:
            raise PermanentTaskError(f"destination refused: {exc}") from exc
        except DestinationUnresolvedError as exc:
            raise TaskFailedError(str(exc)) from exc
        timeout = min(payload.timeout_seconds, attempt.remaining_seconds() - _SAFETY_SECONDS)
        if timeout <= 0:
            raise TaskFailedError("no time left in this invocation to deliver")
        signing = attempt.environment.signing_keys
        if signing is None:
            raise PermanentTaskError(
                "this deployment has no webhook signing secret; nothing is sent unsigned"
            )
        try:
            keys = signing()
        except DependencyUnavailableError as exc:
            raise TaskFailedError(str(exc)) from exc
        body = json_text.dumps(payload.body).encode()
        given = {name.lower() for name in payload.headers}
        headers = {
            **({} if "user-agent" in given else {"User-Agent": USER_AGENT}),
            **payload.headers,
            **keys.headers(attempt.task_id, int(time.time()), body),
            "Content-Type": "application/json",
            "Idempotency-Key": attempt.task_id,
            "Host": _host_header(destination),
        }
        started = time.perf_counter()
        status, text, truncated, header_names = _post(destination, body, headers, timeout)
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        answered = f"the receiver answered {status}"
        if status in RETRYABLE_STATUSES or status >= 500:
            raise TaskFailedError(f"{answered}; retrying")
        if 300 <= status < 400:
            raise PermanentTaskError(f"{answered} (a redirect, not followed)")
        if not 200 <= status < 300:
            raise PermanentTaskError(answered)
        if destination.allowed_by_name:
            # A host on the allow-list may be an internal service: its answers to requests the
            # caller crafted are not the caller's to read (docs/SECURITY.md, I3).
            return {"statusCode": status, "latencyMs": latency_ms, "responseHeaderNames": header_names}
        return {
            "statusCode": status,
            "latencyMs": latency_ms,
            "responseBody": text,
            "responseTruncated": truncated,
        }


def _host_header(destination: Destination) -> str:
    host = f"[{destination.host}]" if ":" in destination.host else destination.host
    default = 443 if destination.scheme == "https" else 80
    return host if destination.port == default else f"{host}:{destination.port}"


def _post(
    destination: Destination, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[int, str, bool, list[str]]:
    """POST to the approved addresses in turn (never re-resolving the name): (status, the
    response's first bytes as text, whether it was longer, the response's header names). Raises
    ``TaskFailedError`` if no address answers."""
    failures: list[str] = []
    deadline = time.monotonic() + timeout
    for address in destination.addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        pool = _pool(destination, address, left)
        try:
            response = pool.urlopen(
                "POST",
                destination.target,
                body=body,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
            try:
                content = response.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
            finally:
                response.release_conn()
        except urllib3.exceptions.HTTPError as exc:
            failures.append(f"{address}: {type(exc).__name__}")
            continue
        finally:
            pool.close()
        text = content[:MAX_RESPONSE_BYTES].decode("utf-8", errors="replace")
        names = sorted({name.lower() for name in response.headers})
        return response.status, text, len(content) > MAX_RESPONSE_BYTES, names
    raise TaskFailedError(f"could not deliver to {destination.host}: {'; '.join(failures) or 'timed out'}")


def _pool(destination: Destination, address: str, timeout: float) -> urllib3.HTTPConnectionPool:
    """A connection to ``address``, with TLS verified against the URL's host name."""
    limits = urllib3.Timeout(connect=min(timeout, 5.0), read=timeout)
    if destination.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            destination.port,
            timeout=limits,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            server_hostname=destination.host,
            assert_hostname=destination.host,
        )
    return urllib3.HTTPConnectionPool(address, destination.port, timeout=limits, retries=False, maxsize=1)
