"""`playball catalog build` online, on the real stack: registered versions, the broker's
settings of the topic, and each consumer group's lag per partition.

One test (the suite's time budget): a fixture manifest whose subject has two registered
versions, its topic with two partitions, a consumer group committed on one of them, and
an empty readers topic of its own.
"""

import json
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition
from playball_catalog.cli import app
from playball_core.registry.client import RegistryClient
from playball_events.kafka_security import kafka_security_from_environment
from playball_events.readers.readers_kafka import ensure_readers_topic
from support.catalog_fixture import ORDER_VERSIONS
from support.catalog_html import broken_links, read_page
from support.kafka import create_topic, set_group_offsets
from typer.testing import CliRunner

pytestmark = pytest.mark.stack

runner = CliRunner()


def test_online_build_shows_registered_versions_settings_and_lag(
    kafka_bootstrap: str, registry_url: str, unique_name: str, tmp_path: Path
) -> None:
    topic, group = f"{unique_name}.orders.v1", f"{unique_name}-catalog"
    subject = f"{topic}-test.orders.v1.Order"
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "manifest.toml").write_text(
        f'[[schema]]\nfile = "Order.avsc"\ntopic = "{topic}"\nsubject = "{subject}"\n'
        'compatibility = "BACKWARD"\n',
        encoding="utf-8",
    )
    (schemas / "Order.avsc").write_text(json.dumps(ORDER_VERSIONS[1]), encoding="utf-8")
    with RegistryClient(registry_url) as registry:
        for version in ORDER_VERSIONS[:2]:
            registry.register(subject, json.dumps(version))
    create_topic(kafka_bootstrap, topic, partitions=2)
    set_group_offsets(kafka_bootstrap, group, [TopicPartition(topic, 1, 0)])
    readers_topic = f"{unique_name}.readers"
    assert ensure_readers_topic(
        kafka_bootstrap, readers_topic, security=kafka_security_from_environment()
    )

    out = tmp_path / "site"
    result = runner.invoke(
        app,
        ["build", "--out", str(out), "--schemas", str(schemas)],
        env={
            "PLAYBALL_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "PLAYBALL_SCHEMA_REGISTRY_URL": registry_url,
            "PLAYBALL_READERS_TOPIC": readers_topic,
        },
    )
    assert result.exit_code == 0, result.output
    page = read_page(out / "subjects" / f"{subject}.html")
    captions = [table.caption for table in page.tables]
    matrix = next(t for t in page.tables if t.caption.startswith("Reader version"))
    verdicts = {(c["data-reader"], c["data-writer"]): c["data-verdict"] for c in matrix.cells}
    # v2 added an enum symbol: v1's readers cannot read it, v2 reads v1
    assert verdicts[("v2", "v1")] == "compatible"
    assert verdicts[("v1", "v2")] == "incompatible"
    assert f"Settings of {topic}, as the broker reports them" in captions
    assert "partitions 2" in page.text
    assert "cleanup.policy" in page.text
    # the group committed on partition 1 only: one row, at offset 0 of an empty topic
    assert f"{group} 1 0 0 0" in page.text
    assert f"{group} 0" not in page.text
    assert "No reader has reported itself" in page.text
    assert broken_links(out) == []
