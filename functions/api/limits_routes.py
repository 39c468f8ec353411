"""The flow-control routes (``/limits``): limits set, read and deleted at runtime, with the API's
authentication (functions/usecases/limits.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from functions.api.contract import LIMIT, LIMIT_PAGE, LIMIT_PUT, errors
from functions.common.clock import utc_now
from functions.common.flow_control import MAX_CONCURRENCY, MAX_PER_SECOND, MIN_PER_SECOND
from functions.common.limits_table import LimitsTable
from functions.common.observability import logger
from functions.usecases.limits import delete_limit, get_limit, list_limits, put_limit

_KEY = (
    "The key: type:<task type>, host:<webhook host, lower case>, key:<concurrencyKey> or key:* "
    "(every caller key, each on its own)."
)


def register(
    app: APIGatewayHttpResolver, table: Callable[[], LimitsTable], body: Callable[[], bytes]
) -> None:
    """The routes on ``app``, reading the handler's table and request body (each resolver its
    own routes: a fresh handler module, as each test's stack imports, gets fresh ones)."""

    @app.put(
        "/limits/<key>",
        summary="Set a flow-control limit",
        description=f"{_KEY} Body: maxConcurrency (1-{MAX_CONCURRENCY} tasks in flight at once), "
        f"maxPerSecond (execution starts per second, {MIN_PER_SECOND:g}-{MAX_PER_SECOND:g}) with burst "
        "(the token bucket's size, default one "
        "second's worth), one or both. Every dispatcher applies it within LIMITS_CACHE_SECONDS.",
        responses={**LIMIT_PUT, **errors(400, 404, 503)},
        tags=["limits"],
        operation_id="putLimit",
    )
    def put(key: str) -> Response[Any]:
        view, created = put_limit(key, body(), table=table(), now=utc_now())
        logger.info("limit set", extra={"limit": view})
        return Response(
            status_code=201 if created else 200,
            content_type="application/json",
            body=view,
            headers={"Location": f"/limits/{key}"},
        )

    @app.get(
        "/limits",
        summary="List the flow-control limits",
        description="Each limit, by key, with its tasks in flight (a key:* limit counts per key: GET "
        "/limits/key:<k>).",
        responses={**LIMIT_PAGE, **errors(503)},
        tags=["limits"],
        operation_id="listLimits",
    )
    def limits() -> dict[str, Any]:
        return {"items": list_limits(table=table(), now=utc_now())}

    @app.get(
        "/limits/<key>",
        summary="Get the limit that governs a key, with its tasks in flight",
        description=f"{_KEY} A caller key without a limit of its own shows key:*'s (governedBy).",
        responses={**LIMIT, **errors(400, 404, 503)},
        tags=["limits"],
        operation_id="getLimit",
    )
    def limit(key: str) -> dict[str, Any]:
        return get_limit(key, table=table(), now=utc_now())

    @app.delete(
        "/limits/<key>",
        summary="Delete a flow-control limit (its tasks run unlimited from then on)",
        responses={204: {"description": "Deleted"}, **errors(400, 404, 503)},
        tags=["limits"],
        operation_id="deleteLimit",
    )
    def remove(key: str) -> Response[Any]:
        delete_limit(key, table=table(), now=utc_now())
        logger.info("limit deleted", extra={"limit": key})
        return Response(status_code=204, body=None)  # no content, so no Content-Type
