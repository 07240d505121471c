"""The compatibility matrix of a subject's versions, by the gate's own engine.

Each cell answers one question for an ordered pair: can the reader version decode what the
writer version wrote? The answer is :func:`playball_schemagate.compat.check_reader_writer`,
the Java-parity checker `schemas check` runs, so a cell says exactly what the gate would.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from playball_schemagate.compat import check_reader_writer
from playball_schemagate.schema_version import SchemaVersion


@dataclass(frozen=True, slots=True)
class Cell:
    reader: str  # version label
    writer: str
    compatible: bool
    first_finding: str = ""  # "READER_FIELD_MISSING_DEFAULT at fields[x]: ..." when not
    first_rule: str = ""  # its rule alone: "READER_FIELD_MISSING_DEFAULT"

    @property
    def same(self) -> bool:
        return self.reader == self.writer


@dataclass(frozen=True, slots=True)
class Matrix:
    labels: tuple[str, ...]  # versions, oldest first: rows are readers, columns writers
    rows: tuple[tuple[Cell, ...], ...]

    def cell(self, reader: str, writer: str) -> Cell:
        return self.rows[self.labels.index(reader)][self.labels.index(writer)]


def compatibility_matrix(versions: Sequence[SchemaVersion]) -> Matrix:
    rows = []
    for reader in versions:
        row = []
        for writer in versions:
            if reader is writer:
                row.append(Cell(reader.label, writer.label, compatible=True))
                continue
            result = check_reader_writer(reader.document.root, writer.document.root)
            if result.compatible:
                row.append(Cell(reader.label, writer.label, compatible=True))
                continue
            issue = result.incompatibilities[0]
            first = f"{issue.rule.value} at {issue.path}: {issue.message}"
            row.append(Cell(reader.label, writer.label, False, first, issue.rule.value))
        rows.append(tuple(row))
    return Matrix(tuple(v.label for v in versions), tuple(rows))
