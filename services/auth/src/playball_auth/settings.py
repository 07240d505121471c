"""The auth service's settings: the runtime addresses plus its own ``PLAYBALL_AUTH_*``."""

import os
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import ClassVar

from playball_core.local_stack import KAFKA_ADMIN, POSTGRES_AUTH
from playball_events.settings import DatabaseUrl, RuntimeSettings, with_database
from pydantic import Field, field_validator

DATABASE_NAME = "playball_auth"
DEFAULT_PORT = 18180
SIGNING_KEYS_DIRECTORY = "auth-signing-keys"
MAX_TOKEN_TTL = 86400  # also how long `keys rotate` keeps a retired key's files


def default_signing_keys_path() -> Path:
    """Where the development signing keys are generated: the user's data dir."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "playball" / SIGNING_KEYS_DIRECTORY


def trusted_networks(value: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """``10.0.0.1, 10.1.0.0/16`` (comma-separated, not JSON: what an operator writes in an
    env file) as networks; ValueError for a bad one (host bits set included: a typo)."""
    return tuple(ip_network(part.strip()) for part in value.split(",") if part.strip())


class AuthSettings(RuntimeSettings):
    local_credentials: ClassVar[tuple[str, ...]] = (KAFKA_ADMIN, POSTGRES_AUTH)

    auth_database_url: DatabaseUrl | None = Field(
        default=None,
        description="SQLAlchemy URL of the auth database (default: database playball_auth "
        "on the server of DATABASE_URL); sqlite:///path works too",
    )
    auth_port: int = Field(default=DEFAULT_PORT, ge=1, le=65535, description="API port")
    auth_issuer: str | None = Field(
        default=None,
        min_length=1,
        description="the tokens' iss claim (default: the API's base URL)",
    )
    auth_signing_keys: Path | None = Field(
        default=None,
        description="directory (0700) of the RSA private keys signing tokens, one "
        "<kid>.pem (0600) each (default: created on first run in the user's data dir, "
        "for development)",
    )
    # short, because a groups token cannot be revoked: it is the longest a deleted user
    # or a stolen token keeps working at the groups service
    auth_token_ttl: int = Field(
        default=300, ge=1, le=MAX_TOKEN_TTL, description="access token lifetime, seconds"
    )
    # longer than a verifier's JWKS cache (groups: 300 s), so every verifier has fetched
    # a rotated key before the first token signed with it reaches them
    auth_key_publish_delay: int = Field(
        default=330,
        ge=0,
        le=MAX_TOKEN_TTL,
        description="seconds a key added by `keys rotate` is published before it signs",
    )
    # argon2id's cost, to fit the hardware (OWASP's password storage cheat sheet): the
    # defaults are RFC 9106's second profile; the floors are OWASP's minimum configuration
    auth_password_memory_kib: int = Field(
        default=65536, ge=19456, le=4194304, description="argon2id memory, KiB"
    )
    auth_password_time_cost: int = Field(
        default=3, ge=2, le=64, description="argon2id passes over the memory"
    )
    auth_password_parallelism: int = Field(
        default=4, ge=1, le=64, description="argon2id lanes (threads)"
    )
    auth_max_body: int = Field(
        default=65_536,  # the service kit's DEFAULT_MAX_BODY (not imported: it loads FastAPI)
        ge=1024,
        le=16_777_216,
        description="largest request body the API reads, bytes; above it the answer is 413",
    )
    # login throttling (playball_auth.domain.throttle), shared by the API processes
    auth_throttle_account_failures: int = Field(
        default=5, ge=1, le=1000, description="consecutive failed logins that lock an account"
    )
    auth_throttle_account_window_s: int = Field(
        default=900,
        ge=1,
        le=86400,
        description="seconds within which a failed login continues the account's run",
    )
    auth_throttle_address_failures_per_min: int = Field(
        default=20, ge=1, le=100000, description="failed logins a minute from one address"
    )
    auth_trusted_proxies: str = Field(
        default="",
        description="comma-separated addresses or CIDR networks of the reverse proxies "
        "whose X-Forwarded-For names the client (default: none, the socket peer is the "
        "client)",
    )
    auth_hash_concurrency: int | None = Field(
        default=None,
        ge=1,
        le=4096,
        description="password hashes at once; beyond, 503 busy (default: 2 x the CPUs "
        "available to the process)",
    )
    auth_account_threads: int | None = Field(
        default=None,
        ge=1,
        le=1024,
        description="threads running /users/me's use cases; beyond, requests queue "
        "(default: 2 x the CPUs available to the process)",
    )
    auth_refresh_ttl: int = Field(
        default=2592000, ge=60, le=31536000, description="refresh token lifetime, seconds"
    )

    @field_validator("auth_trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        trusted_networks(value)  # a bad address is reported by the variable's name
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return trusted_networks(self.auth_trusted_proxies)

    @property
    def effective_database_url(self) -> str:
        return self.auth_database_url or with_database(self.database_url, DATABASE_NAME)

    def issuer_for(self, host: str, port: int, *, tls: bool = False) -> str:
        """The configured issuer, or the base URL of an API served on ``host:port``
        (``https`` when ``tls``)."""
        return self.auth_issuer or f"{'https' if tls else 'http'}://{host}:{port}"
