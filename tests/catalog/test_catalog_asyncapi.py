"""`playball catalog asyncapi`: the document's pinned fields, and the node validator.

The validator (scripts/asyncapi/validate.mjs, installed by `npm ci` in scripts/setup) is
run on the repository's own document, which it must accept, and on the same document
with `schemaIdLocation: body`, which it must refuse: the check can fail.
"""

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from playball_catalog.cli import app
from playball_core.exits import ExitCode
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = ROOT / "scripts" / "asyncapi" / "validate.mjs"
TOPIC = "playball.auth.user-events.v1"
AVRO = "application/vnd.apache.avro;version=1.9.0"

runner = CliRunner()


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("asyncapi") / "docs" / "asyncapi.yaml"
    result = runner.invoke(app, ["asyncapi", "--out", str(out), "--schemas", str(ROOT / "schemas")])
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return out, document


def test_one_channel_per_topic_and_one_message_per_record(
    written: tuple[Path, dict[str, Any]],
) -> None:
    out, document = written
    assert document["asyncapi"] == "3.0.0"
    assert {c["address"] for c in document["channels"].values()} == {TOPIC, "_playball.readers"}
    messages = document["components"]["messages"]
    assert set(messages) == {"UserRegistered", "UserUpdated", "UserDeleted", "ReaderRecord"}
    for name, message in messages.items():
        assert message["payload"]["schemaFormat"] == AVRO
        avsc = (out.parent / message["payload"]["schema"]["$ref"]).resolve()
        assert avsc.is_file() and avsc.name == f"{name}.avsc"
        kafka = message["bindings"]["kafka"]
        assert kafka["schemaIdLocation"] == "payload"
        assert kafka["schemaIdPayloadEncoding"] == "confluent"
        assert kafka["schemaLookupStrategy"] == "TopicRecordNameStrategy"
        assert tuple(int(p) for p in kafka["bindingVersion"].split(".")) >= (0, 4, 0)
    assert messages["UserUpdated"]["bindings"]["kafka"]["key"] == {
        "type": "string",
        "format": "uuid",
    }


def test_the_secured_server_and_who_sends_and_receives(
    written: tuple[Path, dict[str, Any]],
) -> None:
    _, document = written
    (server,) = document["servers"].values()
    assert server["protocol"] == "kafka-secure"
    assert server["bindings"]["kafka"]["schemaRegistryUrl"].endswith("/apis/ccompat/v7")
    assert server["bindings"]["kafka"]["schemaRegistryVendor"] == "confluent"
    schemes = document["components"]["securitySchemes"]
    assert [s["type"] for s in schemes.values()] == ["scramSha512"]
    on_topic = {
        (op["action"], op["x-playball-service"])
        for op in document["operations"].values()
        if op["channel"]["$ref"] == f"#/channels/{TOPIC}"
    }
    # the sender from the manifest's topic name, the receiver from schemas/readers.json
    assert on_topic == {("send", "auth"), ("receive", "groups-consumer")}


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the AsyncAPI validator needs Node 20")
    assert (VALIDATOR.parent / "node_modules").is_dir(), "run scripts/setup (npm ci)"
    return subprocess.run(
        [node, str(VALIDATOR), str(path)], capture_output=True, text=True, check=False, timeout=120
    )


def test_the_validator_accepts_the_document_and_refuses_a_body_schema_id(
    written: tuple[Path, dict[str, Any]],
) -> None:
    out, _ = written
    accepted = _validate(out)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "is valid" in accepted.stdout

    body = out.with_name("body.yaml")
    text = out.read_text(encoding="utf-8")
    assert "schemaIdLocation: payload" in text
    body.write_text(text.replace("schemaIdLocation: payload", "schemaIdLocation: body"), "utf-8")
    refused = _validate(body)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "schemaIdLocation" in refused.stdout
    assert "not valid AsyncAPI" in refused.stderr


def test_a_missing_readers_file_is_bad_input(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["asyncapi", "--out", str(tmp_path / "a.yaml"), "--readers-file", str(tmp_path / "x")],
    )
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "error: --readers-file" in result.output
