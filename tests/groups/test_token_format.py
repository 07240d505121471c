"""The groups service's verifier takes auth's RFC 9068 access tokens and nothing else:
``typ: at+jwt``, the groups audience, RFC 9068's claims, 30 s of clock leeway."""

import datetime as dt
import uuid
from collections.abc import Iterator

import jwt
import pytest
from playball_groups.adapters.jwks import JwksTokenVerifier
from playball_groups.service_layer.tokens import InvalidTokenError
from support.tokens import AUDIENCE, Issuer, jwks_server


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with jwks_server() as issuer:
        yield issuer


@pytest.fixture(scope="module")
def verifier(issuer: Issuer) -> JwksTokenVerifier:
    return JwksTokenVerifier(
        f"{issuer.url}/.well-known/jwks.json", issuer=issuer.url, audience=AUDIENCE
    )


def test_an_access_token_as_auth_issues_it_is_accepted(
    issuer: Issuer, verifier: JwksTokenVerifier
) -> None:
    user = uuid.uuid4()
    assert verifier.caller(issuer.token(user)) == user


@pytest.mark.parametrize("typ", ["JWT", None, "jwt", "application/jwt", "at+JWT "])
def test_any_other_typ_is_refused(
    issuer: Issuer, verifier: JwksTokenVerifier, typ: str | None
) -> None:
    with pytest.raises(InvalidTokenError, match="typ"):
        verifier.caller(issuer.token(uuid.uuid4(), typ=typ))


def test_an_account_token_is_refused(issuer: Issuer, verifier: JwksTokenVerifier) -> None:
    with pytest.raises(InvalidTokenError, match=r"(?i)audience"):
        verifier.caller(issuer.account_token(uuid.uuid4()))


def _without(issuer: Issuer, user: uuid.UUID, claim: str) -> str:
    """A token as auth issues it, but for ``claim``."""
    claims = issuer.claims(user)
    del claims[claim]
    return jwt.encode(
        claims, issuer.key.private, "RS256", headers={"kid": issuer.key.kid, "typ": "at+jwt"}
    )


@pytest.mark.parametrize("claim", ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"])
def test_rfc_9068s_required_claims_are_required(
    issuer: Issuer, verifier: JwksTokenVerifier, claim: str
) -> None:
    with pytest.raises(InvalidTokenError):
        verifier.caller(_without(issuer, uuid.uuid4(), claim))


@pytest.mark.parametrize("claim", ["scope", "cv"])
def test_auths_own_claims_are_not_required(
    issuer: Issuer, verifier: JwksTokenVerifier, claim: str
) -> None:
    """The audience already says what the token is for; ``cv`` is checked by auth alone."""
    user = uuid.uuid4()
    assert verifier.caller(_without(issuer, user, claim)) == user


@pytest.mark.parametrize(
    ("expired_ago", "accepted"),
    [(dt.timedelta(seconds=20), True), (dt.timedelta(minutes=1), False)],
)
def test_thirty_seconds_of_clock_leeway(
    issuer: Issuer, verifier: JwksTokenVerifier, expired_ago: dt.timedelta, accepted: bool
) -> None:
    """20 s and 60 s sit far from the 30 s edge: a slow test run cannot cross it."""
    user = uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    expired = issuer.token(user, iat=now - dt.timedelta(minutes=5), exp=now - expired_ago)
    ahead = issuer.token(user, iat=now + expired_ago)  # a verifier whose clock is behind
    for token in (expired, ahead):
        if accepted:
            assert verifier.caller(token) == user
        else:
            with pytest.raises(InvalidTokenError):
                verifier.caller(token)
