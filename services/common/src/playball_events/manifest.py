"""The contracts manifest (``schemas/manifest.toml``): schema file -> topic, subject, level.

It is the one place that names subjects; the gate, the registry workflow, the codegen
check and the serializers all read it through :func:`load_manifest`.
"""

import json
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.toml"


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

    @property
    def record_full_name(self) -> str:
        schema = json.loads(self.file.read_text(encoding="utf-8"))
        namespace = schema.get("namespace")
        name: str = schema["name"]
        return name if "." in name or not namespace else f"{namespace}.{name}"


@dataclass(frozen=True, slots=True)
class CodegenTarget:
    out: Path  # directory on sys.path that receives the package
    package: str  # dotted package name


@dataclass(frozen=True, slots=True)
class Manifest:
    path: Path
    schemas: tuple[SchemaEntry, ...]
    codegen: CodegenTarget | None

    @property
    def schema_dir(self) -> Path:
        return self.path.parent


def topic_record_subject(topic: str, record_full_name: str) -> str:
    """Subject under Confluent's TopicRecordNameStrategy, as the serializers use it."""
    return f"{topic}-{record_full_name}"


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

    entries: list[SchemaEntry] = []
    seen_subjects: set[str] = set()
    for index, table in enumerate(data.get("schema", [])):
        where = f"{path}: [[schema]] #{index + 1}"
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
        entries.append(
            SchemaEntry(
                file=file.resolve(),
                topic=_require_str(table, "topic", where),
                subject=subject,
                compatibility=level,
            )
        )
    if not entries:
        msg = f"{path}: no [[schema]] entries"
        raise ManifestError(msg)

    codegen: CodegenTarget | None = None
    if "codegen" in data:
        table = data["codegen"]
        codegen = CodegenTarget(
            out=(path.parent / _require_str(table, "out", f"{path}: [codegen]")).resolve(),
            package=_require_str(table, "package", f"{path}: [codegen]"),
        )
    return Manifest(path=path.resolve(), schemas=tuple(entries), codegen=codegen)


def default_schema_dir() -> Path:
    """``schemas/`` of the checkout this package is installed from (editable installs)."""
    # services/common/src/playball_events/manifest.py -> repository root is 4 levels up
    return Path(__file__).resolve().parents[4] / "schemas"
