"""Network bounds for the PostgreSQL connections of the services and the relay.

libpq by default waits for ever for a server that accepts no connection or stops
answering. A relay stuck there would hold its batch's leases and never back off and
reconnect; an API worker would hold its request (and a pool slot) until the kernel gives
up. These bound it: 10 s to connect, an idle connection probed after 30 s (dead after 3
probes 10 s apart), and sent data unacknowledged for 30 s fails the socket.
"""

from collections.abc import Mapping
from typing import Any

NETWORK_DEFAULTS: Mapping[str, int] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


def network_connect_args(url_query: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults the URL's query does not set itself: ``?connect_timeout=5`` wins."""
    return {key: value for key, value in NETWORK_DEFAULTS.items() if key not in url_query}
