"""Signed webhook deliveries, as the Standard Webhooks specification writes them
(github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):

- ``webhook-id``: the task id, the same on every attempt and run;
- ``webhook-timestamp``: the attempt's time, in Unix seconds;
- ``webhook-signature``: ``v1,<base64 of HMAC-SHA256 over "{id}.{timestamp}.{body}">``, one per
  active secret, separated by a space (during a rotation, the new secret's first).

A signing secret is written ``whsec_`` + base64 of 24 to 64 random bytes. The stage's secret lives
in AWS Secrets Manager (the local stack: in its emulator); its value holds one secret, or two
separated by a space while one replaces the other. The signing is a few lines of ``hmac`` on
purpose: the tests check it with an independent verifier (the ``standardwebhooks`` package).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

SECRET_PREFIX = "whsec_"  # pragma: allowlist secret (the prefix, no secret)
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
MAX_ACTIVE_SECRETS = 2
SIGNATURE_HEADERS = frozenset({"webhook-id", "webhook-timestamp", "webhook-signature"})


class SigningSecretError(ValueError):
    """A secret value that is not one or two ``whsec_`` secrets (never says what it holds)."""


@dataclass(frozen=True)
class SigningKeys:
    keys: tuple[bytes, ...]
    """The active secrets' bytes, the newest first."""

    @classmethod
    def parse(cls, value: str) -> SigningKeys:
        """One secret, or two separated by white space; each ``whsec_<base64>`` or bare base64."""
        written = value.split()
        if not 1 <= len(written) <= MAX_ACTIVE_SECRETS:
            raise SigningSecretError(f"expected 1 or {MAX_ACTIVE_SECRETS} secrets, found {len(written)}")
        keys = []
        for position, secret in enumerate(written, start=1):
            try:
                key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
            except (binascii.Error, ValueError):
                raise SigningSecretError(f"secret {position} is not base64 after {SECRET_PREFIX}") from None
            if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
                raise SigningSecretError(
                    f"secret {position} holds {len(key)} bytes; from {MIN_SECRET_BYTES} to "
                    f"{MAX_SECRET_BYTES} are accepted"
                )
            keys.append(key)
        return cls(tuple(keys))

    def headers(self, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        signed = f"{message_id}.{timestamp}.".encode() + body
        signatures = (
            "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
            for key in self.keys
        )
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(signatures),
        }
