"""Can a reader schema decode every datum of a writer schema? Java Avro's answer, exactly.

This is a transcription of ``org.apache.avro.SchemaCompatibility`` (Avro 1.12), the
checker both Confluent Schema Registry and Apicurio run, so our verdicts are theirs:

- named types match on their unqualified name, or on a reader alias equal to the writer's
  full name (so a namespace-only change is compatible, as in Java >= 1.11.1);
- reader fields are found in the writer by name, then by the reader field's aliases;
- promotions: int -> long/float/double, long -> float/double, float -> double,
  string <-> bytes;
- a writer union needs every branch readable; a reader union needs one branch that reads
  the writer; enums need every writer symbol unless the reader enum has a default;
- pairs are memoized by object identity, and a pair met again while it is being checked
  counts as compatible: that is how Java ends the recursion of recursive types, and the
  order of traversal below is Java's so the outcome is the same.

Where we differ is only in what we report, never in the verdict: Java keeps one message
per failing union branch and reuses the location of the first occurrence of a memoized
pair; we report the incompatibilities inside the union branch that was meant to match,
and locate every occurrence (trails are kept relative to each pair and prefixed on return).
"""

from dataclasses import dataclass, replace

from playball_core.avro.jsonpos import Pointer
from playball_core.avro.schema import (
    PRIMITIVE_KINDS,
    ArrayType,
    AvroType,
    EnumType,
    Field,
    FixedType,
    Kind,
    MapType,
    NamedType,
    RecordType,
    UnionType,
)

from playball_schemagate.rules import Rule

# Reader kind -> writer kinds it can read besides its own (Avro's promotions).
PROMOTIONS: dict[Kind, frozenset[Kind]] = {
    Kind.LONG: frozenset({Kind.INT}),
    Kind.FLOAT: frozenset({Kind.INT, Kind.LONG}),
    Kind.DOUBLE: frozenset({Kind.INT, Kind.LONG, Kind.FLOAT}),
    Kind.BYTES: frozenset({Kind.STRING}),
    Kind.STRING: frozenset({Kind.BYTES}),
}


@dataclass(frozen=True, slots=True)
class Incompatibility:
    rule: Rule
    message: str
    trail: tuple[str, ...]  # path segments: "fields[email]", "type", "[1]", "items"...
    reader_pointer: Pointer  # the offending element in the reader's document
    writer_pointer: Pointer  # ... and in the writer's
    subject: str = ""  # the field name or symbols concerned, for hints

    @property
    def path(self) -> str:
        return render_path(self.trail)


def render_path(trail: tuple[str, ...]) -> str:
    text = ""
    for segment in trail:
        text += segment if segment.startswith("[") or not text else f".{segment}"
    return text or "(root)"


@dataclass(frozen=True, slots=True)
class Result:
    incompatibilities: tuple[Incompatibility, ...] = ()

    @property
    def compatible(self) -> bool:
        return not self.incompatibilities

    def merged(self, other: "Result") -> "Result":
        return Result(self.incompatibilities + other.incompatibilities)

    def prefixed(self, *segments: str) -> "Result":
        return Result(
            tuple(replace(i, trail=(*segments, *i.trail)) for i in self.incompatibilities)
        )


COMPATIBLE = Result()
_IN_PROGRESS = Result()  # a distinct object: compared by identity in the memo


def check_reader_writer(reader: AvroType, writer: AvroType) -> Result:
    """All incompatibilities of decoding ``writer`` data with ``reader`` (empty: compatible)."""
    return _Checker().check(reader, writer)


def schema_name_equals(reader: NamedType, writer: NamedType) -> bool:
    """Java's rule: same unqualified name, or a reader alias naming the writer."""
    return reader.name == writer.name or writer.full_name in reader.aliases


class AmbiguousAliasError(Exception):
    pass


def lookup_writer_field(writer: RecordType, reader_field: Field) -> Field | None:
    """The writer field a reader field reads: by name, then by the reader field's aliases."""
    matches = [
        found
        for name in (reader_field.name, *reader_field.aliases)
        if (found := writer.field_named(name)) is not None
    ]
    if len(matches) > 1:
        names = ", ".join(f.name for f in matches)
        msg = f"reader field {reader_field.name!r} matches several writer fields ({names})"
        raise AmbiguousAliasError(msg)
    return matches[0] if matches else None


class _Checker:
    def __init__(self) -> None:
        # Keyed by object identity, as Java's ReaderWriter pair; the documents being compared
        # keep every node alive for the checker's lifetime, so ids are not reused.
        self.memo: dict[tuple[int, int], Result] = {}

    def check(self, reader: AvroType, writer: AvroType, *segments: str) -> Result:
        key = (id(reader), id(writer))
        cached = self.memo.get(key)
        if cached is _IN_PROGRESS:
            return COMPATIBLE  # recursion: compatible unless proven otherwise elsewhere
        if cached is None:
            self.memo[key] = _IN_PROGRESS
            cached = self.calculate(reader, writer)
            self.memo[key] = cached
        return cached.prefixed(*segments) if segments else cached

    def calculate(self, reader: AvroType, writer: AvroType) -> Result:
        if reader.kind is writer.kind:
            return self.same_kind(reader, writer)
        if isinstance(writer, UnionType):
            # Every writer branch must be readable.
            result = COMPATIBLE
            for index, branch in enumerate(writer.branches):
                result = result.merged(self.check(reader, branch, f"[{index}]"))
            return result
        if isinstance(reader, UnionType):
            for branch in reader.branches:
                if self.check(branch, writer).compatible:
                    return COMPATIBLE
            return self.union_miss(reader, writer, reader_side=True)
        if writer.kind in PROMOTIONS.get(reader.kind, frozenset()):
            return COMPATIBLE
        return _type_mismatch(reader, writer)

    def same_kind(self, reader: AvroType, writer: AvroType) -> Result:  # noqa: PLR0911
        if reader.kind in PRIMITIVE_KINDS:
            return COMPATIBLE
        if isinstance(reader, ArrayType) and isinstance(writer, ArrayType):
            return self.check(reader.items, writer.items, "items")
        if isinstance(reader, MapType) and isinstance(writer, MapType):
            return self.check(reader.values, writer.values, "values")
        if isinstance(reader, FixedType) and isinstance(writer, FixedType):
            return _names(reader, writer).merged(_fixed_size(reader, writer))
        if isinstance(reader, EnumType) and isinstance(writer, EnumType):
            return _names(reader, writer).merged(_enum_symbols(reader, writer))
        if isinstance(reader, RecordType) and isinstance(writer, RecordType):
            return _names(reader, writer).merged(self.record_fields(reader, writer))
        if isinstance(reader, UnionType) and isinstance(writer, UnionType):
            result = COMPATIBLE
            for index, branch in enumerate(writer.branches):
                if not self.check(reader, branch).compatible:
                    miss = self.union_miss(reader, branch, reader_side=False)
                    result = result.merged(miss.prefixed(f"[{index}]"))
            return result
        msg = f"unknown schema kind {reader.kind}"
        raise AssertionError(msg)

    def record_fields(self, reader: RecordType, writer: RecordType) -> Result:
        # Collected in a list and joined once: merging Results field by field copies the
        # tuple each time, quadratic in the number of failing fields.
        found: list[Incompatibility] = []
        for reader_field in reader.fields:
            segment = f"fields[{reader_field.name}]"
            try:
                writer_field = lookup_writer_field(writer, reader_field)
            except AmbiguousAliasError as exc:
                found.extend(
                    _single(
                        Rule.AMBIGUOUS_FIELD_ALIAS,
                        str(exc),
                        (segment,),
                        reader_field.pointer,
                        (*writer.pointer, "fields"),
                        reader_field.name,
                    ).incompatibilities
                )
                continue
            if writer_field is not None:
                found.extend(
                    self.check(
                        reader_field.type, writer_field.type, segment, "type"
                    ).incompatibilities
                )
            elif reader_field.has_default:
                continue
            elif isinstance(reader_field.type, EnumType) and reader_field.type.default:
                # Java's quirk, kept for parity: it then compares the reader field's enum
                # with the whole writer record, which can only succeed through a union.
                found.extend(
                    self.check(reader_field.type, writer, segment, "type").incompatibilities
                )
            else:
                found.extend(
                    _single(
                        Rule.READER_FIELD_MISSING_DEFAULT,
                        f"field '{reader_field.name}' has no default, and the writer's "
                        f"{writer.full_name} has no field to read it from",
                        (segment,),
                        reader_field.pointer,
                        (*writer.pointer, "fields"),
                        reader_field.name,
                    ).incompatibilities
                )
        return Result(tuple(found))

    def union_miss(self, reader: UnionType, writer: AvroType, *, reader_side: bool) -> Result:
        """Why no reader branch reads ``writer``: the intended branch's faults, or the gap."""
        for index, branch in enumerate(reader.branches):
            if branch.kind is not writer.kind:
                continue
            if (
                isinstance(branch, NamedType)
                and isinstance(writer, NamedType)
                and not schema_name_equals(branch, writer)
            ):
                continue
            detail = self.memo.get((id(branch), id(writer)))
            if detail is not None and detail is not _IN_PROGRESS and not detail.compatible:
                return detail.prefixed(f"[{index}]") if reader_side else detail
        return _single(
            Rule.MISSING_UNION_BRANCH,
            f"no branch of the reader union {_union_text(reader)} reads writer type "
            f"{writer.describe()}",
            (),
            reader.pointer,
            writer.pointer,
            writer.describe(),
        )


def _single(  # noqa: PLR0917 - mirrors Incompatibility's fields
    rule: Rule,
    message: str,
    trail: tuple[str, ...],
    reader_pointer: Pointer,
    writer_pointer: Pointer,
    subject: str = "",
) -> Result:
    return Result((Incompatibility(rule, message, trail, reader_pointer, writer_pointer, subject),))


def _union_text(union: UnionType) -> str:
    return "[" + ", ".join(branch.describe() for branch in union.branches) + "]"


def _type_mismatch(reader: AvroType, writer: AvroType) -> Result:
    readable = sorted(kind.value for kind in PROMOTIONS.get(reader.kind, frozenset()))
    also = f" (besides {reader.kind.value} it reads only {', '.join(readable)})" if readable else ""
    return _single(
        Rule.TYPE_MISMATCH,
        f"reader type {reader.describe()} cannot read writer type {writer.describe()}{also}",
        (),
        reader.pointer,
        writer.pointer,
        f"{writer.describe()} -> {reader.describe()}",
    )


def _names(reader: NamedType, writer: NamedType) -> Result:
    if schema_name_equals(reader, writer):
        return COMPATIBLE
    return _single(
        Rule.NAME_MISMATCH,
        f"reader {reader.kind.value} {reader.full_name} does not match writer name "
        f"{writer.full_name} (names or reader aliases must match)",
        ("name",),
        (*reader.pointer, "name"),
        (*writer.pointer, "name"),
        writer.full_name,
    )


def _fixed_size(reader: FixedType, writer: FixedType) -> Result:
    if reader.size == writer.size:
        return COMPATIBLE
    return _single(
        Rule.FIXED_SIZE_MISMATCH,
        f"fixed {reader.full_name}: reader size {reader.size}, writer size {writer.size}",
        ("size",),
        (*reader.pointer, "size"),
        (*writer.pointer, "size"),
        f"{writer.size} -> {reader.size}",
    )


def _enum_symbols(reader: EnumType, writer: EnumType) -> Result:
    missing = sorted(set(writer.symbols) - set(reader.symbols))
    # Java's condition: the reader's default must itself be one of its symbols (always true
    # for a parsed schema, kept for the record).
    if not missing or (reader.default is not None and reader.default in reader.symbols):
        return COMPATIBLE
    symbols = ", ".join(missing)
    return _single(
        Rule.MISSING_ENUM_SYMBOLS,
        f"reader enum {reader.full_name} has no symbol {symbols} and no default to read it as",
        ("symbols",),
        (*reader.pointer, "symbols"),
        (*writer.pointer, "symbols"),
        symbols,
    )
