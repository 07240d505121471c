"""What the local stack and the runtime agree on: its home, its principals, its credentials.

The stack generates one credentials file per principal at init,
``$PLAYBALL_HOME/credentials/<principal>.env`` (0600, ``NAME=value`` lines), holding the
variables a process needs to connect as that principal: the ``PLAYBALL_KAFKA_*`` ones of
a Kafka principal, the ``DATABASE_URL`` of a PostgreSQL role. ``playball up`` hands each
process the files of its own principals only; a command run by hand against the local
stack falls back to them (see :mod:`playball_events.settings`); ``playball stack env``
prints them for a shell. The names here are interfaces: ACLs, roles and documentation
use them.
"""

import os
from pathlib import Path

HOME_VARIABLE = "PLAYBALL_HOME"
CREDENTIALS_DIRECTORY = "credentials"

# Kafka principals (SCRAM-SHA-512 users, `User:<name>` to the authorizer)
KAFKA_ADMIN = "playball-admin"  # super user: topics, configs, ACLs, DLQ tooling, tests
KAFKA_RELAY = "auth-relay"  # writes the user-events topic
KAFKA_CONSUMER = "groups-consumer"  # reads it, writes its .dlq and the readers topic
KAFKA_BROKER = "playball-broker"  # inter-broker
KAFKA_CONTROLLER = "playball-controller"  # controller listener (PLAIN, KAFKA-15513)
KAFKA_CLIENT_PRINCIPALS = (KAFKA_ADMIN, KAFKA_RELAY, KAFKA_CONSUMER)

# PostgreSQL roles
POSTGRES_ADMIN = "playball"  # the stack's superuser: the stack and test helpers only
POSTGRES_AUTH = "playball_auth"  # owns the auth database
POSTGRES_GROUPS = "playball_groups"  # owns the groups database
POSTGRES_REGISTRY = "playball_registry"  # owns the registry's database
POSTGRES_RELAY = "playball_auth_relay"  # LOGIN REPLICATION; reads and updates the outbox
POSTGRES_ADMIN_URL_VARIABLE = "PLAYBALL_POSTGRES_ADMIN_URL"


def default_home() -> Path:
    """The stack's home when ``PLAYBALL_HOME`` is unset."""
    # PostgreSQL runs as the `postgres` user when we are root, and that user cannot
    # enter /root; a root-run stack therefore keeps its data under /var/lib.
    if os.geteuid() == 0:
        return Path("/var/lib/playball")
    return Path.home() / ".local" / "share" / "playball"


def stack_home() -> Path:
    """``PLAYBALL_HOME``, or the default home."""
    value = os.environ.get(HOME_VARIABLE)
    return Path(value) if value else default_home()


def credentials_directory(home: Path) -> Path:
    return home / CREDENTIALS_DIRECTORY


def credentials_file(home: Path, principal: str) -> Path:
    return credentials_directory(home) / f"{principal}.env"


def parse_credentials(text: str) -> dict[str, str]:
    """``NAME=value`` lines (blank lines and ``#`` comments skipped); values are literal."""
    variables: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, separator, value = stripped.partition("=")
        if separator and name:
            variables[name.strip()] = value
    return variables


def read_credentials(home: Path, principal: str) -> dict[str, str] | None:
    """A principal's variables from its file under ``home``; None when there is none."""
    try:
        return parse_credentials(credentials_file(home, principal).read_text())
    except (FileNotFoundError, NotADirectoryError):
        return None
