"""Pinned downloads: every file checked against its sha256, a mismatch deleted and named."""

import re
from pathlib import Path

import pytest
from playball_stack.artifacts import load_pins, sha256_of, verify_or_delete
from playball_stack.errors import (
    ChecksumError,
)

HEX64 = re.compile(r"[0-9a-f]{64}")


def test_verify_or_delete_keeps_a_matching_file(tmp_path: Path) -> None:
    good = tmp_path / "good.jar"
    good.write_bytes(b"content")
    verify_or_delete(good, sha256_of(good))
    assert good.read_bytes() == b"content"


def test_verify_or_delete_deletes_a_mismatch_and_names_both_hashes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jar"
    bad.write_bytes(b"tampered")
    actual = sha256_of(bad)
    pinned = "0" * 64

    with pytest.raises(ChecksumError) as refused:
        verify_or_delete(bad, pinned)

    assert not bad.exists()
    message = str(refused.value)
    assert actual in message
    assert pinned in message
    assert "bad.jar" in message


def test_every_pin_is_a_sha256_and_versions_agree() -> None:
    pins = load_pins()
    assert pins.kafka.jars, "no Kafka jar pinned"
    for name, digest in pins.kafka.jars.items():
        assert name.endswith(".jar"), name
        assert HEX64.fullmatch(digest), f"{name}: {digest!r}"
    assert HEX64.fullmatch(pins.registry.sha256)
    assert f"kafka_2.13-{pins.kafka.version}.jar" in pins.kafka.jars
    assert f":{pins.kafka.version}" in pins.kafka.coordinates[0]
    assert f":{pins.registry.version}:" in pins.registry.coordinates
    assert pins.registry.version in pins.registry.file
    assert pins.registry.java_min >= 17
