"""The auth service's settings: the runtime addresses plus its own ``PLAYBALL_AUTH_*``."""

import os
from pathlib import Path

from playball_events.settings import RuntimeSettings, with_database
from pydantic import Field

DATABASE_NAME = "playball_auth"
DEFAULT_PORT = 18180
AUDIENCE = "playball-groups"
SIGNING_KEY_FILE = "auth-signing-key.pem"


def default_signing_key_path() -> Path:
    """Where the development signing key is generated: the user's data dir."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "playball" / SIGNING_KEY_FILE


class AuthSettings(RuntimeSettings):
    auth_database_url: str | None = Field(
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
    auth_signing_key: Path | None = Field(
        default=None,
        description="PEM file of the RSA private key signing tokens (default: generated "
        "on first run in the user's data dir, for development)",
    )
    auth_token_ttl: int = Field(
        default=900, ge=1, le=86400, description="access token lifetime, seconds"
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

    @property
    def effective_database_url(self) -> str:
        return self.auth_database_url or with_database(self.database_url, DATABASE_NAME)

    def issuer_for(self, host: str, port: int) -> str:
        """The configured issuer, or the base URL of an API served on ``host:port``."""
        return self.auth_issuer or f"http://{host}:{port}"
