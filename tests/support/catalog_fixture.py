"""Generated git histories of schemas for the catalog's tests and its benchmark.

``history_repo`` makes a repository with N subjects of M committed versions each, every
version adding an optional field, the way a contract grows (scripts/bench_catalog.py).
``catalog_repo`` makes a small one with breaks both ways, PII tags and a readers snapshot.
"""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

GIT_ENV = {
    "GIT_AUTHOR_NAME": "catalog",
    "GIT_AUTHOR_EMAIL": "catalog@example.org",
    "GIT_COMMITTER_NAME": "catalog",
    "GIT_COMMITTER_EMAIL": "catalog@example.org",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        check=True,
    )
    return done.stdout


def record(name: str, namespace: str, extra_fields: int) -> dict[str, Any]:
    fields: list[dict[str, Any]] = [
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}, "doc": "the id"},
    ]
    fields += [
        {"name": f"f{i}", "type": ["null", "string"], "default": None, "doc": f"field {i}"}
        for i in range(extra_fields)
    ]
    return {"type": "record", "name": name, "namespace": namespace, "doc": name, "fields": fields}


def history_repo(root: Path, subjects: int, versions: int) -> Path:
    """A repository with ``subjects`` x ``versions`` committed schemas; its schema dir."""
    schemas = root / "schemas"
    schemas.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    names = [f"Thing{i}" for i in range(subjects)]
    manifest = "".join(
        f'[[schema]]\nfile = "{name}.avsc"\ntopic = "bench.things{i}.v1"\n'
        f'subject = "bench.things{i}.v1-bench.v1.{name}"\ncompatibility = "FULL_TRANSITIVE"\n\n'
        for i, name in enumerate(names)
    )
    (schemas / "manifest.toml").write_text(manifest, encoding="utf-8")
    for version in range(versions):
        for name in names:
            text = json.dumps(record(name, "bench.v1", version), indent=2)
            (schemas / f"{name}.avsc").write_text(text + "\n", encoding="utf-8")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"version {version + 1}")
    return schemas


ID = {"name": "id", "type": "string", "confluent:tags": ["NOT_PII"], "doc": "id"}
EMAIL = {"name": "email", "type": "string", "confluent:tags": ["PII"], "doc": "contact"}
NOTE = {"name": "note", "type": "string", "confluent:tags": ["NOT_PII"], "doc": "a note"}
READER_INSTANCE = "11111111-1111-4111-8111-111111111111"


def _status(*symbols: str) -> dict[str, Any]:
    enum = {"type": "enum", "name": "Status", "symbols": list(symbols), "doc": "s"}
    return {"name": "status", "type": enum, "doc": "status"}


def _order(*fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "record",
        "name": "Order",
        "namespace": "test.orders.v1",
        "doc": "An order.",
        "fields": list(fields),
    }


ORDER_VERSIONS = (
    _order(ID, EMAIL, NOTE, _status("A", "B")),
    _order(ID, EMAIL, NOTE, _status("A", "B", "C")),  # v1 readers cannot read C
    _order(ID, EMAIL, _status("A", "B", "C")),  # v2 readers need `note`: no default
)
CUSTOMER = {"type": "record", "name": "Customer", "namespace": "test.customers.v1", "fields": [ID]}


def catalog_repo(root: Path, *, with_readers: bool = True) -> tuple[Path, list[str]]:
    """Order (3 versions, BACKWARD) and Customer (1); the schema dir and Order's commits."""
    repo = root / "repo"
    schemas = repo / "schemas"
    schemas.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (schemas / "manifest.toml").write_text(
        '[[schema]]\nfile = "Order.avsc"\ntopic = "test.orders.v1"\n'
        'subject = "test.orders.v1-test.orders.v1.Order"\ncompatibility = "BACKWARD"\n\n'
        '[[schema]]\nfile = "Customer.avsc"\ntopic = "test.customers.v1"\n'
        'subject = "test.customers.v1-test.customers.v1.Customer"\ncompatibility = "FULL"\n',
        encoding="utf-8",
    )
    (schemas / "Customer.avsc").write_text(json.dumps(CUSTOMER), encoding="utf-8")
    commits = []
    for version in ORDER_VERSIONS:
        (schemas / "Order.avsc").write_text(json.dumps(version, indent=2), encoding="utf-8")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "order")
        commits.append(git(repo, "rev-parse", "HEAD").strip())
    if with_readers:
        (schemas / "readers.json").write_text(_snapshot(), encoding="utf-8")
    return schemas, commits


def _snapshot() -> str:
    reader = {
        "key": f"groups-consumer/playball-groups/test.orders.v1/{READER_INSTANCE}",
        "service": "groups-consumer",
        "version": "1.4.0",
        "git_sha": "abc123",
        "consumer_group": "playball-groups",
        "topic": "test.orders.v1",
        "instance_id": READER_INSTANCE,
        "host": "h1",
        "started_at": "2026-12-06T11:00:00+00:00",
        "last_seen": "2026-12-06T12:00:00+00:00",
        "stopped_at": None,
        "readers": [
            {
                "record_name": "test.orders.v1.Order",
                "fingerprint": "f",
                "schema": ORDER_VERSIONS[0],
            },
        ],
    }
    return json.dumps({"format": 1, "taken_at": "2026-12-06T12:00:00+00:00", "readers": [reader]})
