"""Wires the adapters into the ports for a real process (the API server, the CLI)."""

from collections.abc import Callable
from dataclasses import dataclass

from playball_auth.adapters.database_sql import (
    DatabaseUnavailableError,
    check_reachable,
    make_engine,
    session_factory,
)
from playball_auth.adapters.passwords_argon2 import Argon2PasswordHasher
from playball_auth.adapters.signing_key import load_signing_key
from playball_auth.adapters.tokens_jwt import JwtAccessTokens
from playball_auth.adapters.unit_of_work_sql import SqlUnitOfWork
from playball_auth.service_layer.ports import AuthPorts
from playball_auth.settings import AUDIENCE, AuthSettings, default_signing_key_path


@dataclass(frozen=True, slots=True)
class Wired:
    ports: AuthPorts
    dispose: Callable[[], None]  # closes the database pool


def wire(settings: AuthSettings, *, issuer: str) -> Wired:
    """Raises SigningKeyError for a bad key; the database is not contacted yet."""
    if settings.auth_signing_key is not None:
        key = load_signing_key(settings.auth_signing_key, generate_if_missing=False)
    else:
        key = load_signing_key(default_signing_key_path(), generate_if_missing=True)
    tokens = JwtAccessTokens(
        key, issuer=issuer, audience=AUDIENCE, ttl_seconds=settings.auth_token_ttl
    )
    engine = make_engine(settings.effective_database_url)
    sessions = session_factory(engine)

    def check_ready() -> bool:
        try:
            check_reachable(engine)
        except DatabaseUnavailableError:
            return False
        return True

    ports = AuthPorts(
        uow_factory=lambda: SqlUnitOfWork(sessions),
        passwords=Argon2PasswordHasher(),
        tokens=tokens,
        check_ready=check_ready,
    )
    return Wired(ports=ports, dispose=engine.dispose)
