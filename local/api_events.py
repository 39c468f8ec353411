"""API Gateway HTTP API (payload format 2.0) events, as the local HTTP front and tests send them."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode


def http_api_event(
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """A ``$default``-stage event. Header names are lower-cased, as API Gateway delivers them;
    a body that is not valid UTF-8 is base64-encoded, as API Gateway does for binary bodies."""
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    encoded_body: str | None = None
    is_base64 = False
    if body is not None:
        try:
            encoded_body = body.decode("utf-8")
        except UnicodeDecodeError:
            encoded_body, is_base64 = base64.b64encode(body).decode("ascii"), True
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": lowered,
        "queryStringParameters": dict(query) if query else None,
        "requestContext": {
            "accountId": "local",
            "apiId": "local",
            "domainName": lowered.get("host", "localhost"),
            "domainPrefix": "local",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": encoded_body,
        "isBase64Encoded": is_base64,
    }
