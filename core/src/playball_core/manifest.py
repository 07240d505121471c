"""The contracts manifest (``schemas/manifest.toml``): schema file -> topic, subject, level.

It is the one place that names topics and subjects; the gate, the registry workflow and
codegen read it through :func:`load_manifest`, and codegen turns it into the typed
``topics`` module the services import (so no service spells a topic or subject).

Commands find it with :func:`find_schema_dir`: from ``--schemas`` when given, else by
walking up from the current directory to the repository root, so an installed tool
works on any checkout.
"""

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from playball_core.avro.jsonpos import parse_json
from playball_core.avro.names import schema_full_name

MANIFEST_NAME = "manifest.toml"
SCHEMA_DIR_NAME = "schemas"


class CompatibilityLevel(StrEnum):
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"


class ManifestError(ValueError):
    """The manifest is missing, malformed, or names something that does not exist."""


@dataclass(frozen=True, slots=True)
class SchemaEntry:
    file: Path  # absolute path of the .avsc
    topic: str
    subject: str
    compatibility: CompatibilityLevel

    record_full_name: str  # the schema's full Avro name, read from the file


@dataclass(frozen=True, slots=True)
class CodegenTarget:
    out: Path  # directory on sys.path that receives the package
    package: str  # dotted package name


@dataclass(frozen=True, slots=True)
class Manifest:
    path: Path
    schemas: tuple[SchemaEntry, ...]
    codegen: CodegenTarget | None
    # The runtime-owned section ([[runtime.schema]], [runtime.codegen]): records the shared
    # runtime publishes about itself (reader records), gated like the contracts but
    # generated into the runtime package and carrying no service's events.
    runtime: tuple[SchemaEntry, ...] = ()
    runtime_codegen: CodegenTarget | None = None

    @property
    def gated(self) -> tuple[SchemaEntry, ...]:
        """Every subject the gate checks and the registry workflow registers."""
        return self.schemas + self.runtime

    @property
    def schema_dir(self) -> Path:
        return self.path.parent


def topic_record_subject(topic: str, record_full_name: str) -> str:
    """Subject under Confluent's TopicRecordNameStrategy, as the serializers use it."""
    return f"{topic}-{record_full_name}"


def dead_letter_topic(topic: str) -> str:
    """The topic a consumer of ``topic`` parks its poison messages on."""
    return f"{topic}.dlq"


def _require_str(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        msg = f"{where}: '{key}' must be a non-empty string"
        raise ManifestError(msg)
    return value


def load_manifest(path: Path) -> Manifest:
    """Read and validate a manifest; ``path`` is the file or the directory holding it."""
    if path.is_dir():
        path = path / MANIFEST_NAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        msg = f"{path}: manifest not found"
        raise ManifestError(msg) from exc
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: invalid TOML: {exc}"
        raise ManifestError(msg) from exc

    seen_subjects: set[str] = set()
    entries = _entries(path, data.get("schema", []), "[[schema]]", seen_subjects)
    if not entries:
        msg = f"{path}: no [[schema]] entries"
        raise ManifestError(msg)
    runtime_table = data.get("runtime", {})
    runtime = _entries(path, runtime_table.get("schema", []), "[[runtime.schema]]", seen_subjects)
    return Manifest(
        path=path.resolve(),
        schemas=entries,
        codegen=_codegen(path, data.get("codegen"), "[codegen]"),
        runtime=runtime,
        runtime_codegen=_codegen(path, runtime_table.get("codegen"), "[runtime.codegen]"),
    )


def _codegen(path: Path, table: dict[str, Any] | None, name: str) -> CodegenTarget | None:
    if table is None:
        return None
    return CodegenTarget(
        out=(path.parent / _require_str(table, "out", f"{path}: {name}")).resolve(),
        package=_require_str(table, "package", f"{path}: {name}"),
    )


def _entries(
    path: Path, tables: list[dict[str, Any]], kind: str, seen_subjects: set[str]
) -> tuple[SchemaEntry, ...]:
    entries: list[SchemaEntry] = []
    for index, table in enumerate(tables):
        where = f"{path}: {kind} #{index + 1}"
        file = path.parent / _require_str(table, "file", where)
        if not file.is_file():
            msg = f"{where}: schema file {file.name!r} does not exist"
            raise ManifestError(msg)
        subject = _require_str(table, "subject", where)
        if subject in seen_subjects:
            msg = f"{where}: subject {subject!r} is listed twice"
            raise ManifestError(msg)
        seen_subjects.add(subject)
        level_name = _require_str(table, "compatibility", where)
        try:
            level = CompatibilityLevel(level_name)
        except ValueError as exc:
            allowed = ", ".join(level.value for level in CompatibilityLevel)
            msg = f"{where}: unknown compatibility {level_name!r} (allowed: {allowed})"
            raise ManifestError(msg) from exc
        topic = _require_str(table, "topic", where)
        record = _record_full_name(file, where)
        expected = topic_record_subject(topic, record)
        if subject != expected:
            msg = (
                f"{where}: subject {subject!r} does not follow the TopicRecordNameStrategy "
                f"the serializers use; for topic {topic!r} and record {record!r} it is "
                f"{expected!r}"
            )
            raise ManifestError(msg)
        entries.append(
            SchemaEntry(
                file=file.resolve(),
                topic=topic,
                subject=subject,
                compatibility=level,
                record_full_name=record,
            )
        )
    return tuple(entries)


def _record_full_name(file: Path, where: str) -> str:
    try:
        # The bounded reader: a hostile file must end in this error, not a RecursionError.
        schema = parse_json(file.read_text(encoding="utf-8")).value
        if not isinstance(schema, dict):
            msg = "not a JSON object"
            raise TypeError(msg)
        return schema_full_name(schema)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        msg = f"{where}: {file.name} is not a named Avro schema: {exc}"
        raise ManifestError(msg) from exc


def find_schema_dir(start: Path | None = None) -> Path:
    """``schemas/`` holding a manifest, from ``start`` (default: cwd) up to the repo root.

    The walk stops at the first directory holding ``.git``, so a manifest outside the
    checkout is never picked up by accident.
    """
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / MANIFEST_NAME).is_file() and directory.name == SCHEMA_DIR_NAME:
            return directory
        if (directory / SCHEMA_DIR_NAME / MANIFEST_NAME).is_file():
            return directory / SCHEMA_DIR_NAME
        if (directory / ".git").exists():
            break
    msg = (
        f"no {SCHEMA_DIR_NAME}/{MANIFEST_NAME} in {here} or its parents up to the repository "
        "root; run the command inside a checkout or pass --schemas DIR"
    )
    raise ManifestError(msg)


def resolve_schema_dir(schemas: Path | None) -> Path:
    """The directory a ``--schemas`` option names, or the one found from the cwd."""
    return schemas if schemas is not None else find_schema_dir()
