"""The secrets a stack generates at init, and the credentials files it hands out.

Every principal gets a random password once, when the home is created; the stack keeps
them in ``<home>/credentials/`` (0700, files 0600), one ``<principal>.env`` per principal
(layout and names in :mod:`playball_core.local_stack`). Kafka principals' files hold
the ``PLAYBALL_KAFKA_*`` variables of a client connecting as them; PostgreSQL roles'
files hold a ``DATABASE_URL`` naming the role (the admin's: ``PLAYBALL_POSTGRES_ADMIN_URL``).
Passwords are URL-safe base64: nothing in a URL, a JAAS line or the storage tool's
``--add-scram`` syntax needs escaping.

A home with data but no credentials was made by an unsecured stack: it is refused, never
upgraded in place (its Kafka has no SCRAM users, its PostgreSQL trusts everyone).
"""

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from playball_core import local_stack as names
from playball_core.exits import ConfigurationError

from playball_stack.components.kafka_sasl_ssl import SCRAM_MECHANISM
from playball_stack.errors import StackError

PASSWORDS_FILE = ".passwords"  # every principal's password, for the stack itself
_KAFKA = (*names.KAFKA_CLIENT_PRINCIPALS, names.KAFKA_BROKER, names.KAFKA_CONTROLLER)
_POSTGRES = (
    names.POSTGRES_ADMIN,
    names.POSTGRES_AUTH,
    names.POSTGRES_GROUPS,
    names.POSTGRES_REGISTRY,
    names.POSTGRES_RELAY,
)
# the database each role's URL names (the relay reads the auth database's outbox)
DATABASE_OF = {
    names.POSTGRES_ADMIN: "playball",
    names.POSTGRES_AUTH: "playball_auth",
    names.POSTGRES_GROUPS: "playball_groups",
    names.POSTGRES_REGISTRY: "playball_registry",
    names.POSTGRES_RELAY: "playball_auth",
}


class UnsecuredHomeError(StackError, ConfigurationError):
    """The home holds data of a stack made before it was secured (exit 2)."""


@dataclass(frozen=True, slots=True)
class StackCredentials:
    """Every principal's password; left out of reprs."""

    passwords: dict[str, str] = field(repr=False)

    def password(self, principal: str) -> str:
        return self.passwords[principal]

    def secrets(self) -> list[str]:
        return list(self.passwords.values())


def _write_private(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        os.fchmod(descriptor, 0o600)
        stream.write(text)
    temporary.replace(path)


def load_credentials(home: Path) -> StackCredentials | None:
    """The home's credentials, None when it has none (not initialised, or unsecured)."""
    path = names.credentials_directory(home) / PASSWORDS_FILE
    try:
        variables = names.parse_credentials(path.read_text())
    except (FileNotFoundError, NotADirectoryError):
        return None
    if set(variables) != {*_KAFKA, *_POSTGRES}:
        msg = f"{path} is incomplete or damaged; `playball stack reset --yes` recreates the stack"
        raise StackError(msg)
    return StackCredentials(variables)


def has_unsecured_data(home: Path) -> bool:
    """Data made by a stack without credentials (an older, unsecured stack)."""
    if (names.credentials_directory(home) / PASSWORDS_FILE).is_file():
        return False
    return (home / "kafka" / "cluster.id").is_file() or (
        home / "postgres" / "data" / "PG_VERSION"
    ).is_file()


def ensure_credentials(
    home: Path, kafka_bootstrap: str, postgres_port: int | None
) -> StackCredentials:
    """The home's credentials, generated on first use, and its files written anew (their
    addresses follow the settings); refuses an unsecured home."""
    if has_unsecured_data(home):
        msg = (
            f"{home} holds an unsecured stack made by an older version (plaintext Kafka, "
            "PostgreSQL trusting everyone); it cannot be secured in place: "
            "`playball stack reset --yes` deletes it and the next `up` makes a secured one"
        )
        raise UnsecuredHomeError(msg)
    directory = names.credentials_directory(home)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    credentials = load_credentials(home)
    if credentials is None:
        credentials = StackCredentials(
            {name: secrets.token_urlsafe(24) for name in (*_KAFKA, *_POSTGRES)}
        )
        _write_private(
            directory / PASSWORDS_FILE,
            "".join(f"{name}={value}\n" for name, value in credentials.passwords.items()),
        )
    for principal in names.KAFKA_CLIENT_PRINCIPALS:
        _write_private(
            names.credentials_file(home, principal),
            _lines(kafka_variables(home, credentials, principal, kafka_bootstrap)),
        )
    if postgres_port is not None:
        for role in _POSTGRES:
            _write_private(
                names.credentials_file(home, role),
                _lines(postgres_variables(credentials, role, postgres_port)),
            )
    return credentials


def kafka_variables(
    home: Path, credentials: StackCredentials, principal: str, bootstrap: str
) -> dict[str, str]:
    """The ``PLAYBALL_KAFKA_*`` variables of a client connecting as ``principal``."""
    from playball_stack.tls import ca_files  # noqa: PLC0415 - cryptography, for `up` only

    return {
        "PLAYBALL_KAFKA_BOOTSTRAP": bootstrap,
        "PLAYBALL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "PLAYBALL_KAFKA_SASL_MECHANISM": SCRAM_MECHANISM,
        "PLAYBALL_KAFKA_SASL_USERNAME": principal,
        "PLAYBALL_KAFKA_SASL_PASSWORD": credentials.password(principal),
        "PLAYBALL_KAFKA_SSL_CA_LOCATION": str(ca_files(home).certificate),
    }


def postgres_url(credentials: StackCredentials, role: str, port: int) -> str:
    """A SQLAlchemy URL connecting as ``role`` to its database on the stack's PostgreSQL."""
    return (
        f"postgresql+psycopg://{role}:{credentials.password(role)}@127.0.0.1:{port}/"
        f"{DATABASE_OF[role]}"
    )


def postgres_variables(credentials: StackCredentials, role: str, port: int) -> dict[str, str]:
    url = postgres_url(credentials, role, port)
    if role == names.POSTGRES_ADMIN:
        return {names.POSTGRES_ADMIN_URL_VARIABLE: url}
    return {"DATABASE_URL": url}


def _lines(variables: dict[str, str]) -> str:
    return "".join(f"{name}={value}\n" for name, value in variables.items())
