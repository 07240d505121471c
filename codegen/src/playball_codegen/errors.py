"""Errors the generator reports: every one names the file, the JSON path and the reason."""

from pathlib import Path


class CodegenError(Exception):
    """Generation stopped; nothing was written."""


class SchemaError(CodegenError):
    """An input schema is invalid (bad JSON, unknown name, bad default, ...)."""

    def __init__(self, file: Path | str, json_path: str, reason: str) -> None:
        self.file = str(file)
        self.json_path = json_path
        self.reason = reason
        super().__init__(f"{self.file}: {json_path}: {reason}")


class NameClashError(SchemaError):
    """Two named types map to the same full name or Python name."""
