"""Intentional breaks: new major versions, declared and approved in ``breaking-changes.toml``.

A subject's history is never rewritten, so no declaration ever lets an incompatible
change into an existing subject. A break ships as a new major version: a new record
namespace, a new topic and so a new subject, next to the old one. The declaration names the
old subject, its successor, why, and who approved it; the gate requires one for every
manifest entry that shares its record name with another (the mark of a major version), so
a parallel version cannot appear without review.
"""

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playball_core.manifest import Manifest, SchemaEntry, topic_record_subject

from playball_schemagate.errors import GateInputError

BREAKING_CHANGES_NAME = "breaking-changes.toml"
_TRAILING_MAJOR = re.compile(r"(?:^|(?<=[.\-_]))v(\d+)$")


@dataclass(frozen=True, slots=True)
class MajorVersionDeclaration:
    subject: str  # the subject whose history stays as it is
    successor: str  # the new major version's subject
    reason: str
    approver: str


def load_declarations(schema_dir: Path) -> list[MajorVersionDeclaration]:
    """The ``[[break]]`` entries next to the manifest; none if the file does not exist."""
    path = schema_dir / BREAKING_CHANGES_NAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"{path}: cannot read: {exc}"
        raise GateInputError(msg) from exc
    declarations = []
    for index, table in enumerate(data.get("break", [])):
        where = f"{path}: [[break]] #{index + 1}"
        values = {key: _text(table, key, where) for key in ("subject", "successor", "reason")}
        declarations.append(
            MajorVersionDeclaration(approver=_text(table, "approver", where), **values)
        )
    return declarations


def _text(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        msg = f"{where}: '{key}' must be a non-empty string"
        raise GateInputError(msg)
    return value.strip()


def validate_declarations(
    declarations: list[MajorVersionDeclaration], manifest: Manifest, schema_dir: Path
) -> None:
    """Each successor exists in the manifest, with its own topic and record name."""
    by_subject = {entry.subject: entry for entry in manifest.schemas}
    for declaration in declarations:
        where = f"{schema_dir / BREAKING_CHANGES_NAME}: successor {declaration.successor!r}"
        successor = by_subject.get(declaration.successor)
        if successor is None:
            msg = f"{where} is not a subject of {manifest.path.name}"
            raise GateInputError(msg)
        old = by_subject.get(declaration.subject)
        if old is None:
            continue  # the old version may be retired from the manifest already
        if old.topic == successor.topic:
            msg = f"{where} shares topic {old.topic!r} with {declaration.subject!r}: a new "
            msg += "major version needs a new topic"
            raise GateInputError(msg)
        if old.record_full_name == successor.record_full_name:
            msg = f"{where} keeps record {old.record_full_name!r}: a new major version needs "
            msg += "a new namespace"
            raise GateInputError(msg)


def undeclared_major_versions(
    manifest: Manifest, declarations: list[MajorVersionDeclaration]
) -> dict[str, str]:
    """Subjects sharing a record name with another entry but named in no declaration."""
    declared = {d.subject for d in declarations} | {d.successor for d in declarations}
    simple_names: dict[str, list[SchemaEntry]] = {}
    for entry in manifest.schemas:
        simple_names.setdefault(entry.record_full_name.rpartition(".")[2], []).append(entry)
    undeclared: dict[str, str] = {}
    for name, entries in simple_names.items():
        if len(entries) < 2:
            continue
        for entry in entries:
            if entry.subject not in declared:
                others = ", ".join(e.subject for e in entries if e is not entry)
                undeclared[entry.subject] = (
                    f"record {name} is also published as {others}: a parallel major version "
                    f"must be declared in {BREAKING_CHANGES_NAME}"
                )
    return undeclared


def bump_major(text: str) -> str:
    """``playball.auth.v1`` -> ``playball.auth.v2``; no trailing ``vN`` -> append ``.v2``."""
    match = _TRAILING_MAJOR.search(text)
    if match is None:
        return f"{text}.v2"
    return f"{text[: match.start(1)]}{int(match.group(1)) + 1}"


def major_version_advice(entry: SchemaEntry) -> str:
    """How to ship an incompatible change to ``entry`` as a new major version."""
    full_name = entry.record_full_name
    namespace, _, name = full_name.rpartition(".")
    new_namespace = bump_major(namespace) if namespace else "v2"
    new_topic = bump_major(entry.topic)
    new_subject = topic_record_subject(new_topic, f"{new_namespace}.{name}")
    new_file = f"{entry.file.stem}.{new_namespace.rpartition('.')[2]}.avsc"
    return (
        f"{entry.subject} cannot take this change at {entry.compatibility.value}, and its "
        f"history is never rewritten. Ship it as a new major version: restore "
        f"{entry.file.name}; put the new schema in {new_file} with namespace "
        f"{new_namespace}; add a [[schema]] entry (file {new_file}, topic {new_topic}, "
        f"subject {new_subject}) to the manifest; add a [[break]] entry (subject = "
        f'"{entry.subject}", successor = "{new_subject}", reason, approver) to '
        f"{BREAKING_CHANGES_NAME}; producers then write both topics until consumers moved."
    )
