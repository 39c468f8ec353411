"""A local stand-in for API Gateway's HTTP API: every request to a route of the contract becomes
a payload-v2 event for the api function, handed to the local Lambda runtime directly (as API
Gateway invokes its integration, not through the public Invoke API); any other route is API
Gateway's own 404."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from infra.spec import api_routes
from local.api_events import http_api_event
from local.authorizers import TOKEN_PATH, Authorizer, JwtAuthorizer

MAX_REQUEST_BYTES = 10 * 1024 * 1024
"""API Gateway HTTP APIs refuse larger payloads with 413 before any integration runs."""


def _route_pattern(template: str) -> re.Pattern[str]:
    """``/tasks/{taskId}`` → a regex where a ``{parameter}`` is one path segment."""
    return re.compile(
        "/".join("[^/]+" if part.startswith("{") else re.escape(part) for part in template.split("/"))
    )


_ROUTES: dict[str, list[re.Pattern[str]]] = {}
for _path, _methods in api_routes().items():
    for _method in _methods:
        _ROUTES.setdefault(_method, []).append(_route_pattern(_path))

Invoke = Callable[[dict[str, Any]], tuple[dict[str, Any] | None, str | None]]
"""Invoke the integration: (response, None) or (None, error type)."""


def decoded_path(raw: str) -> str:
    """The path as API Gateway's HTTP APIs deliver it to an integration: percent-decoded
    (``/limits/key%3Aacme`` arrives as ``/limits/key:acme``), an encoded slash aside, which
    stays one segment's text instead of splitting the path."""
    return unquote(re.sub("%2[Ff]", "%252F", raw), errors="replace")


def _gateway_error(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    """API Gateway's own error shape, for failures before or instead of the integration."""
    return status, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode()


class _Handler(BaseHTTPRequestHandler):
    server: LocalHttpApi
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self._reply(*_gateway_error(413, "Request Entity Too Large"), close=True)
            return
        body = self.rfile.read(length) if length else None
        url = urlsplit(self.path)
        if self.server.view is not None and (url.path == "/ui" or url.path.startswith("/ui/")):
            self._reply(*self.server.view(url.path, url.query))
            return
        authorizer = self.server.authorizer
        if isinstance(authorizer, JwtAuthorizer) and url.path == TOKEN_PATH and self.command == "POST":
            self._reply(*authorizer.token_endpoint(body or b"", self.headers.get("Content-Type") or ""))
            return
        path = decoded_path(url.path)
        if not any(pattern.fullmatch(path) for pattern in _ROUTES.get(self.command, ())):
            self._reply(*_gateway_error(404, "Not Found"))
            return
        if authorizer is not None:
            bound_host, bound_port = self.server.server_address[:2]
            host = self.headers.get("Host") or f"{bound_host!s}:{bound_port}"
            refused = authorizer.authorize(
                self.command, f"http://{host}{self.path}", dict(self.headers.items()), body or b""
            )
            if refused is not None:
                self._reply(*refused)
                return
        event = http_api_event(
            self.command,
            path,
            body=body,
            headers={name: value for name, value in self.headers.items()},
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            source_ip=self.client_address[0],
        )
        response, error = self.server.invoke(event)
        if response is None:
            self.server.on_error(f"integration failed ({error}) for {self.command} {url.path}")
            self._reply(*_gateway_error(500, "Internal Server Error"))
            return
        payload = response.get("body") or ""
        raw = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
        headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(values)
        self._reply(int(response.get("statusCode", 200)), headers, raw)

    def _reply(self, status: int, headers: dict[str, str], body: bytes, close: bool = False) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in {"content-length", "connection"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors the HTTP layer raises itself (a header line too long, a malformed request line)
        answer as API Gateway does: a JSON ``{"message"}``, never an HTML page."""
        self.close_connection = True
        self._reply(*_gateway_error(code, message or "Bad Request"), close=True)

    def __getattr__(self, name: str) -> Any:
        """Every method reaches routing (API Gateway answers unknown methods with its 404)."""
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Access logs stay quiet; the local stack logs task state changes instead."""


class LocalHttpApi(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    """socketserver's default backlog (5) resets connections under a burst of clients."""

    def __init__(
        self,
        host: str,
        port: int,
        invoke: Invoke,
        on_error: Callable[[str], None],
        view: Callable[[str, str], tuple[int, dict[str, str], bytes]] | None = None,
        *,
        authorizer: Authorizer | None = None,
    ) -> None:
        """``view`` serves ``/ui`` (the local execution view); everything else goes to the API,
        through ``authorizer`` (API Gateway's route authorization) when there is one."""
        super().__init__((host, port), _Handler)
        self.authorizer = authorizer
        self.invoke = invoke
        self.on_error = on_error
        self.view = view
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="http-api", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
