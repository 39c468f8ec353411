"""``ptm``'s client: the library's own (client/ptm_client), re-exported under the names the CLI,
the smoke script and the benchmarks import."""

from __future__ import annotations

from ptm_client.transport import (
    API_AUTH_VARIABLE,
    API_TOKEN_VARIABLE,
    AUTH_MODES,
    EndpointUnreachableError,
    SigningError,
    SigV4Signer,
    TasksApi,
    api_base,
    authorization_advice,
    is_api_gateway,
    tasks_api,
)

__all__ = [
    "API_AUTH_VARIABLE",
    "API_TOKEN_VARIABLE",
    "AUTH_MODES",
    "EndpointUnreachableError",
    "SigV4Signer",
    "SigningError",
    "TasksApi",
    "api_base",
    "authorization_advice",
    "is_api_gateway",
    "tasks_api",
]
