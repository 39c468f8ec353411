"""Webhook delivery against a real HTTP receiver on 127.0.0.1 (allowed by name, as
``WEBHOOK_ALLOWED_HOSTS=127.0.0.1`` allows it): each answer class mapped to the error the state
machine retries or catches. The whole pipeline is exercised through the local stack in
tests/e2e/test_webhooks.py."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import standardwebhooks

from functions.common import json_text
from functions.common.config import INIT_READ_SECONDS, Env, SdkBudget
from functions.common.errors import PermanentTaskError, TaskFailedError
from functions.common.signing import SigningKeys, SigningSecretError
from functions.task_types.destinations import DestinationPolicy, DestinationRefusedError
from functions.task_types.registry import Attempt, TaskEnvironment
from functions.task_types.webhook import MAX_RESPONSE_BYTES, USER_AGENT, Webhook, WebhookPayload
from local.options import generate_secret
from tests.fixtures.hung import black_hole
from tests.fixtures.receiver import PublicHostStandIn, Receiver, running_receiver

SECRET = generate_secret()
ALLOWED = TaskEnvironment(
    destinations=DestinationPolicy(["127.0.0.1"]), signing_keys=lambda: SigningKeys.parse(SECRET)
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def _deliver(url: str, environment: TaskEnvironment = ALLOWED, **fields: object) -> dict[str, object]:
    payload = WebhookPayload.model_validate({"type": "webhook", "url": url, "body": {"order": 7}, **fields})
    return Webhook().run(payload, Attempt("task-42", 1, environment))


PUBLIC = TaskEnvironment(destinations=PublicHostStandIn(), signing_keys=lambda: SigningKeys.parse(SECRET))
"""The receiver standing in for a public host (reached by its address, not the allow-list)."""


def test_a_2xx_is_delivered_with_the_body_the_idempotency_key_and_the_headers(receiver: Receiver) -> None:
    url = receiver.answer("/hook", (201, b'{"id": "r-1"}', {}, 0.0))

    result = _deliver(url, PUBLIC, headers={"Authorization": "Bearer abc", "X-Trace": "t"})

    assert result["statusCode"] == 201
    assert result["responseBody"] == '{"id": "r-1"}'
    assert result["responseTruncated"] is False
    assert isinstance(result["latencyMs"], float)
    (request,) = receiver.to("/hook")
    assert request.method == "POST"
    assert request.json() == {"order": 7}
    assert request.headers["Idempotency-Key"] == "task-42"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == "Bearer abc"
    assert request.headers["Host"] == f"127.0.0.1:{receiver.port}"


def test_a_long_response_is_truncated_on_the_record(receiver: Receiver) -> None:
    url = receiver.answer("/big", (200, b"x" * 5000, {}, 0.0))
    result = _deliver(url, PUBLIC)
    assert result["responseBody"] == "x" * MAX_RESPONSE_BYTES
    assert result["responseTruncated"] is True


def test_an_answer_from_a_host_on_the_allow_list_is_never_kept(receiver: Receiver) -> None:
    """The allow-list may name an internal service: what it answers to a request the caller
    crafted (path, body, headers) is not the caller's to read. Its status and header names are."""
    url = receiver.answer("/internal", (200, b'{"secret": "s3cr3t"}', {"X-Internal": "1"}, 0.0))

    result = _deliver(url, ALLOWED)

    assert result["statusCode"] == 200
    assert "s3cr3t" not in str(result)
    assert set(result) == {"statusCode", "latencyMs", "responseHeaderNames"}
    names = result["responseHeaderNames"]
    assert isinstance(names, list)
    assert {"content-type", "x-internal"} <= set(names)


def test_a_callers_user_agent_replaces_ours_in_any_case(receiver: Receiver) -> None:
    url = receiver.answer("/ua", 200)

    _deliver(url, headers={"user-agent": "theirs/2"})
    _deliver(url)

    given, ours = receiver.to("/ua")
    assert given.lines_named("User-Agent") == ["theirs/2"]
    assert ours.lines_named("User-Agent") == [USER_AGENT]


def test_numbers_reach_the_receiver_with_every_digit(receiver: Receiver) -> None:
    url = receiver.answer("/numbers", 200)
    sent = b'{"a": 1E2, "b": 0.1234567890123456789012, "c": 1e-400, "d": -0.0, "e": 10000000000000000000001}'
    body = json_text.parse(sent)

    _deliver(url, body=body)

    (request,) = receiver.to("/numbers")
    assert request.json(exact=True) == json.loads(sent, parse_float=Decimal)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 408])
def test_5xx_429_and_408_are_retryable(receiver: Receiver, status: int) -> None:
    url = receiver.answer("/busy", status)
    with pytest.raises(TaskFailedError, match=str(status)):
        _deliver(url)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_other_4xx_are_permanent(receiver: Receiver, status: int) -> None:
    url = receiver.answer("/refuses", status)
    with pytest.raises(PermanentTaskError, match=str(status)):
        _deliver(url)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed(receiver: Receiver, status: int) -> None:
    landing = receiver.answer("/landing", 200)
    url = receiver.answer("/moved", (status, b"", {"Location": landing}, 0.0))

    with pytest.raises(PermanentTaskError, match="redirect, not followed"):
        _deliver(url)
    assert receiver.to("/landing") == []


def test_a_redirect_towards_a_refused_address_is_never_followed(receiver: Receiver) -> None:
    url = receiver.answer("/to-metadata", (302, b"", {"Location": "http://169.254.169.254/latest/"}, 0.0))
    with pytest.raises(PermanentTaskError, match="redirect"):
        _deliver(url)


def test_a_timeout_is_retryable_and_bounded_by_the_payloads_timeout(receiver: Receiver) -> None:
    url = receiver.answer("/slow", (200, b"{}", {}, 3.0))
    started = time.monotonic()
    with pytest.raises(TaskFailedError, match="ReadTimeoutError"):
        _deliver(url, timeoutSeconds=0.5)
    assert time.monotonic() - started < 2.5


def test_the_timeout_never_outlives_the_invocation(receiver: Receiver) -> None:
    url = receiver.answer("/slow", (200, b"{}", {}, 3.0))
    payload = WebhookPayload.model_validate({"type": "webhook", "url": url, "timeoutSeconds": 20})
    started = time.monotonic()
    with pytest.raises(TaskFailedError):
        Webhook().run(payload, Attempt("t", 1, ALLOWED, remaining_seconds=lambda: 2.6))
    assert time.monotonic() - started < 2.0


def test_a_connection_refused_is_retryable(receiver: Receiver) -> None:
    url = receiver.answer("/x", 200).replace(str(receiver.port), "1")
    with pytest.raises(TaskFailedError, match="could not deliver"):
        _deliver(url)


def test_the_receiver_is_refused_unless_its_host_is_allowed(receiver: Receiver) -> None:
    url = receiver.answer("/hook", 200)
    with pytest.raises(PermanentTaskError, match="destination refused"):
        _deliver(url, environment=TaskEnvironment())
    assert receiver.requests == []


@pytest.mark.parametrize("name", ["localhost", "LOCALHOST."])
def test_names_this_machine_resolves_to_loopback_are_refused_and_not_contacted(
    receiver: Receiver, name: str
) -> None:
    """The system resolver, as on Lambda: ``localhost`` resolves from /etc/hosts."""
    url = receiver.answer("/hook", 200).replace("http://127.0.0.1", f"https://{name}")
    with pytest.raises(DestinationRefusedError, match="loopback"):
        DestinationPolicy().check(url)
    # Allowing 127.0.0.1 by name allows that host, not every name that resolves to it.
    with pytest.raises(PermanentTaskError, match="loopback"):
        _deliver(url, environment=ALLOWED)
    assert receiver.requests == []


def test_every_delivery_is_signed_as_an_independent_standard_webhooks_verifier_expects(
    receiver: Receiver,
) -> None:
    url = receiver.answer("/signed", 500, 200)
    with pytest.raises(TaskFailedError):
        _deliver(url)
    _deliver(url)

    first, second = receiver.to("/signed")
    verifier = standardwebhooks.Webhook(SECRET)
    for request in (first, second):
        assert verifier.verify(request.body, request.headers) == {"order": 7}
        assert request.headers["webhook-id"] == "task-42", "the task id, the same on every attempt"
        assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    tampered = first.body.replace(b"7", b"8")
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        verifier.verify(tampered, first.headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(generate_secret()).verify(first.body, first.headers)


def test_a_delivery_older_than_five_minutes_is_refused_by_the_verifier() -> None:
    """The verifier's replay window: a signature is only as fresh as its timestamp."""
    body = b'{"order":7}'
    stale = int(time.time()) - 6 * 60
    headers = SigningKeys.parse(SECRET).headers("task-42", stale, body)
    with pytest.raises(standardwebhooks.WebhookVerificationError, match="too old"):
        standardwebhooks.Webhook(SECRET).verify(body, headers)
    fresh = SigningKeys.parse(SECRET).headers("task-42", int(time.time()) - 4 * 60, body)
    assert standardwebhooks.Webhook(SECRET).verify(body, fresh) == {"order": 7}


def test_during_a_rotation_both_secrets_sign_and_either_verifies(receiver: Receiver) -> None:
    new, old = generate_secret(), generate_secret(48)
    rotating = TaskEnvironment(
        destinations=DestinationPolicy(["127.0.0.1"]), signing_keys=lambda: SigningKeys.parse(f"{new} {old}")
    )
    url = receiver.answer("/rotating", 200)
    _deliver(url, environment=rotating)

    (request,) = receiver.to("/rotating")
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        assert standardwebhooks.Webhook(secret).verify(request.body, request.headers) == {"order": 7}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "found 0"),
        ("whsec_a whsec_b whsec_c", "found 3"),
        ("whsec_not*base64", "not base64"),
        ("whsec_" + base64.b64encode(b"k" * 16).decode(), "16 bytes"),
        ("whsec_" + base64.b64encode(b"k" * 65).decode(), "65 bytes"),
    ],
)
def test_a_malformed_secret_is_refused_without_showing_it(value: str, problem: str) -> None:
    with pytest.raises(SigningSecretError, match=problem) as refused:
        SigningKeys.parse(value)
    assert value.removeprefix("whsec_") not in str(refused.value) or not value


def test_a_caller_cannot_set_the_signature_headers() -> None:
    for name in ("webhook-signature", "Webhook-Id", "webhook-timestamp"):
        with pytest.raises(ValueError, match="refused"):
            WebhookPayload.model_validate(
                {"type": "webhook", "url": "https://example.com/", "headers": {name: "v1,forged"}}
            )


def test_the_signing_secret_read_while_the_function_starts_gives_up_within_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Secrets Manager accepting the connection and never answering: INIT goes on after
    INIT_READ_SECONDS (well inside Lambda's 10 s INIT limit; the background budget could wait 55
    s), and the secret is read again at the first delivery."""
    from functions.process.handler import _signing_keys
    from functions.process.settings import ProcessSettings

    settings = ProcessSettings.from_env(
        {
            Env.TASKS_TABLE: "t",
            Env.LIMITS_TABLE: "l",
            Env.FAILURE_RATE: "0",
            Env.LEASE_SECONDS: "120",
            Env.TASK_RETENTION_SECONDS: "60",
            Env.SDK_BUDGET: SdkBudget.BACKGROUND.name,
            Env.WEBHOOKS_ENABLED: "true",
            Env.WEBHOOK_SIGNING_SECRET_ID: "ptm-test-webhook-signing",
        }
    )
    with black_hole() as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint)
        started = time.monotonic()

        keys = _signing_keys(settings)

        elapsed = time.monotonic() - started
    assert keys is not None
    assert elapsed <= INIT_READ_SECONDS + 0.5
