"""Key rotation and the token type against a real ``playball auth serve``, verified as the
groups service does (its JwksTokenVerifier on auth's real JWKS)."""

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from playball_groups.adapters.jwks import JwksTokenVerifier
from playball_groups.service_layer.tokens import InvalidTokenError
from support.auth_process import auth_served, playball_auth
from support.system import PASSWORD_COST_ENV

T = TypeVar("T")
PASSWORD = "a long and uncommon passphrase 42"
TTL = 2  # so the old key retires ttl + 30 s after the new one took over, not 330 s


def _until(what: str, seconds: float, probe: Callable[[], T | None]) -> T:
    """Poll ``probe`` until it returns something, failing after ``seconds``."""
    deadline = time.monotonic() + seconds
    while (found := probe()) is None:
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.2)
    return found


def _kids(directory: Path) -> set[str]:
    return {pem.stem for pem in directory.glob("*.pem")}


def _rotate_now(env: dict[str, str]) -> None:
    rotated = playball_auth("keys", "rotate", "--now", env=env)
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr


# One served process for the module (starting one is seconds of a loaded machine): the
# token-type test runs first, on the first key alone; the rotation test then rotates.
@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("served") / "keys"
    directory.mkdir(mode=0o700)
    return directory


@pytest.fixture(scope="module")
def env(keys: Path) -> dict[str, str]:
    return {
        "PLAYBALL_AUTH_SIGNING_KEYS": str(keys),
        "PLAYBALL_AUTH_TOKEN_TTL": str(TTL),
        **PASSWORD_COST_ENV,
    }


class Auth:
    def __init__(self, base: str) -> None:
        self.base = base

    def register(self) -> str:
        name = f"u{uuid.uuid4().hex[:10]}"
        created = httpx.post(
            f"{self.base}/users",
            json={
                "username": name,
                "email": f"{name}@example.org",
                "password": PASSWORD,
                "display_name": "Rota",
            },
        )
        assert created.status_code == 201, created.text
        self.username = name
        return str(created.json()["id"])

    def token(self, scope: str = "groups") -> str:
        response = httpx.post(
            f"{self.base}/token",
            data={"username": self.username, "password": PASSWORD, "scope": scope},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def published(self) -> set[str]:
        keys = httpx.get(f"{self.base}/.well-known/jwks.json").json()["keys"]
        return {key["kid"] for key in keys}

    def groups_verifier(self) -> JwksTokenVerifier:
        return JwksTokenVerifier(
            f"{self.base}/.well-known/jwks.json",
            issuer=self.base,
            audience="playball-groups",
            refresh_cooldown=0,
        )


@pytest.fixture(scope="module")
def auth(keys: Path, env: dict[str, str]) -> Iterator[Auth]:
    _rotate_now(env)  # rotating an empty directory makes its first key
    with auth_served(keys.parent / "auth.db", env) as base:
        yield Auth(base)


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def test_both_services_refuse_a_typ_jwt_token_and_the_other_services_scope(
    auth: Auth, keys: Path
) -> None:
    user_id = auth.register()
    groups = auth.groups_verifier()

    def me(token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.get(f"{auth.base}/users/me", headers=headers).status_code

    # controls: the same tokens typed at+jwt pass, so typ is what the refusals are about
    assert me(_signed_like_auth(auth, keys, user_id, scope="account", typ="at+jwt")) == 200
    groups_token = _signed_like_auth(auth, keys, user_id, scope="groups", typ="at+jwt")
    assert str(groups.caller(groups_token)) == user_id

    for typ in ("JWT", None):
        assert me(_signed_like_auth(auth, keys, user_id, scope="account", typ=typ)) == 401
        with pytest.raises(InvalidTokenError, match="typ"):
            groups.caller(_signed_like_auth(auth, keys, user_id, scope="groups", typ=typ))

    # and each service refuses the tokens auth mints for the other: a token shown to
    # groups cannot change the account, an account token is no key to groups
    assert me(auth.token("groups")) == 401
    assert me(auth.token("account")) == 200
    with pytest.raises(InvalidTokenError):
        groups.caller(auth.token("account"))
    assert str(groups.caller(auth.token("groups"))) == user_id


@pytest.mark.slow
def test_a_rotation_reaches_the_running_server_and_the_old_key_retires(
    auth: Auth, keys: Path, env: dict[str, str]
) -> None:
    user_id = uuid.UUID(auth.register())
    (old,) = _kids(keys)
    assert auth.published() == {old}
    groups = auth.groups_verifier()
    old_token = auth.token()
    assert _kid(old_token) == old
    assert groups.caller(old_token) == user_id  # groups now caches the JWKS of one key

    _rotate_now(env)
    (new,) = _kids(keys) - {old}
    # re-read by the running server within seconds: both keys published
    _until("the JWKS has both keys", 15, lambda: auth.published() == {old, new} or None)
    new_token = _until("a token signed by the new key", 15, lambda: _new_token(auth, new))

    # the overlap: the groups verifier takes both, fetching the new key on its unknown kid
    assert groups.caller(new_token) == user_id
    assert groups.caller(old_token) == user_id
    assert auth.groups_verifier().caller(old_token) == user_id  # a verifier starting now

    # ttl + 30 s after the new key took over, the old one is gone from the JWKS
    _until("the old key left the JWKS", TTL + 30 + 60, lambda: auth.published() == {new} or None)
    assert _kid(auth.token()) == new


def _new_token(auth: Auth, kid: str) -> str | None:
    token = auth.token()
    return token if _kid(token) == kid else None


def _real_key(keys: Path) -> tuple[str, rsa.RSAPrivateKey]:
    (pem,) = keys.glob("*.pem")
    key = serialization.load_pem_private_key(pem.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return pem.stem, key


def _signed_like_auth(auth: Auth, keys: Path, user_id: str, *, scope: str, typ: str | None) -> str:
    kid, key = _real_key(keys)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": auth.base,
        "sub": user_id,
        "aud": {"groups": "playball-groups", "account": "playball-auth"}[scope],
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        "client_id": "playball-password-grant",
        "scope": scope,
        "cv": 1,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": typ})
