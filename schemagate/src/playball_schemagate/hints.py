"""One-line fix hints, per rule and per direction of the failing check.

The same rule needs a different fix depending on which side is the new schema: a field
without default is fixed by a default when the *new* schema reads it, but when the *old*
schema reads it the old version cannot be changed, so the change itself has to go.
"""

from playball_schemagate.findings import Direction
from playball_schemagate.rules import Rule

_NEW_MAJOR = "or ship it as a new major version (see breaking-changes.toml)"

# (rule, direction) -> hint; direction None is the fallback for both directions and lints.
# "{subject}" is the field, symbols or types concerned.
_HINTS: dict[tuple[Rule, Direction | None], str] = {
    (Rule.READER_FIELD_MISSING_DEFAULT, Direction.NEW_READS_OLD): (
        "give the new field '{subject}' a default"
    ),
    (Rule.READER_FIELD_MISSING_DEFAULT, Direction.OLD_READS_NEW): (
        "keep field '{subject}': old readers have no default for it (a field can only be "
        f"removed if it had a default), {_NEW_MAJOR}"
    ),
    (Rule.TYPE_MISMATCH, None): (
        "keep the old type ({subject}); the only allowed changes are the promotions "
        "int->long->float->double and string<->bytes in the reading direction; add a new "
        "field with a default instead"
    ),
    (Rule.NAME_MISMATCH, Direction.NEW_READS_OLD): (
        "keep the name, or add the alias '{subject}' to the renamed type"
    ),
    (Rule.NAME_MISMATCH, Direction.OLD_READS_NEW): (
        f"old readers only know '{{subject}}': keep the name, {_NEW_MAJOR}"
    ),
    (Rule.FIXED_SIZE_MISMATCH, None): (
        "a fixed's size cannot change ({subject}): add a new field instead"
    ),
    (Rule.MISSING_ENUM_SYMBOLS, Direction.NEW_READS_OLD): (
        "keep symbol(s) {subject}, or give the enum a 'default' symbol"
    ),
    (Rule.MISSING_ENUM_SYMBOLS, Direction.OLD_READS_NEW): (
        "old readers do not know {subject}: first release an enum 'default' to all readers, "
        "then add symbols"
    ),
    (Rule.MISSING_UNION_BRANCH, Direction.NEW_READS_OLD): "keep {subject} in the union",
    (Rule.MISSING_UNION_BRANCH, Direction.OLD_READS_NEW): (
        f"old readers' union has no branch for {{subject}}: do not add it, {_NEW_MAJOR}"
    ),
    (Rule.AMBIGUOUS_FIELD_ALIAS, None): (
        "make the field's name and aliases match exactly one writer field"
    ),
    (Rule.LOGICAL_TYPE_CHANGED, None): (
        "readers will misinterpret values ({subject}); add a new field with the new logical "
        "type instead"
    ),
    (Rule.DECIMAL_PRECISION_CHANGED, None): (
        "values decode with the wrong magnitude ({subject}); add a new decimal field instead"
    ),
    (Rule.DECIMAL_SCALE_CHANGED, None): (
        "values decode with the wrong magnitude ({subject}); add a new decimal field instead"
    ),
    (Rule.NAMESPACE_CHANGED, None): (
        "add the alias '{subject}' to the type, or keep the namespace: generated code and "
        "stricter readers see a different type"
    ),
    (Rule.ENUM_DEFAULT_REMOVED, None): (
        "keep the enum default '{subject}': without it readers fail on symbols they lack"
    ),
    (Rule.FIELD_MISSING_DOC, None): "document field '{subject}' with a 'doc'",
    (Rule.PII_UNCLASSIFIED, None): (
        'classify field \'{subject}\': add "confluent:tags": ["PII"] if its values are '
        'personal data, ["NOT_PII"] if they are not'
    ),
    (Rule.PII_TAG_REMOVED, None): (
        "keep \"PII\" in the tags of field '{subject}': its values stay personal data "
        "whatever the schema says (to stop publishing them, remove the field instead)"
    ),
    (Rule.SCHEMA_WARNING, None): (
        "use ASCII names for readers outside Java, and fix or remove an ignored logicalType"
    ),
    (Rule.UNDECLARED_MAJOR_VERSION, None): (
        "declare the new major version of {subject} in breaking-changes.toml (subject, "
        "successor, reason, approver)"
    ),
}


def hint_for(rule: Rule, direction: Direction | None, subject: str) -> str:
    template = _HINTS.get((rule, direction)) or _HINTS.get((rule, None), "")
    return template.format(subject=subject)
