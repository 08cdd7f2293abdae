"""The erasure pepper: the token depends on it, and a configured secret is read or the erasure fails
(never the public local default instead)."""

import pytest
from botocore.exceptions import ClientError
from loyalty.adapters.secrets import PepperUnavailable, SecretsManagerPepper, erasure_pepper
from loyalty.service.erasure import TOKEN_PREFIX, erasure_token
from loyalty.settings import Settings

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ErasurePepper-AbC123"


class FakeSecrets:
    """A Secrets Manager client answering GetSecretValue for one ARN, or failing like AWS does."""

    def __init__(self, value=None, error=None):
        self.value, self.error, self.calls = value, error, []

    def get_secret_value(self, SecretId):  # boto3 spells it so
        self.calls.append(SecretId)
        if self.error is not None:
            raise self.error
        return {"ARN": SecretId, "SecretString": self.value}


def _denied() -> ClientError:
    return ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "GetSecretValue"
    )


def test_the_token_is_keyed_by_the_pepper():
    a, b = erasure_token("CARD-1", "pepper-a"), erasure_token("CARD-1", "pepper-b")
    assert a.startswith(TOKEN_PREFIX) and b.startswith(TOKEN_PREFIX)
    assert a != b
    assert a == erasure_token("CARD-1", "pepper-a")
    assert "CARD-1" not in a


def test_without_a_secret_the_local_pepper_is_used(monkeypatch):
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    client = FakeSecrets("unused")
    assert erasure_pepper(Settings(erasure_pepper="local"), client) == "local"
    assert erasure_pepper(Settings(), client) == Settings().erasure_pepper
    assert client.calls == []


def test_a_configured_secret_is_read_and_wins_over_the_local_pepper():
    client = FakeSecrets("s3cret-from-secrets-manager")
    settings = Settings(erasure_pepper_secret=ARN)  # the local default is still set: it must be ignored
    assert erasure_pepper(settings, client) == "s3cret-from-secrets-manager"
    assert client.calls == [ARN]
    assert erasure_token("C1", erasure_pepper(settings, client)) != erasure_token(
        "C1", settings.erasure_pepper
    )


@pytest.mark.parametrize(
    "client",
    [
        FakeSecrets(error=_denied()),
        FakeSecrets(error=OSError("no route")),
        FakeSecrets(""),
        FakeSecrets(None),
    ],
    ids=["denied", "network", "empty", "binary-only"],
)
def test_a_configured_but_unreadable_secret_raises(client):
    with pytest.raises(PepperUnavailable, match="ErasurePepper-AbC123"):
        erasure_pepper(Settings(erasure_pepper_secret=ARN), client)
    with pytest.raises(PepperUnavailable):
        SecretsManagerPepper(ARN, client).get()
    assert client.calls == [ARN, ARN]


def test_the_public_default_is_refused_inside_a_lambda(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "LoyaltyStack-Erasure")
    with pytest.raises(PepperUnavailable, match="LOYALTY_ERASURE_PEPPER_SECRET"):
        erasure_pepper(Settings())
    assert erasure_pepper(Settings(erasure_pepper="an-injected-pepper")) == "an-injected-pepper"


def test_the_route_fails_loudly_when_the_secret_is_unreadable(monkeypatch):
    """Wired in loyalty.bootstrap: a configured secret that cannot be read stops the erasure (500), it does
    not erase with the local pepper; the failure is not cached, so the next request reads again."""
    from loyalty.bootstrap import Services, erasure_service
    from loyalty.settings import get_settings

    monkeypatch.setenv("LOYALTY_ERASURE_PEPPER_SECRET", ARN)
    get_settings.cache_clear()
    wired = Services(None, None, None, build_erasure=lambda: erasure_service(get_settings()))  # type: ignore[arg-type]
    client = FakeSecrets(error=_denied())
    monkeypatch.setattr(
        "boto3.client", lambda service, **kwargs: client if service == "secretsmanager" else None
    )
    try:
        for _ in range(2):
            with pytest.raises(PepperUnavailable):
                wired.erasure_service()
        assert client.calls == [ARN, ARN]
    finally:
        get_settings.cache_clear()
