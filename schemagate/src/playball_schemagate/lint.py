"""Changes the registries accept but that still hurt: the gate's warnings.

Schema resolution ignores logical types, decimal parameters and namespaces, so changing
``timestamp-millis`` to ``timestamp-micros`` passes every registry while readers silently
get values off by a factor of 1000. These rules walk the candidate against its predecessor
along the elements that resolution would pair up (fields by name or alias, union branches
by kind and name) and report what changed meaning.

Tags (``"confluent:tags"``) are ignored by resolution too. A field that loses ``PII`` would
silently start to show up in logs, so that is an error (:data:`~.rules.LINT_ERRORS`); a
new field that can hold text (string, bytes or fixed, directly or in a union, array or
map) must say whether it is personal (``PII`` or ``NOT_PII``). A new field of a record type
is not classified itself: its record's fields are, each on its own.
"""

from dataclasses import dataclass

from playball_core.avro.jsonpos import Pointer
from playball_core.avro.schema import (
    ArrayType,
    AvroType,
    EnumType,
    Field,
    Kind,
    MapType,
    NamedType,
    RecordType,
    UnionType,
)
from playball_core.avro.tags import NOT_PII, PII

from playball_schemagate.compat import AmbiguousAliasError, lookup_writer_field, render_path
from playball_schemagate.rules import Rule


@dataclass(frozen=True, slots=True)
class LintIssue:
    rule: Rule
    message: str
    trail: tuple[str, ...]
    new_pointer: Pointer
    old_pointer: Pointer | None
    subject: str = ""

    @property
    def path(self) -> str:
        return render_path(self.trail)


def lint_change(old: AvroType | None, new: AvroType) -> list[LintIssue]:
    """Warnings for ``new`` against its predecessor ``old`` (None: a first version)."""
    linter = _Linter()
    if old is None:
        linter.undocumented_fields(new, ())
    else:
        linter.walk(old, new, ())
    return linter.issues


def _branches(schema: AvroType) -> list[tuple[str | None, AvroType]]:
    if isinstance(schema, UnionType):
        return [(f"[{index}]", branch) for index, branch in enumerate(schema.branches)]
    return [(None, schema)]


_TEXT_KINDS = frozenset({Kind.STRING, Kind.BYTES, Kind.FIXED})


def holds_text(schema: AvroType) -> bool:
    """Whether a field's type is or contains string, bytes or fixed.

    Through unions, arrays and maps; not into records, whose fields are classified each
    on its own (and so no further than a record, which also ends recursion).
    """
    if schema.kind in _TEXT_KINDS:
        return True
    if isinstance(schema, UnionType):
        return any(holds_text(branch) for branch in schema.branches)
    if isinstance(schema, ArrayType):
        return holds_text(schema.items)
    if isinstance(schema, MapType):
        return holds_text(schema.values)
    return False


def _same_type(old: AvroType, new: AvroType) -> bool:
    if old.kind is not new.kind:
        return False
    if isinstance(old, NamedType) and isinstance(new, NamedType):
        return old.name == new.name or old.full_name in new.aliases
    return True


class _Linter:
    def __init__(self) -> None:
        self.issues: list[LintIssue] = []
        self.seen: set[tuple[int, int]] = set()
        self.seen_new: set[int] = set()

    def add(  # noqa: PLR0917 - mirrors LintIssue's fields
        self,
        rule: Rule,
        message: str,
        trail: tuple[str, ...],
        new_pointer: Pointer,
        old_pointer: Pointer | None,
        subject: str = "",
    ) -> None:
        self.issues.append(LintIssue(rule, message, trail, new_pointer, old_pointer, subject))

    def walk(self, old: AvroType, new: AvroType, trail: tuple[str, ...]) -> None:
        key = (id(old), id(new))
        if key in self.seen:
            return
        self.seen.add(key)
        if isinstance(old, UnionType) or isinstance(new, UnionType):
            old_branches = [branch for _, branch in _branches(old)]
            for segment, branch in _branches(new):
                match = next((o for o in old_branches if _same_type(o, branch)), None)
                branch_trail = (*trail, segment) if segment else trail
                if match is None:
                    self.undocumented_fields(branch, branch_trail)
                else:
                    self.walk(match, branch, branch_trail)
            return
        if not _same_type(old, new):
            return  # a change of type is schema resolution's business
        self.logical_type(old, new, trail)
        if isinstance(old, NamedType) and isinstance(new, NamedType):
            self.named(old, new, trail)
        if isinstance(old, ArrayType) and isinstance(new, ArrayType):
            self.walk(old.items, new.items, (*trail, "items"))
        elif isinstance(old, MapType) and isinstance(new, MapType):
            self.walk(old.values, new.values, (*trail, "values"))
        elif isinstance(old, RecordType) and isinstance(new, RecordType):
            self.fields(old, new, trail)

    def logical_type(self, old: AvroType, new: AvroType, trail: tuple[str, ...]) -> None:
        if old.logical_type != new.logical_type:
            before, after = old.logical_type or "none", new.logical_type or "none"
            self.add(
                Rule.LOGICAL_TYPE_CHANGED,
                f"logical type of {new.kind.value} changed from {before} to {after}",
                trail,
                new.pointer,
                old.pointer,
                f"{before} -> {after}",
            )
        elif new.logical_type == "decimal":
            for prop, rule in (
                ("precision", Rule.DECIMAL_PRECISION_CHANGED),
                ("scale", Rule.DECIMAL_SCALE_CHANGED),
            ):
                was, now = old.props.get(prop), new.props.get(prop)
                if was != now:
                    self.add(
                        rule,
                        f"decimal {prop} changed from {was} to {now}",
                        trail,
                        (*new.pointer, prop),
                        (*old.pointer, prop),
                        f"{was} -> {now}",
                    )

    def named(self, old: NamedType, new: NamedType, trail: tuple[str, ...]) -> None:
        if old.full_name != new.full_name and old.full_name not in new.aliases:
            self.add(
                Rule.NAMESPACE_CHANGED,
                f"{new.kind.value} {old.full_name} is now {new.full_name}; the registries "
                "match on the unqualified name only",
                (*trail, "name"),
                (*new.pointer, "name"),
                (*old.pointer, "name"),
                old.full_name,
            )
        if (
            isinstance(old, EnumType)
            and isinstance(new, EnumType)
            and old.default is not None
            and new.default is None
        ):
            self.add(
                Rule.ENUM_DEFAULT_REMOVED,
                f"enum {new.full_name} lost its default {old.default!r}",
                trail,
                new.pointer,
                (*old.pointer, "default"),
                old.default,
            )

    def fields(self, old: RecordType, new: RecordType, trail: tuple[str, ...]) -> None:
        for new_field in new.fields:
            field_trail = (*trail, f"fields[{new_field.name}]")
            try:
                old_field = lookup_writer_field(old, new_field)
            except AmbiguousAliasError:
                continue  # reported as an error by schema resolution
            if old_field is None:
                self.new_field_doc(new_field.name, new_field.doc, field_trail, new_field.pointer)
                self.unclassified(new_field, field_trail)
                self.undocumented_fields(new_field.type, (*field_trail, "type"))
            else:
                self.pii_tag_removed(old_field, new_field, field_trail)
                self.walk(old_field.type, new_field.type, (*field_trail, "type"))

    def unclassified(self, field: Field, trail: tuple[str, ...]) -> None:
        if holds_text(field.type) and PII not in field.tags and NOT_PII not in field.tags:
            self.add(
                Rule.PII_UNCLASSIFIED,
                f"new field '{field.name}' holds text ({field.type.describe()}) but is tagged "
                f"neither {PII} nor {NOT_PII}",
                trail,
                field.pointer,
                None,
                field.name,
            )

    def pii_tag_removed(self, old: Field, new: Field, trail: tuple[str, ...]) -> None:
        if PII in old.tags and PII not in new.tags:
            self.add(
                Rule.PII_TAG_REMOVED,
                f"field '{new.name}' was tagged {PII} and is not any more",
                trail,
                new.pointer,
                old.pointer,
                new.name,
            )

    def new_field_doc(
        self, name: str, doc: str | None, trail: tuple[str, ...], pointer: Pointer
    ) -> None:
        if not (doc or "").strip():
            self.add(
                Rule.FIELD_MISSING_DOC,
                f"new field '{name}' has no doc",
                trail,
                pointer,
                None,
                name,
            )

    def undocumented_fields(self, schema: AvroType, trail: tuple[str, ...]) -> None:
        """Every field of a type that has no predecessor is new."""
        if id(schema) in self.seen_new:
            return
        self.seen_new.add(id(schema))
        if isinstance(schema, RecordType):
            for field in schema.fields:
                field_trail = (*trail, f"fields[{field.name}]")
                self.new_field_doc(field.name, field.doc, field_trail, field.pointer)
                self.unclassified(field, field_trail)
                self.undocumented_fields(field.type, (*field_trail, "type"))
        elif isinstance(schema, UnionType):
            for segment, branch in _branches(schema):
                self.undocumented_fields(branch, (*trail, segment or ""))
        elif isinstance(schema, ArrayType):
            self.undocumented_fields(schema.items, (*trail, "items"))
        elif isinstance(schema, MapType):
            self.undocumented_fields(schema.values, (*trail, "values"))
