"""Stable rule ids of the gate: what each finding is, independent of wording.

The first six are Java Avro's ``SchemaIncompatibilityType`` (the registries' verdicts);
``READER_FIELD_MISSING_DEFAULT`` is Java's ``READER_FIELD_MISSING_DEFAULT_VALUE``. The
others are checks the registries do not make: warnings, failures only with ``--strict``,
except the few in :data:`LINT_ERRORS`.
"""

from enum import StrEnum


class Rule(StrEnum):
    # Schema resolution (Java's SchemaCompatibility): errors.
    READER_FIELD_MISSING_DEFAULT = "READER_FIELD_MISSING_DEFAULT"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    NAME_MISMATCH = "NAME_MISMATCH"
    FIXED_SIZE_MISMATCH = "FIXED_SIZE_MISMATCH"
    MISSING_ENUM_SYMBOLS = "MISSING_ENUM_SYMBOLS"
    MISSING_UNION_BRANCH = "MISSING_UNION_BRANCH"
    # Java throws instead of answering; the registries reject the schema.
    AMBIGUOUS_FIELD_ALIAS = "AMBIGUOUS_FIELD_ALIAS"
    # Beyond the registries: warnings.
    LOGICAL_TYPE_CHANGED = "LOGICAL_TYPE_CHANGED"
    DECIMAL_PRECISION_CHANGED = "DECIMAL_PRECISION_CHANGED"
    DECIMAL_SCALE_CHANGED = "DECIMAL_SCALE_CHANGED"
    NAMESPACE_CHANGED = "NAMESPACE_CHANGED"
    ENUM_DEFAULT_REMOVED = "ENUM_DEFAULT_REMOVED"
    FIELD_MISSING_DOC = "FIELD_MISSING_DOC"
    # Personal-data tags ("confluent:tags": ["PII"] / ["NOT_PII"]), which Avro ignores: a
    # new text field must be classified (a warning); dropping PII from a field is an error.
    PII_UNCLASSIFIED = "PII_UNCLASSIFIED"
    PII_TAG_REMOVED = "PII_TAG_REMOVED"
    # What the parser accepts with a warning (shared with codegen): a non-ASCII name, an
    # invalid logical type ignored in favour of its underlying type.
    SCHEMA_WARNING = "SCHEMA_WARNING"
    # The manifest's major-version bookkeeping (breaking-changes.toml): errors.
    UNDECLARED_MAJOR_VERSION = "UNDECLARED_MAJOR_VERSION"


RESOLUTION_RULES = frozenset(
    {
        Rule.READER_FIELD_MISSING_DEFAULT,
        Rule.TYPE_MISMATCH,
        Rule.NAME_MISMATCH,
        Rule.FIXED_SIZE_MISMATCH,
        Rule.MISSING_ENUM_SYMBOLS,
        Rule.MISSING_UNION_BRANCH,
        Rule.AMBIGUOUS_FIELD_ALIAS,
    }
)

# Checks beyond the registries that fail without --strict: no resolution rule catches them
# (tags do not change the encoding) and the harm cannot be undone later (a value that
# stops being treated as personal is logged, kept and shown from the next deploy on).
LINT_ERRORS = frozenset({Rule.PII_TAG_REMOVED})
