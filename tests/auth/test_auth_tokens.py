"""Access tokens: what a verifier (the groups service, with PyJWT and our JWKS) sees, and
the forgeries GET /users/me must refuse."""

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from playball_auth.adapters.signing_key import (
    SigningKeyError,
    generate_key_file,
    load_signing_key,
    public_jwk,
)
from playball_auth.adapters.tokens_jwt import JwtAccessTokens
from playball_auth.settings import AUDIENCE, default_signing_key_path
from support.auth_backends import ISSUER

# tokens do not depend on storage: the fakes are enough here
on_fakes = pytest.mark.parametrize("backend", ["fake"], indirect=True)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _user_and_token(client: TestClient) -> tuple[str, str]:
    created = client.post(
        "/users",
        json={
            "username": "tess",
            "email": "tess@example.org",
            "password": "correct horse",
            "display_name": "Tess",
        },
    ).json()
    token = client.post("/token", data={"username": "tess", "password": "correct horse"})
    return created["id"], token.json()["access_token"]


def _me(client: TestClient, token: str) -> int:
    return client.get("/users/me", headers={"Authorization": f"Bearer {token}"}).status_code


@on_fakes
def test_tokens_verify_against_the_jwks_with_the_right_claims(client: TestClient) -> None:
    user_id, token = _user_and_token(client)
    jwks = jwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json())
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    key = next(k for k in jwks.keys if k.key_id == header["kid"])
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience="playball-groups",
        issuer=ISSUER,
        options={"require": ["sub", "iss", "aud", "iat", "exp"]},
    )
    assert claims["sub"] == user_id
    assert claims["aud"] == "playball-groups"
    assert claims["exp"] - claims["iat"] == 900
    assert abs(claims["iat"] - time.time()) < 300


def _signed(key: rsa.RSAPrivateKey, kid: str, **claims: Any) -> str:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 60}
    return jwt.encode({**base, **claims}, key, algorithm="RS256", headers={"kid": kid})


@on_fakes
def test_forged_and_wrong_tokens_are_refused(
    client: TestClient, signing_key: rsa.RSAPrivateKey
) -> None:
    user_id, good = _user_and_token(client)
    kid = public_jwk(signing_key.public_key())["kid"]
    assert _me(client, good) == 200
    assert _me(client, _signed(signing_key, kid, sub=user_id)) == 200  # control

    now = int(time.time())
    expired = _signed(signing_key, kid, sub=user_id, iat=now - 7200, exp=now - 3600)
    other_audience = _signed(signing_key, kid, sub=user_id, aud="someone-else")
    other_issuer = _signed(signing_key, kid, sub=user_id, iss="http://evil.example")
    no_exp = jwt.encode(
        {"sub": user_id, "iss": ISSUER, "aud": AUDIENCE, "iat": now},
        signing_key,
        algorithm="RS256",
        headers={"kid": kid},
    )
    not_a_uuid = _signed(signing_key, kid, sub="not-a-uuid")
    unknown_kid = _signed(signing_key, "another-kid", sub=user_id)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_key_same_kid = _signed(stranger, kid, sub=user_id)

    payload = _b64(
        json.dumps(
            {"sub": user_id, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 60}
        ).encode()
    )
    alg_none = f"{_b64(json.dumps({'alg': 'none', 'kid': kid}).encode())}.{payload}."
    # the classic confusion attack: HS256 with the public key's PEM as the HMAC secret
    pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    signature = hmac.new(pem, f"{hs_header}.{payload}".encode(), hashlib.sha256).digest()
    hs256_public_key = f"{hs_header}.{payload}.{_b64(signature)}"
    head, _body, sig = good.split(".")
    tampered = f"{head}.{_b64(json.dumps({'sub': user_id, 'aud': AUDIENCE}).encode())}.{sig}"

    for name, token in {
        "expired": expired,
        "other audience": other_audience,
        "other issuer": other_issuer,
        "no exp": no_exp,
        "sub not a uuid": not_a_uuid,
        "unknown kid": unknown_kid,
        "other key, same kid": other_key_same_kid,
        "alg none": alg_none,
        "HS256 signed with the public key": hs256_public_key,
        "tampered payload": tampered,
        "garbage": "a.b.c",
    }.items():
        response = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.json()["code"] == "invalid_token", name


def test_the_kid_is_the_keys_rfc7638_thumbprint_and_stable(
    signing_key: rsa.RSAPrivateKey,
) -> None:
    first = JwtAccessTokens(signing_key, issuer="i", audience="a", ttl_seconds=1)
    second = JwtAccessTokens(signing_key, issuer="i", audience="a", ttl_seconds=1)
    assert first.kid == second.kid
    # RFC 7638 section 3.1's example key and thumbprint
    n = int.from_bytes(
        base64.urlsafe_b64decode(
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6t"
            "Soc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
            "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08q"
            "NLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8aw"
            "apJzKnqDKgw==",
        ),
        "big",
    )
    key = rsa.RSAPublicNumbers(65537, n).public_key()
    assert public_jwk(key)["kid"] == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_a_development_key_is_generated_once_with_mode_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    path = default_signing_key_path()
    assert path == tmp_path / "playball" / "auth-signing-key.pem"
    first = load_signing_key(path, generate_if_missing=True)
    assert path.stat().st_mode & 0o777 == 0o600
    second = load_signing_key(path, generate_if_missing=True)
    assert public_jwk(first.public_key()) == public_jwk(second.public_key())
    generate_key_file(path)  # a second generation never replaces the key
    third = load_signing_key(path, generate_if_missing=True)
    assert public_jwk(third.public_key()) == public_jwk(first.public_key())
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left


def test_a_configured_key_must_exist_and_be_rsa(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="does not exist"):
        load_signing_key(tmp_path / "missing.pem", generate_if_missing=False)
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(SigningKeyError, match="cannot read"):
        load_signing_key(bad, generate_if_missing=False)
