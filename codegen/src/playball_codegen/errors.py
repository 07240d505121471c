"""Errors the generator reports: every one starts with ``file:line:col`` and says why.

The format is the shared parser's (:mod:`playball_core.avro.parser`), so codegen and the
gate refuse an invalid schema with the same message.
"""


class CodegenError(Exception):
    """Generation stopped; nothing was written."""


class SchemaError(CodegenError):
    """An input schema is invalid (bad JSON, unknown name, bad default, ...)."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}")


class NameClashError(SchemaError):
    """Two named types map to the same Python name."""
