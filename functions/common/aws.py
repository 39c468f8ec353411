"""boto3 clients with timeouts and retries suited to Lambda, created once per process."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

_CONFIG = Config(
    connect_timeout=2,
    read_timeout=10,
    retries={"mode": "standard", "max_attempts": 4},
)

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "Throttling",
        "TooManyRequestsException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "RequestThrottled",
    }
)
TRANSIENT_EXCEPTIONS: tuple[type[Exception], ...] = (ConnectionError, HTTPClientError)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_transient(exc: Exception) -> bool:
    """True for throttling, server-side and connection errors that outlived the SDK's retries."""
    if isinstance(exc, ClientError):
        return error_code(exc) in THROTTLING_CODES
    return isinstance(exc, TRANSIENT_EXCEPTIONS)


_sessions = threading.local()


def _client(service: str) -> Any:
    """One boto3 Session per thread: a handler's clients share its loaded models (the second
    client costs a fraction of the first), and sessions, not thread-safe, are never shared."""
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = boto3.session.Session()
    return session.client(service, config=_CONFIG)  # type: ignore[call-overload]


def dynamodb_client() -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb")
    return client


def sqs_client() -> SQSClient:
    client: SQSClient = _client("sqs")
    return client


def sfn_client() -> SFNClient:
    client: SFNClient = _client("stepfunctions")
    return client
