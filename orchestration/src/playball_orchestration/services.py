"""The four service processes: how each is started, where it answers, what it reports."""

from dataclasses import dataclass

AUTH_PORT = 18180
GROUPS_PORT = 18280
RELAY_METRICS_PORT = 18181
CONSUMER_METRICS_PORT = 18281
HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str  # as `playball status --json` names it
    command: tuple[str, ...]  # the `playball` words that run it
    address: str  # an API's base URL, or a metrics URL
    health_url: str  # answers 200 when the process is ready
    metric: str | None = None  # a gauge shown in `status` (consumer lag, outbox backlog)
    metric_label: str | None = None  # the key it is shown under in `status --json`


def _base(port: int) -> str:
    return f"http://{HOST}:{port}"


AUTH_API = ServiceSpec(
    name="auth-api",
    command=("auth", "serve", "--host", HOST, "--port", str(AUTH_PORT)),
    address=_base(AUTH_PORT),
    health_url=f"{_base(AUTH_PORT)}/healthz",
)
AUTH_RELAY = ServiceSpec(
    name="auth-relay",
    command=("auth", "relay"),
    address=f"{_base(RELAY_METRICS_PORT)}/metrics",
    health_url=f"{_base(RELAY_METRICS_PORT)}/metrics",
    metric="playball_outbox_backlog",
    metric_label="backlog",
)
GROUPS_API = ServiceSpec(
    name="groups-api",
    command=("groups", "serve", "--host", HOST, "--port", str(GROUPS_PORT)),
    address=_base(GROUPS_PORT),
    health_url=f"{_base(GROUPS_PORT)}/healthz",
)
GROUPS_CONSUMER = ServiceSpec(
    name="groups-consumer",
    command=("groups", "consume"),
    address=f"{_base(CONSUMER_METRICS_PORT)}/metrics",
    health_url=f"{_base(CONSUMER_METRICS_PORT)}/metrics",
    metric="playball_consumer_lag",
    metric_label="lag",
)

# start order: the APIs first (the relay and consumer need nothing from them, but a demo
# needs the APIs soonest), each waited for before the next
SERVICES: tuple[ServiceSpec, ...] = (AUTH_API, AUTH_RELAY, GROUPS_API, GROUPS_CONSUMER)


def service_environment(
    kafka_bootstrap: str, registry_url: str, database_url: str
) -> dict[str, str]:
    """The effective addresses every service process is handed."""
    return {
        "PLAYBALL_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PLAYBALL_SCHEMA_REGISTRY_URL": registry_url,
        "DATABASE_URL": database_url,
        "PLAYBALL_AUTH_URL": AUTH_API.address,
        "PLAYBALL_AUTH_ISSUER": AUTH_API.address,
        "PLAYBALL_AUTH_PORT": str(AUTH_PORT),
        "PLAYBALL_GROUPS_PORT": str(GROUPS_PORT),
        "PLAYBALL_RELAY_METRICS_PORT": str(RELAY_METRICS_PORT),
        "PLAYBALL_CONSUMER_METRICS_PORT": str(CONSUMER_METRICS_PORT),
    }
