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


@dataclass(frozen=True, slots=True)
class Ports:
    auth: int = AUTH_PORT
    groups: int = GROUPS_PORT
    relay_metrics: int = RELAY_METRICS_PORT
    consumer_metrics: int = CONSUMER_METRICS_PORT


def service_specs(ports: Ports = Ports()) -> tuple[ServiceSpec, ...]:
    """The four services in start order: the APIs first, so a demo can begin soonest."""
    auth, groups = _base(ports.auth), _base(ports.groups)
    relay_metrics = f"{_base(ports.relay_metrics)}/metrics"
    consumer_metrics = f"{_base(ports.consumer_metrics)}/metrics"
    return (
        ServiceSpec(
            name="auth-api",
            command=("auth", "serve", "--host", HOST, "--port", str(ports.auth)),
            address=auth,
            health_url=f"{auth}/healthz",
        ),
        ServiceSpec(
            name="auth-relay",
            command=("auth", "relay"),
            address=relay_metrics,
            health_url=relay_metrics,
            metric="playball_outbox_backlog",
            metric_label="backlog",
        ),
        ServiceSpec(
            name="groups-api",
            command=("groups", "serve", "--host", HOST, "--port", str(ports.groups)),
            address=groups,
            health_url=f"{groups}/healthz",
        ),
        ServiceSpec(
            name="groups-consumer",
            command=("groups", "consume"),
            address=consumer_metrics,
            health_url=consumer_metrics,
            metric="playball_consumer_lag",
            metric_label="lag",
        ),
    )


SERVICES = service_specs()


def service_environment(
    kafka_bootstrap: str,
    registry_url: str,
    database_url: str,
    ports: Ports = Ports(),
) -> dict[str, str]:
    """The effective addresses every service process is handed."""
    auth = _base(ports.auth)
    return {
        "PLAYBALL_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PLAYBALL_SCHEMA_REGISTRY_URL": registry_url,
        "DATABASE_URL": database_url,
        "PLAYBALL_AUTH_URL": auth,
        "PLAYBALL_AUTH_ISSUER": auth,
        "PLAYBALL_AUTH_PORT": str(ports.auth),
        "PLAYBALL_GROUPS_PORT": str(ports.groups),
        "PLAYBALL_RELAY_METRICS_PORT": str(ports.relay_metrics),
        "PLAYBALL_CONSUMER_METRICS_PORT": str(ports.consumer_metrics),
    }
