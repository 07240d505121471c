"""Access tokens (RFC 9068): what the adapter issues per scope, what a verifier with our
JWKS sees, and every token ``verify`` must refuse."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from playball_auth.adapters.key_ring import StaticKeyRing
from playball_auth.adapters.signing_keys import public_jwk
from playball_auth.adapters.tokens_jwt import JwtAccessTokens
from playball_auth.service_layer.ports import InvalidTokenError, Scope
from support.auth_backends import ISSUER

AUDIENCES: dict[Scope, str] = {"groups": "playball-groups", "account": "playball-auth"}
USER = uuid.UUID("0b4f9a57-5a3e-4c55-9d0e-0a1b2c3d4e5f")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _kid(key: rsa.RSAPrivateKey) -> str:
    return public_jwk(key.public_key())["kid"]


def _claims(scope: Scope = "account", /, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": str(USER),
        "aud": AUDIENCES[scope],
        "iat": now,
        "exp": now + 60,
        "jti": "j1",
        "client_id": "playball-password-grant",
        "scope": scope,
        "cv": 1,
    }
    claims.update(overrides)
    return claims


def _signed(key: rsa.RSAPrivateKey, claims: dict[str, Any], *, typ: str | None = "at+jwt") -> str:
    """A token signed by ``key`` with any claims and ``typ`` (None: no typ at all)."""
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": _kid(key), "typ": typ})


@pytest.mark.parametrize(("scope", "lifetime"), [("groups", 900), ("account", 300)])
def test_issued_tokens_are_rfc_9068_access_tokens(
    tokens: JwtAccessTokens, scope: Scope, lifetime: int
) -> None:
    """Read as a verifier does: the key from the JWKS by kid, RS256, the scope's audience."""
    issued = tokens.issue(USER, scope=scope, credentials_version=7)
    assert issued.expires_in == lifetime
    header = jwt.get_unverified_header(issued.access_token)
    jwks = jwt.PyJWKSet.from_dict(tokens.jwks())
    assert header == {"alg": "RS256", "typ": "at+jwt", "kid": jwks.keys[0].key_id}
    claims = jwt.decode(
        issued.access_token,
        jwks[header["kid"]].key,
        algorithms=["RS256"],
        audience=AUDIENCES[scope],
        issuer=ISSUER,
    )
    assert set(claims) == {"iss", "sub", "aud", "iat", "exp", "jti", "client_id", "scope", "cv"}
    assert claims["sub"] == str(USER)
    assert (claims["scope"], claims["cv"]) == (scope, 7)
    assert claims["client_id"] == "playball-password-grant"
    assert claims["exp"] - claims["iat"] == lifetime
    assert abs(claims["iat"] - time.time()) < 300  # a sane clock, not a timing bound

    verified = tokens.verify(issued.access_token, scope=scope)
    assert (verified.user_id, verified.credentials_version, verified.scope) == (USER, 7, scope)
    assert verified.jti == claims["jti"]


def test_every_token_has_its_own_random_jti(tokens: JwtAccessTokens) -> None:
    jtis = {
        tokens.verify(
            tokens.issue(USER, scope="groups", credentials_version=1).access_token,
            scope="groups",
        ).jti
        for _ in range(20)
    }
    assert len(jtis) == 20
    assert all(len(jti) >= 22 for jti in jtis)  # 128 bits, base64url


def test_an_account_token_never_outlives_the_ttl(signing_key: rsa.RSAPrivateKey) -> None:
    short = JwtAccessTokens(StaticKeyRing(signing_key), issuer=ISSUER, ttl_seconds=60)
    assert short.issue(USER, scope="account", credentials_version=1).expires_in == 60
    assert short.issue(USER, scope="groups", credentials_version=1).expires_in == 60


@pytest.mark.parametrize("typ", ["JWT", None, "jwt", "application/at+jwt", "AT+JWT"])
def test_a_token_signed_by_our_key_with_another_typ_is_refused(
    tokens: JwtAccessTokens, signing_key: rsa.RSAPrivateKey, typ: str | None
) -> None:
    assert tokens.verify(_signed(signing_key, _claims()), scope="account")  # control
    with pytest.raises(InvalidTokenError, match="typ"):
        tokens.verify(_signed(signing_key, _claims(), typ=typ), scope="account")


@pytest.mark.parametrize(
    ("issued_for", "presented_at"), [("groups", "account"), ("account", "groups")]
)
def test_a_token_is_refused_for_the_other_scope(
    tokens: JwtAccessTokens, issued_for: Scope, presented_at: Scope
) -> None:
    token = tokens.issue(USER, scope=issued_for, credentials_version=1).access_token
    with pytest.raises(InvalidTokenError):
        tokens.verify(token, scope=presented_at)


def test_the_scope_claim_must_match_the_audience(
    tokens: JwtAccessTokens, signing_key: rsa.RSAPrivateKey
) -> None:
    token = _signed(signing_key, _claims("account", scope="groups"))
    with pytest.raises(InvalidTokenError):
        tokens.verify(token, scope="account")


@pytest.mark.parametrize(
    ("seconds", "accepted"), [(20, True), (60, False)]
)  # far from the 30 s edge: a slow run cannot cross it
def test_thirty_seconds_of_clock_leeway(
    tokens: JwtAccessTokens, signing_key: rsa.RSAPrivateKey, seconds: int, accepted: bool
) -> None:
    now = int(time.time())
    expired = _signed(signing_key, _claims(iat=now - 600, exp=now - seconds))
    from_the_future = _signed(signing_key, _claims(iat=now + seconds, exp=now + 600))
    for token in (expired, from_the_future):
        if accepted:
            assert tokens.verify(token, scope="account").user_id == USER
        else:
            with pytest.raises(InvalidTokenError):
                tokens.verify(token, scope="account")


@pytest.mark.parametrize(
    "claim", ["iss", "sub", "aud", "iat", "exp", "jti", "client_id", "scope", "cv"]
)
def test_every_claim_is_required(
    tokens: JwtAccessTokens, signing_key: rsa.RSAPrivateKey, claim: str
) -> None:
    claims = _claims()
    del claims[claim]
    with pytest.raises(InvalidTokenError):
        tokens.verify(_signed(signing_key, claims), scope="account")


def test_forged_and_wrong_tokens_are_refused(
    tokens: JwtAccessTokens, signing_key: rsa.RSAPrivateKey
) -> None:
    kid = _kid(signing_key)
    good = tokens.issue(USER, scope="account", credentials_version=1).access_token
    assert tokens.verify(good, scope="account").user_id == USER  # control

    now = int(time.time())
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    payload = _b64(json.dumps(_claims()).encode())
    alg_none = (
        f"{_b64(json.dumps({'alg': 'none', 'typ': 'at+jwt', 'kid': kid}).encode())}.{payload}."
    )
    # the classic confusion attack: HS256 with the public key's PEM as the HMAC secret
    pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_header = _b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": kid}).encode())
    signature = hmac.new(pem, f"{hs_header}.{payload}".encode(), hashlib.sha256).digest()
    head, _body, sig = good.split(".")
    forged_kid = jwt.encode(
        _claims(), signing_key, algorithm="RS256", headers={"kid": "another", "typ": "at+jwt"}
    )
    other_key_same_kid = jwt.encode(
        _claims(), stranger, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"}
    )

    accepted = []
    for name, token in {
        "expired": _signed(signing_key, _claims(iat=now - 7200, exp=now - 3600)),
        "other audience": _signed(signing_key, _claims(aud="someone-else")),
        "other issuer": _signed(signing_key, _claims(iss="http://evil.example")),
        "sub not a uuid": _signed(signing_key, _claims(sub="not-a-uuid")),
        "cv not an integer": _signed(signing_key, _claims(cv="1")),
        "cv a boolean": _signed(signing_key, _claims(cv=True)),
        "other client": _signed(signing_key, _claims(client_id="someone")),
        "unknown kid": forged_kid,
        "other key, same kid": other_key_same_kid,
        "alg none": alg_none,
        "HS256 signed with the public key": f"{hs_header}.{payload}.{_b64(signature)}",
        "tampered payload": f"{head}.{_b64(json.dumps(_claims(cv=2)).encode())}.{sig}",
        "garbage": "a.b.c",
        "empty": "",
    }.items():
        try:
            tokens.verify(token, scope="account")
        except InvalidTokenError:
            continue
        accepted.append(name)
    assert accepted == []


def test_the_kid_is_the_keys_rfc7638_thumbprint_and_stable(
    signing_key: rsa.RSAPrivateKey,
) -> None:
    assert StaticKeyRing(signing_key).current().signing_kid == _kid(signing_key)
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
