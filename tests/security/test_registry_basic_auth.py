"""The registry client through an https proxy that demands basic auth, in front of the
stack's registry (which has no authentication of its own): with the settings' credentials
and CA it works; without them, or with a wrong password, the refusal is fatal and names
PLAYBALL_SCHEMA_REGISTRY_BASIC_AUTH, never the password."""

import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playball_core.credentials import raise_on_refusal
from playball_core.registry import (
    RegistryClient,
    RegistryCredentialsRefusedError,
    RegistryUnreachableError,
)
from playball_events.consumer.transient import is_transient_decode_error
from playball_events.settings import RuntimeSettings
from support.basic_auth_proxy import BasicAuthProxy, basic_auth_proxy
from support.paths import REPO_ROOT

USER = "playball-registry-client"
PASSWORD = secrets.token_urlsafe(18)
SCHEMA = {"type": "record", "name": "Probe", "namespace": "t.auth", "fields": []}


@pytest.fixture(scope="module")
def proxy(registry_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BasicAuthProxy]:
    directory = tmp_path_factory.mktemp("registry-proxy")
    with basic_auth_proxy(registry_url, USER, PASSWORD, directory) as running:
        yield running


@pytest.fixture(autouse=True)
def refusals_raise() -> None:
    raise_on_refusal()


def client_from_settings(proxy: BasicAuthProxy, basic_auth: str | None) -> RegistryClient:
    """The client a service builds from its PLAYBALL_SCHEMA_REGISTRY_* settings."""
    fields: dict[str, object] = {
        "schema_registry_url": proxy.url,
        "schema_registry_ca_location": proxy.ca_file,
    }
    if basic_auth is not None:
        fields["schema_registry_basic_auth"] = basic_auth
    return RuntimeSettings.model_validate(fields).registry_client()


def test_with_the_configured_credentials_and_ca_the_registry_is_used_through_the_proxy(
    proxy: BasicAuthProxy,
) -> None:
    subject = f"t{uuid.uuid4().hex[:12]}-value"
    with client_from_settings(proxy, f"{USER}:{PASSWORD}") as client:
        schema_id = client.register(subject, json.dumps(SCHEMA))
        assert client.versions(subject) == [1]
        assert json.loads(client.schema_by_id(schema_id))["name"] == "Probe"


@pytest.mark.parametrize("basic_auth", [None, f"{USER}:wrong-{PASSWORD}"], ids=["none", "wrong"])
def test_a_refusal_names_the_setting_never_the_password(
    proxy: BasicAuthProxy, basic_auth: str | None
) -> None:
    refused_before = len(proxy.refused)
    with (
        client_from_settings(proxy, basic_auth) as client,
        pytest.raises(RegistryCredentialsRefusedError) as refused,
    ):
        client.subjects()
    message = str(refused.value)
    assert "PLAYBALL_SCHEMA_REGISTRY_BASIC_AUTH" in message
    assert "HTTP 401" in message
    assert PASSWORD not in message
    assert len(proxy.refused) > refused_before  # the proxy said no, not something else
    # a consumer decoding with such a client would retry, never park the message as poison
    assert is_transient_decode_error(refused.value)


def test_an_https_registry_whose_ca_is_not_configured_is_not_trusted(
    proxy: BasicAuthProxy,
) -> None:
    with (
        RegistryClient(proxy.url, basic_auth=(USER, PASSWORD)) as client,
        pytest.raises(RegistryUnreachableError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.subjects()


def test_the_gate_exits_3_on_a_wrong_registry_password_naming_the_setting(
    proxy: BasicAuthProxy, tmp_path: Path
) -> None:
    wrong = f"wrong-{secrets.token_urlsafe(12)}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLAYBALL_")},
        "PLAYBALL_SCHEMA_REGISTRY_BASIC_AUTH": f"{USER}:{wrong}",
        "PLAYBALL_SCHEMA_REGISTRY_CA_LOCATION": str(proxy.ca_file),
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "playball_cli", "schemas", "status", "--registry-url", proxy.url],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stderr[-2000:]
    assert time.monotonic() - started < 10
    assert "PLAYBALL_SCHEMA_REGISTRY_BASIC_AUTH" in result.stderr
    assert wrong not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
