"""Checks of the addresses a setting names: a database URL, Kafka's bootstrap list, an
http(s) base URL. Each raises ValueError saying what is wanted, for a settings class to
report under the variable's name (exit 2) instead of a traceback at the first connection.
Standard library only: the stack's settings and the runtime's share them.
"""

from urllib.parse import SplitResult, urlsplit

WANTED_DATABASE_URL = (
    "not a PostgreSQL or SQLite URL; give postgresql+psycopg://USER:PASSWORD@HOST:PORT/"
    "DATABASE or sqlite:///PATH"
)


def _split(url: str) -> SplitResult | None:
    """``url``'s parts; None when it cannot be read: a bracket left open, a port that is
    no number or out of range (``urlsplit`` checks the port only when asked for it)."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return None
    return parts


def database_url_problem(url: str) -> str | None:
    """Why ``url`` is no SQLAlchemy URL of a PostgreSQL or SQLite database (None: it is
    one). Never quotes the URL: it may hold a password."""
    parts = _split(url)
    if parts is not None and parts.scheme.split("+", 1)[0] in ("postgresql", "sqlite"):
        return None
    return WANTED_DATABASE_URL


def holds_password(url: str) -> bool:
    """Whether ``url`` names a password (False for what is no URL at all)."""
    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False


def check_database_url(url: str) -> str:
    problem = database_url_problem(url)
    if problem is not None:
        raise ValueError(problem)
    return url


def check_bootstrap(servers: str) -> str:
    """``host:port`` items, comma-separated (librdkafka's ``[proto://]host[:port]``)."""
    for item in (part.strip() for part in servers.split(",")):
        parts = _split(f"//{item.split('://', 1)[-1]}")
        if parts is None or not parts.hostname or parts.path or parts.query:
            msg = f"{item!r} is not host:port; give e.g. 127.0.0.1:19092 (comma-separated)"
            raise ValueError(msg)
    return servers


def check_http_url(url: str) -> str:
    """An http(s) base URL with a host, and no credentials (they would show wherever the
    URL is named)."""
    parts = _split(url)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        msg = "not an http(s) URL with a host; give e.g. https://127.0.0.1:18180"
        raise ValueError(msg)
    if parts.username is not None or parts.password is not None:
        msg = "holds credentials: a base URL takes none"
        raise ValueError(msg)
    return url
