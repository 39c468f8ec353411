"""boto3 clients suited to Lambda, and the one translation of AWS errors.

Every module that calls AWS maps a failure through ``aws_errors``:

- throttling, 5xx and connection failures that outlived the SDK's own retries are transient:
  ``DependencyUnavailableError`` (the state machine retries it; the API answers 503 with
  Retry-After; a consumer lets the message come back);
- everything else (access denied, a missing table or queue, a validation error, no credentials)
  is a mistake no retry fixes: ``DependencyMisconfiguredError``, which every handler reports
  loudly (a 500 or a failed invocation, an error log and the ``DependencyMisconfigured`` metric,
  which alarms).

Inside ``answer_by(seconds)`` no request attempt starts that its connect and read timeouts could
carry past the deadline: the call fails at once as ``CallDeadlineError``, which is transient. The
API wraps each request in it, so a route that makes many calls (a listing under a crowd) still
answers, 503 at worst, before the function's timeout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from functions.common.config import SdkBudget
from functions.common.errors import DependencyMisconfiguredError, DependencyUnavailableError

T = TypeVar("T")

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "Throttling",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
    }
)
SERVER_ERROR_CODES = frozenset(
    {"InternalServerError", "InternalFailure", "InternalError", "ServiceUnavailable", "ServiceException"}
)
"""5xx codes; any response with an HTTP status of 500 or more counts too."""


class CallDeadlineError(BotoCoreError):
    """An attempt that could not finish before the caller's deadline was not started."""

    fmt = "no time left for an attempt of {seconds:.1f}s before the deadline"


CONNECTION_ERRORS: tuple[type[Exception], ...] = (ConnectionError, HTTPClientError, CallDeadlineError)
"""Could not connect, the connection broke or timed out (ReadTimeoutError included), or no time
was left to try."""


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


BACKFILLING_INDEX = "Cannot read from backfilling global secondary index"
"""DynamoDB's ValidationException for a query on an index it is still building: an index added
to a deployed table is readable only once ACTIVE, and a CloudFormation update does not wait for
its backfill (the AWS::DynamoDB::Table resource's GlobalSecondaryIndexes), so the functions
updated beside it can query it early. Transient: it ends when the backfill does."""


def is_transient(exc: Exception) -> bool:
    """True for throttling, server-side and connection errors, and an index still being built:
    worth another try later."""
    if isinstance(exc, ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        code = error_code(exc)
        backfilling = code == "ValidationException" and BACKFILLING_INDEX in str(
            exc.response.get("Error", {}).get("Message", "")
        )
        return code in THROTTLING_CODES or code in SERVER_ERROR_CODES or status >= 500 or backfilling
    return isinstance(exc, CONNECTION_ERRORS)


def translate(exc: ClientError | BotoCoreError, what: str) -> Exception:
    """The domain error for an AWS failure that the caller did not handle itself."""
    if is_transient(exc):
        return DependencyUnavailableError(f"{what}: {exc}")
    return DependencyMisconfiguredError(f"{what}: {exc}")


def unless_refused(write: Callable[[], T]) -> T | None:
    """A conditional write's answer, or None when its condition refused it
    (``ConditionalCheckFailedException``); any other failure is raised as it came (inside
    ``aws_errors``, as the domain's error)."""
    try:
        return write()
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise
        return None


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Raise AWS failures inside the block as the domain errors above."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, what) from exc


_deadline: ContextVar[float | None] = ContextVar("aws_call_deadline", default=None)


@contextmanager
def answer_by(seconds: float) -> Iterator[None]:
    """Within the block, AWS calls start no attempt that could end more than ``seconds`` from now."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _refuse_late_attempt(attempt_seconds: float, **_: Any) -> None:
    """botocore's ``before-send``: runs before every attempt, retries included (an exception
    here that is no connection error is not retried)."""
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() + attempt_seconds > deadline:
        raise CallDeadlineError(seconds=attempt_seconds)


_sessions = threading.local()


def _client(service: str, budget: SdkBudget) -> Any:
    """One boto3 Session per thread: a handler's clients share its loaded models (the second
    client costs a fraction of the first), and sessions, not thread-safe, are never shared."""
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = boto3.session.Session()
    client = session.client(service, config=budget.config)  # type: ignore[call-overload]
    client.meta.events.register("before-send", partial(_refuse_late_attempt, budget.attempt_seconds))
    return client


def dynamodb_client(budget: SdkBudget) -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb", budget)
    return client


def lambda_client(budget: SdkBudget) -> LambdaClient:
    client: LambdaClient = _client("lambda", budget)
    return client


def sqs_client(budget: SdkBudget) -> SQSClient:
    client: SQSClient = _client("sqs", budget)
    return client


def secretsmanager_client(budget: SdkBudget) -> SecretsManagerClient:
    client: SecretsManagerClient = _client("secretsmanager", budget)
    return client


def sfn_client(budget: SdkBudget) -> SFNClient:
    client: SFNClient = _client("stepfunctions", budget)
    return client


def scheduler_client(budget: SdkBudget) -> EventBridgeSchedulerClient:
    client: EventBridgeSchedulerClient = _client("scheduler", budget)
    return client
