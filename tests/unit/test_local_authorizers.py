"""The local stack's emulation of API Gateway's authorizers, checked claim by claim."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from joserfc import jwt
from joserfc.jwk import RSAKey

from local.authorizers import IamAuthorizer, JwtAuthorizer

ISSUER = "http://127.0.0.1:8000/local-idp"
URL = "http://127.0.0.1:8000/tasks"


@pytest.fixture(scope="module")
def authorizer() -> JwtAuthorizer:
    return JwtAuthorizer(ISSUER)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_with_the_scope_passes(authorizer: JwtAuthorizer) -> None:
    assert authorizer.authorize("POST", URL, _bearer(authorizer.issue(["tasks/write"])), b"") is None
    assert authorizer.authorize("GET", URL, _bearer(authorizer.issue(["tasks/read"])), b"") is None


def test_an_expired_token_is_401(authorizer: JwtAuthorizer) -> None:
    refused = authorizer.authorize(
        "GET", URL, _bearer(authorizer.issue(["tasks/read"], lifetime_seconds=-60)), b""
    )
    assert refused is not None
    assert refused[0] == 401


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"iss": "https://elsewhere.example", "aud": "ptm-local"}, "invalid_token"),
        ({"iss": ISSUER, "aud": "another-client"}, "valid audience"),
        ({"iss": ISSUER}, "valid audience"),
    ],
)
def test_a_token_for_another_issuer_or_audience_is_401(
    authorizer: JwtAuthorizer, claims: dict[str, str], why: str
) -> None:
    key = authorizer._key  # the right signing key: only the claims are wrong
    token = jwt.encode({"alg": "RS256"}, {**claims, "scope": "tasks/read", "exp": 4102444800}, key)
    refused = authorizer.authorize("GET", URL, _bearer(token), b"")
    assert refused is not None
    assert refused[0] == 401
    assert why in refused[1]["www-authenticate"]


def test_a_token_signed_with_another_key_is_401(authorizer: JwtAuthorizer) -> None:
    claims = {"iss": ISSUER, "aud": "ptm-local", "scope": "tasks/read", "exp": 4102444800}
    other = jwt.encode({"alg": "RS256"}, claims, RSAKey.generate_key(2048))
    refused = authorizer.authorize("GET", URL, _bearer(other), b"")
    assert refused is not None
    assert refused[0] == 401


def _signed(secret: str, when: dt.datetime, body: bytes = b"{}") -> dict[str, str]:
    request = AWSRequest(method="POST", url=URL, data=body, headers={"Content-Type": "application/json"})
    signer = SigV4Auth(Credentials("local", secret), "execute-api", "us-east-1")
    request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
    request.headers["X-Amz-Date"] = request.context["timestamp"]
    request.headers["Host"] = "127.0.0.1:8000"
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    scope = f"local/{when:%Y%m%d}/us-east-1/execute-api/aws4_request"
    signed = signer.signed_headers(signer.headers_to_sign(request))
    request.headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={signed}, Signature={signature}"
    )
    return dict(request.headers.items())


def test_sigv4_passes_when_fresh_and_is_403_when_stale_or_wrong() -> None:
    iam = IamAuthorizer({"local": "local"})
    now = dt.datetime.now(dt.UTC)
    assert iam.authorize("POST", URL, _signed("local", now), b"{}") is None
    stale = iam.authorize("POST", URL, _signed("local", now - dt.timedelta(minutes=6)), b"{}")
    assert stale is not None
    assert (stale[0], b"Signature expired" in stale[2]) == (403, True)
    wrong = iam.authorize("POST", URL, _signed("not-local", now), b"{}")  # pragma: allowlist secret
    assert wrong is not None
    assert wrong[0] == 403
