"""Reads a directory of ``.avsc`` files as text, in a stable order."""

from dataclasses import dataclass
from pathlib import Path

from playball_codegen.errors import CodegenError, SchemaError

SCHEMA_SUFFIX = ".avsc"


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path
    text: str

    @property
    def name(self) -> str:
        return self.path.name


def load_schema_dir(schema_dir: Path) -> list[SourceFile]:
    """Every ``*.avsc`` directly under ``schema_dir``, sorted by file name."""
    if not schema_dir.is_dir():
        msg = f"{schema_dir}: not a directory"
        raise CodegenError(msg)
    paths = sorted(schema_dir.glob(f"*{SCHEMA_SUFFIX}"), key=lambda p: p.name)
    if not paths:
        msg = f"{schema_dir}: no {SCHEMA_SUFFIX} files"
        raise CodegenError(msg)
    return [load_schema_file(path) for path in paths]


def load_schema_file(path: Path) -> SourceFile:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError(str(path), f"not UTF-8 text: {exc}") from exc
    return SourceFile(path=path, text=text)
