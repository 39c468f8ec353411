"""API Gateway's route authorization, emulated: ``--api-auth iam`` or ``--api-auth jwt`` makes the
local HTTP API refuse requests as a deployment with that ``apiAuth`` refuses them, before the
api function runs (nothing is stored), with API Gateway's own answers:

- ``iam``: a SigV4 signature for service ``execute-api``, checked against the local credentials
  (``AWS_ACCESS_KEY_ID=local``, ``AWS_SECRET_ACCESS_KEY=local``) and a 5-minute clock skew.
  Missing → ``403 {"message": "Forbidden"}``; wrong → ``403`` with the signature-mismatch message.
- ``jwt``: ``Authorization: Bearer <JWT>``, RS256, checked for issuer, audience, expiry and the
  route's scope (``tasks/read`` for GET, ``tasks/write`` for POST and DELETE, as the stack's
  routes require). Missing or invalid → ``401 {"message": "Unauthorized"}`` with a
  ``www-authenticate`` header saying why; a valid token without the scope → ``403``. The local
  stack is its own identity provider: ``POST /local-idp/token`` (form or JSON ``scope``) issues
  a token signed with a key made at start, as a Cognito app client's token endpoint would.
"""

from __future__ import annotations

import hmac
import json
import time
import urllib.parse
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from infra.spec import ROUTE_SCOPES

Reply = tuple[int, dict[str, str], bytes]
MAX_CLOCK_SKEW = timedelta(minutes=5)
TOKEN_PATH = "/local-idp/token"
LOCAL_AUDIENCE = "ptm-local"
TOKEN_LIFETIME_SECONDS = 3600


def _refusal(status: int, message: str, **headers: str) -> Reply:
    return status, {"Content-Type": "application/json", **headers}, json.dumps({"message": message}).encode()


class Authorizer(Protocol):
    def authorize(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> Reply | None:
        """None to let the request through; otherwise API Gateway's refusal."""


class IamAuthorizer:
    def __init__(self, credentials: Mapping[str, str]) -> None:
        """``credentials``: access key id → secret access key."""
        self._secrets = dict(credentials)

    def authorize(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> Reply | None:
        lowered = {name.lower(): value for name, value in headers.items()}
        authorization = lowered.get("authorization", "")
        if not authorization.startswith("AWS4-HMAC-SHA256 "):
            return _refusal(403, "Forbidden")
        fields = dict(
            part.strip().split("=", 1)
            for part in authorization.removeprefix("AWS4-HMAC-SHA256 ").split(",")
            if "=" in part
        )
        try:
            access_key, _date, region, service, _terminator = fields["Credential"].split("/")
            signed = fields["SignedHeaders"].split(";")
            amz_date = lowered["x-amz-date"]
            stamp = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except (KeyError, ValueError):
            return _refusal(403, "Forbidden")
        secret = self._secrets.get(access_key)
        if secret is None or service != "execute-api":
            return _refusal(403, "The security token included in the request is invalid.")
        if abs(datetime.now(UTC) - stamp) > MAX_CLOCK_SKEW:
            return _refusal(403, "Signature expired")
        request = AWSRequest(
            method=method,
            url=url,
            data=body,
            headers={name: lowered[name] for name in signed if name in lowered},
        )
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(access_key, secret), service, region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            return _refusal(
                403,
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method.",
            )
        return None


class JwtAuthorizer:
    def __init__(self, issuer: str, audience: str = LOCAL_AUDIENCE) -> None:
        self.issuer = issuer
        self.audience = audience
        self._key = RSAKey.generate_key(2048, parameters={"kid": "ptm-local"})
        self._claims = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            exp={"essential": True},
        )

    def issue(self, scopes: list[str], lifetime_seconds: int = TOKEN_LIFETIME_SECONDS) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": "local-user",
            "scope": " ".join(scopes),
            "iat": now,
            "exp": now + lifetime_seconds,
        }
        return jwt.encode({"alg": "RS256", "kid": "ptm-local"}, claims, self._key)

    def token_endpoint(self, body: bytes, content_type: str) -> Reply:
        """``POST /local-idp/token``: ``scope`` (space-separated) → an access token."""
        if content_type.startswith("application/json"):
            requested = str(json.loads(body or b"{}").get("scope", ""))
        else:
            requested = urllib.parse.parse_qs(body.decode()).get("scope", [""])[0]
        scopes = requested.split() or sorted(set(ROUTE_SCOPES.values()))
        token = self.issue(scopes)
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECONDS}
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()

    def authorize(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> Reply | None:
        del url, body
        lowered = {name.lower(): value for name, value in headers.items()}
        raw = lowered.get("authorization", "")
        token = raw.removeprefix("Bearer ").strip() if raw.startswith("Bearer ") else raw.strip()
        if not token:
            return self._unauthorized("no token in the Authorization header")
        try:
            decoded = jwt.decode(token, self._key, algorithms=["RS256"])
            self._claims.validate(decoded.claims)
        except (JoseError, ValueError) as error:
            return self._unauthorized(f"the token is not valid: {error}")
        audience = decoded.claims.get("aud") or decoded.claims.get("client_id")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.audience not in audiences:
            return self._unauthorized("the token does not have a valid audience")
        granted = str(decoded.claims.get("scope") or decoded.claims.get("scp") or "").split()
        needed = ROUTE_SCOPES[method]
        if needed not in granted:
            challenge = (
                f'Bearer scope="{needed}" error="insufficient_scope" error_description="{needed} required"'
            )
            return _refusal(403, "Forbidden", **{"www-authenticate": challenge})
        return None

    @staticmethod
    def _unauthorized(why: str) -> Reply:
        challenge = f'Bearer scope="" error="invalid_token" error_description="{why}"'
        return _refusal(401, "Unauthorized", **{"www-authenticate": challenge})
