"""Every service's ``/healthz`` says which start answers: ``{"status": "ok", "instance":
<PLAYBALL_INSTANCE_NONCE>}``, and without a nonce (started by hand) no ``instance`` at
all. The two APIs in process (TestClient), the relay's and the consumer's metrics server
on a free loopback port; the real processes answer so in ``tests/e2e/test_flow.py``.
"""

import json
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher as Argon2
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playball_auth.adapters.key_ring import StaticKeyRing
from playball_auth.adapters.passwords_argon2 import Argon2PasswordHasher
from playball_auth.adapters.tokens_jwt import JwtAccessTokens
from playball_auth.entrypoints.api import create_app as create_auth_app
from playball_auth.service_layer.ports import AuthPorts
from playball_core.instance import INSTANCE_VARIABLE
from playball_events.consumer.metrics import ConsumerMetrics
from playball_events.metrics_http import serve_metrics_and_health
from playball_events.outbox.metrics import RelayMetrics
from playball_groups.adapters.jwks import JwksTokenVerifier
from playball_groups.entrypoints.api import create_app as create_groups_app
from prometheus_client import CollectorRegistry
from support.auth_backends import ISSUER, FakeBackend
from support.stack_env import free_port

NONCE = "a-nonce-of-this-start"


def auth_app(instance: str | None) -> FastAPI:
    backend = FakeBackend()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ports = AuthPorts(
        uow_factory=backend.uow_factory,
        passwords=Argon2PasswordHasher(Argon2(time_cost=1, memory_cost=1024, parallelism=1)),
        tokens=JwtAccessTokens(StaticKeyRing(key), issuer=ISSUER, ttl_seconds=900),
        check_ready=lambda: True,
        throttle=backend.throttle(),
    )
    return create_auth_app(ports, instance=instance)


def groups_app(instance: str | None, *, healthy: bool = True) -> FastAPI:
    def no_database() -> Any:
        raise AssertionError("/healthz must not open a unit of work")

    # never asked: /healthz takes no token
    verifier = JwksTokenVerifier("http://127.0.0.1:9/jwks", issuer="x", audience="y")
    return create_groups_app(no_database, verifier, health=lambda: healthy, instance=instance)


def healthz(app: FastAPI) -> tuple[int, dict[str, Any]]:
    with TestClient(app) as client:
        response = client.get("/healthz")
        return response.status_code, response.json()


def test_the_auth_api_echoes_its_nonce_and_leaves_it_out_without_one() -> None:
    assert healthz(auth_app(NONCE)) == (200, {"status": "ok", "instance": NONCE})
    assert healthz(auth_app(None)) == (200, {"status": "ok"})


def test_the_groups_api_echoes_its_nonce_and_leaves_it_out_without_one() -> None:
    assert healthz(groups_app(NONCE)) == (
        200,
        {"status": "ok", "database": "ok", "instance": NONCE},
    )
    assert healthz(groups_app(None)) == (200, {"status": "ok", "database": "ok"})
    down = {"status": "unavailable", "database": "unreachable"}
    assert healthz(groups_app(None, healthy=False)) == (503, down)


@pytest.mark.parametrize("app", [auth_app, groups_app], ids=["auth", "groups"])
def test_the_openapi_declares_instance_an_optional_string(app: Any) -> None:
    with TestClient(app(None)) as client:
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
    health = next(s for name, s in schemas.items() if name.startswith("Health"))
    assert health["properties"]["instance"]["type"] == "string"  # never null
    assert "instance" not in health.get("required", [])


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


@pytest.fixture
def registry() -> CollectorRegistry:
    """The relay's and the consumer's metrics, as each process registers its own."""
    registry = CollectorRegistry()
    RelayMetrics(registry)
    ConsumerMetrics(f"topic-{uuid.uuid4().hex[:6]}", registry=registry)
    return registry


@pytest.fixture
def served(registry: CollectorRegistry, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv(INSTANCE_VARIABLE, NONCE)
    port = free_port()
    server = serve_metrics_and_health(registry, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_relay_and_consumer_metrics_server_answers_healthz_and_metrics(
    served: str,
) -> None:
    status, body = _get(f"{served}/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok", "instance": NONCE})
    status, page = _get(f"{served}/metrics")
    assert status == 200
    assert b"playball_outbox_backlog" in page
    assert b"playball_consumer_lag" in page
