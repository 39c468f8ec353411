"""The only module that reads the webhook signing secret (AWS Secrets Manager).

The process function reads it while it starts (INIT) and then at most once every
``MAX_AGE_SECONDS`` (Powertools' parameters cache), so a rotation reaches every execution
environment within that time without a read per delivery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import BotoCoreError, ClientError

from functions.common.aws import translate
from functions.common.errors import DependencyMisconfiguredError
from functions.common.signing import SigningKeys, SigningSecretError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

MAX_AGE_SECONDS = 300
"""How long a read secret is used before it is read again (a rotation's delay to take effect)."""


class SigningSecret:
    def __init__(self, client: SecretsManagerClient, secret_id: str) -> None:
        self._provider = SecretsProvider(boto3_client=client)
        self.secret_id = secret_id

    def keys(self) -> SigningKeys:
        """The active keys. Raises ``DependencyUnavailableError`` (retry later) or
        ``DependencyMisconfiguredError`` (a missing secret, no permission, a malformed value)."""
        try:
            value = self._provider.get(self.secret_id, max_age=MAX_AGE_SECONDS)
        except GetParameterError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ClientError | BotoCoreError):
                raise translate(cause, "read the webhook signing secret") from exc
            raise DependencyMisconfiguredError(f"read the webhook signing secret: {exc}") from exc
        try:
            return SigningKeys.parse(str(value))
        except SigningSecretError as exc:
            raise DependencyMisconfiguredError(f"the webhook signing secret: {exc}") from exc
