"""Verified tokens are remembered (the signature checked once), but never past what a full
verification would say: the token's expiry, its key's publication and its scope. The
user's credentials version is not the cache's to remember: a password change refuses
the account's older tokens at once, cached or not."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from playball_auth.adapters.key_ring import KeyRing, KeySet, StaticKeyRing
from playball_auth.adapters.tokens_jwt import (
    LEEWAY_SECONDS,
    JwtAccessTokens,
    VerifiedTokens,
)
from playball_auth.entrypoints.api import create_app
from playball_auth.service_layer.ports import AuthPorts, InvalidTokenError
from support.auth_backends import ISSUER

USER = uuid.UUID("00000000-0000-4000-8000-000000000001")
PASSWORD = "correct horse"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class SwitchableKeyRing(KeyRing):
    """A ring whose published keys a test replaces (a rotation's retirement)."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.keys: KeySet = StaticKeyRing(key).current()

    def current(self) -> KeySet:
        return self.keys


def test_a_verified_token_is_remembered_and_answers_alike(tokens: JwtAccessTokens) -> None:
    token = tokens.issue(USER, scope="account", credentials_version=3).access_token
    first = tokens.verify(token, scope="account")
    assert tokens.verified.get(token) is not None
    assert tokens.verify(token, scope="account") == first
    assert first.user_id == USER
    assert first.credentials_version == 3


def test_a_remembered_token_is_refused_once_expired(signing_key: rsa.RSAPrivateKey) -> None:
    import time  # noqa: PLC0415 - the issuing side's clock is the real one

    clock = Clock(time.time())
    tokens = JwtAccessTokens(StaticKeyRing(signing_key), issuer=ISSUER, ttl_seconds=60, clock=clock)
    issued = tokens.issue(USER, scope="account", credentials_version=1)
    tokens.verify(issued.access_token, scope="account")
    clock.now += issued.expires_in + LEEWAY_SECONDS - 1
    assert tokens.verify(issued.access_token, scope="account").user_id == USER
    clock.now += 2
    with pytest.raises(InvalidTokenError, match="expired"):
        tokens.verify(issued.access_token, scope="account")
    assert tokens.verified.get(issued.access_token) is None


def test_a_remembered_token_is_refused_once_its_key_is_retired(
    signing_key: rsa.RSAPrivateKey,
) -> None:
    ring = SwitchableKeyRing(signing_key)
    tokens = JwtAccessTokens(ring, issuer=ISSUER, ttl_seconds=900)
    token = tokens.issue(USER, scope="groups", credentials_version=1).access_token
    tokens.verify(token, scope="groups")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ring.keys = StaticKeyRing(other).current()  # ours no longer published
    with pytest.raises(InvalidTokenError, match="kid"):
        tokens.verify(token, scope="groups")


def test_a_remembered_token_is_still_refused_for_the_other_scope(
    tokens: JwtAccessTokens,
) -> None:
    token = tokens.issue(USER, scope="groups", credentials_version=1).access_token
    tokens.verify(token, scope="groups")
    with pytest.raises(InvalidTokenError):
        tokens.verify(token, scope="account")


def test_a_refused_token_is_not_remembered(tokens: JwtAccessTokens) -> None:
    token = tokens.issue(USER, scope="groups", credentials_version=1).access_token
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(InvalidTokenError):
            tokens.verify(forged, scope="groups")
    assert tokens.verified.get(forged) is None


def test_the_cache_forgets_the_oldest_beyond_its_bound(signing_key: rsa.RSAPrivateKey) -> None:
    tokens = JwtAccessTokens(
        StaticKeyRing(signing_key), issuer=ISSUER, ttl_seconds=900, verified=VerifiedTokens(2)
    )
    issued = [
        tokens.issue(USER, scope="account", credentials_version=1).access_token for _ in range(3)
    ]
    for token in issued:
        tokens.verify(token, scope="account")
    assert len(tokens.verified) == 2
    assert tokens.verified.get(issued[0]) is None
    assert tokens.verify(issued[0], scope="account").user_id == USER  # verified afresh


@pytest.fixture
def client(ports: AuthPorts) -> Iterator[TestClient]:
    with TestClient(create_app(ports), raise_server_exceptions=False) as test_client:
        user = {
            "username": "alice",
            "email": "alice@example.org",
            "password": PASSWORD,
            "display_name": "Alice",
        }
        assert test_client.post("/users", json=user).status_code == 201
        yield test_client


def _account_token(client: TestClient, password: str = PASSWORD) -> str:
    data = {"username": "alice", "password": password, "scope": "account"}
    response = client.post("/token", data=data)
    assert response.status_code == 200, response.text
    issued: str = response.json()["access_token"]
    return issued


def _patch(client: TestClient, token: str, body: dict[str, Any]) -> Any:
    return client.patch(
        "/users/me",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        content=json.dumps(body),
    )


def test_a_cached_token_is_refused_right_after_a_password_change(
    client: TestClient, ports: AuthPorts
) -> None:
    assert isinstance(ports.tokens, JwtAccessTokens)
    old, other = _account_token(client), _account_token(client)
    for token in (old, other):  # the cache warm with both
        for name in ("Alicia", "Alice"):
            assert _patch(client, token, {"display_name": name}).status_code == 200
        assert ports.tokens.verified.get(token) is not None
    changed = _patch(client, other, {"password": "battery staple", "current_password": PASSWORD})
    assert changed.status_code == 200, changed.text
    for token in (old, other):
        # still remembered as validly signed: the refusal is the user row's cv check
        assert ports.tokens.verified.get(token) is not None
        refused = _patch(client, token, {"display_name": "Mallory"})
        assert refused.status_code == 401, refused.text
        assert refused.json()["code"] == "invalid_token"
        me = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401
    new = _account_token(client, password="battery staple")
    renamed = _patch(client, new, {"display_name": "Alicia"})
    assert renamed.status_code == 200
    assert renamed.json()["display_name"] == "Alicia"
