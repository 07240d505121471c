"""Schema versions from files on disk (the working tree, or plain files given to ``compat``)."""

from pathlib import Path

from playball_core.avro.parser import parse_schema
from playball_core.avro.schema import SourceRef

from playball_schemagate.errors import GateInputError
from playball_schemagate.schema_version import SchemaVersion


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it (for CI annotations)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot read schema file: {exc}"
        raise GateInputError(msg) from exc


def load_file_version(path: Path, label: str | None = None) -> SchemaVersion:
    shown = display_path(path)
    document = parse_schema(read_text(path), SourceRef(label=shown, file=shown))
    return SchemaVersion(label=label or shown, document=document)
