"""The four service processes: how each is started, where it answers, what it reports."""

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from playball_core import local_stack as principals

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
    health_url: str  # answers 200 {"status": "ok", "instance": <its nonce>} when ready
    metric: str | None = None  # a gauge shown in `status` (consumer lag, outbox backlog)
    metric_label: str | None = None  # the key it is shown under in `status --json`
    # more gauges shown in `status`: (metric, key), e.g. whether the reader record is out
    more_metrics: tuple[tuple[str, str], ...] = ()
    ca: str | None = None  # the only CA an https health_url's certificate may chain to
    # whose credentials files it is handed (its Kafka principal, its database role)
    principals: tuple[str, ...] = ()

    @property
    def port(self) -> int:
        """The port its health URL is on: what a squatter would hold."""
        port = urlsplit(self.health_url).port
        if port is None:  # every spec here names its port
            msg = f"{self.health_url} names no port"
            raise ValueError(msg)
        return port


@dataclass(frozen=True, slots=True)
class AuthTls:
    """The auth API over https: its certificate and key, and the CA its clients trust."""

    certificate: Path
    key: Path
    ca: Path


def _base(port: int, *, tls: bool = False) -> str:
    return f"{'https' if tls else 'http'}://{HOST}:{port}"


@dataclass(frozen=True, slots=True)
class Ports:
    auth: int = AUTH_PORT
    groups: int = GROUPS_PORT
    relay_metrics: int = RELAY_METRICS_PORT
    consumer_metrics: int = CONSUMER_METRICS_PORT


def service_specs(ports: Ports = Ports(), tls: AuthTls | None = None) -> tuple[ServiceSpec, ...]:
    """The four services in start order: the APIs first, so a demo can begin soonest.
    With ``tls``, auth serves https with that certificate, and its health is checked
    against that CA only."""
    auth, groups = _base(ports.auth, tls=tls is not None), _base(ports.groups)
    relay, consumer = _base(ports.relay_metrics), _base(ports.consumer_metrics)
    auth_command: tuple[str, ...] = ("auth", "serve", "--host", HOST, "--port", str(ports.auth))
    if tls is not None:
        auth_command += ("--ssl-certfile", str(tls.certificate), "--ssl-keyfile", str(tls.key))
    return (
        ServiceSpec(
            name="auth-api",
            command=auth_command,
            address=auth,
            health_url=f"{auth}/healthz",
            ca=None if tls is None else str(tls.ca),
            principals=(principals.POSTGRES_AUTH,),
        ),
        ServiceSpec(
            name="auth-relay",
            command=("auth", "relay"),
            address=f"{relay}/metrics",
            health_url=f"{relay}/healthz",  # on the metrics server: the relay has no API
            metric="playball_outbox_backlog",
            metric_label="backlog",
            principals=(principals.KAFKA_RELAY, principals.POSTGRES_RELAY),
        ),
        ServiceSpec(
            name="groups-api",
            command=("groups", "serve", "--host", HOST, "--port", str(ports.groups)),
            address=groups,
            health_url=f"{groups}/healthz",
            principals=(principals.POSTGRES_GROUPS,),
        ),
        ServiceSpec(
            name="groups-consumer",
            command=("groups", "consume"),
            address=f"{consumer}/metrics",
            health_url=f"{consumer}/healthz",
            metric="playball_consumer_lag",
            metric_label="lag",
            # 0 while its reader record cannot be published (it keeps consuming, retrying)
            more_metrics=(
                ("playball_consumer_reader_record_published", "reader_record_published"),
            ),
            principals=(principals.KAFKA_CONSUMER, principals.POSTGRES_GROUPS),
        ),
    )


def service_environment(
    kafka_bootstrap: str,
    registry_url: str,
    database_url: str | None,
    ports: Ports = Ports(),
    tls: AuthTls | None = None,
) -> dict[str, str]:
    """The effective addresses every service process is handed. With ``tls``, groups
    fetches auth's JWKS over https and trusts only ``tls.ca`` for it. ``database_url``
    None: each process gets its role's URL from its credentials instead."""
    auth = _base(ports.auth, tls=tls is not None)
    env = {
        "PLAYBALL_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PLAYBALL_SCHEMA_REGISTRY_URL": registry_url,
        "PLAYBALL_AUTH_URL": auth,
        "PLAYBALL_AUTH_ISSUER": auth,
        "PLAYBALL_AUTH_PORT": str(ports.auth),
        "PLAYBALL_GROUPS_PORT": str(ports.groups),
        "PLAYBALL_RELAY_METRICS_PORT": str(ports.relay_metrics),
        "PLAYBALL_CONSUMER_METRICS_PORT": str(ports.consumer_metrics),
    }
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    if tls is not None:
        env["PLAYBALL_AUTH_CA_LOCATION"] = str(tls.ca)
    return env
