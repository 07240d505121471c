"""Wires the adapters into the ports for a real process (the API server, the CLI)."""

from collections.abc import Callable
from dataclasses import dataclass

from playball_service_kit.database_sql import is_reachable

from playball_auth.adapters.database_sql import make_engine, session_factory
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
    ports = AuthPorts(
        uow_factory=lambda: SqlUnitOfWork(sessions),
        passwords=Argon2PasswordHasher.with_cost(
            memory_kib=settings.auth_password_memory_kib,
            time_cost=settings.auth_password_time_cost,
            parallelism=settings.auth_password_parallelism,
        ),
        tokens=tokens,
        check_ready=lambda: is_reachable(engine),
    )
    return Wired(ports=ports, dispose=engine.dispose)
