"""The erasure pepper: from Secrets Manager in AWS (settings.erasure_pepper_secret, the stack's secret),
from settings.erasure_pepper on the local stack and in tests.

A configured secret that cannot be read is an error, never a reason to fall back to the local pepper:
tokens made with a public pepper would let anyone re-identify the erased customers. Callers fetch it
once per container (routes_erasure caches the service it goes into; a failure is not cached, so the
next request tries again).
"""

from __future__ import annotations

import os
from typing import Any

from loyalty.settings import Settings


class PepperUnavailable(RuntimeError):
    """The erasure pepper secret is configured but could not be read (or is empty)."""


class SecretsManagerPepper:
    """Reads the pepper (the secret's SecretString) with one GetSecretValue."""

    def __init__(self, secret_id: str, client: Any = None) -> None:
        self.secret_id = secret_id
        self._client = client

    def get(self) -> str:
        client = self._client
        if client is None:
            import boto3  # lazily: only the erasure function, and only in AWS, needs it

            client = boto3.client("secretsmanager")
        try:
            value = client.get_secret_value(SecretId=self.secret_id).get("SecretString")
        except Exception as error:
            raise PepperUnavailable(
                f"erasure pepper secret {self.secret_id!r} unreadable: {error}"
            ) from error
        if not value:
            raise PepperUnavailable(f"erasure pepper secret {self.secret_id!r} has no SecretString")
        return str(value)


def erasure_pepper(settings: Settings, client: Any = None) -> str:
    """The pepper to hash erased customer ids with. Raises PepperUnavailable if the secret is configured
    but unreadable, and refuses the public local default inside a Lambda (AWS_LAMBDA_FUNCTION_NAME set)."""
    if settings.erasure_pepper_secret:
        return SecretsManagerPepper(settings.erasure_pepper_secret, client).get()
    local_default = Settings.__dataclass_fields__["erasure_pepper"].default
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and settings.erasure_pepper == local_default:
        raise PepperUnavailable(
            "no erasure pepper secret configured (LOYALTY_ERASURE_PEPPER_SECRET) and the local default "
            "pepper is public: refusing to erase with it"
        )
    return settings.erasure_pepper
