"""Wires the adapters into the ports for a real process (the API server, the CLI)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from playball_service_kit.database_sql import is_reachable

from playball_auth.adapters.database_sql import make_engine, session_factory
from playball_auth.adapters.key_ring import DirectoryKeyRing
from playball_auth.adapters.passwords_argon2 import Argon2PasswordHasher
from playball_auth.adapters.passwords_bounded import BoundedPasswordHasher, default_slots
from playball_auth.adapters.signing_keys import ensure_development_directory
from playball_auth.adapters.throttle_sql import SqlLoginThrottle
from playball_auth.adapters.tokens_jwt import JwtAccessTokens, token_lifetimes
from playball_auth.adapters.unit_of_work_sql import SqlUnitOfWork
from playball_auth.domain.throttle import ThrottlePolicy
from playball_auth.service_layer.ports import AuthPorts
from playball_auth.settings import AuthSettings, default_signing_keys_path


@dataclass(frozen=True, slots=True)
class Wired:
    ports: AuthPorts
    dispose: Callable[[], None]  # closes the database pool


def signing_keys_directory(settings: AuthSettings) -> Path:
    """The configured key directory, or the development one, created with a first key
    when missing (a configured one must exist: a production service that silently made
    itself a key would issue tokens no verifier accepts). Raises SigningKeyError."""
    if settings.auth_signing_keys is not None:
        return settings.auth_signing_keys
    path = default_signing_keys_path()
    ensure_development_directory(path)
    return path


def access_tokens(settings: AuthSettings, *, issuer: str) -> JwtAccessTokens:
    """Tokens signed with the directory's keys, re-read while the process runs. Raises
    SigningKeyError for a bad directory or key file."""
    longest = max(token_lifetimes(settings.auth_token_ttl).values())
    keys = DirectoryKeyRing(
        signing_keys_directory(settings), token_lifetime=timedelta(seconds=longest)
    )
    return JwtAccessTokens(keys, issuer=issuer, ttl_seconds=settings.auth_token_ttl)


def password_hasher(settings: AuthSettings) -> BoundedPasswordHasher:
    """argon2id at the configured cost, at most ``PLAYBALL_AUTH_HASH_CONCURRENCY`` at once."""
    argon2 = Argon2PasswordHasher.with_cost(
        memory_kib=settings.auth_password_memory_kib,
        time_cost=settings.auth_password_time_cost,
        parallelism=settings.auth_password_parallelism,
    )
    return BoundedPasswordHasher(argon2, settings.auth_hash_concurrency or default_slots())


def wire(settings: AuthSettings, *, issuer: str) -> Wired:
    """Raises SigningKeyError for a bad key; the database is not contacted yet."""
    tokens = access_tokens(settings, issuer=issuer)
    engine = make_engine(settings.effective_database_url)
    sessions = session_factory(engine)
    passwords = password_hasher(settings)
    ports = AuthPorts(
        uow_factory=lambda: SqlUnitOfWork(sessions),
        passwords=passwords,
        tokens=tokens,
        check_ready=lambda: is_reachable(engine),
        throttle=SqlLoginThrottle(
            engine,
            ThrottlePolicy(
                account_failures=settings.auth_throttle_account_failures,
                account_window_s=settings.auth_throttle_account_window_s,
                address_failures_per_min=settings.auth_throttle_address_failures_per_min,
            ),
        ),
        refresh_ttl=timedelta(seconds=settings.auth_refresh_ttl),
        trusted_proxies=settings.trusted_proxy_networks,
    )

    def dispose() -> None:
        engine.dispose()
        passwords.close()

    return Wired(ports=ports, dispose=dispose)
