"""Avro names: the one place that says how names and namespaces combine, and which are valid.

Java Avro 1.12 is the reference (``Schema.Name``, ``Schema.parseName``, ``ParseContext``,
``NameValidator.UTF_VALIDATOR``):

- a dotted name is already full and carries its own namespace; otherwise the namespace
  prefixes it, and an empty namespace is the null namespace;
- a named type's ``"namespace"`` that is absent *or JSON null* inherits the enclosing
  namespace (``parseName`` reads it with ``textValue()``, which is null for a JSON null);
  only ``""`` selects the null namespace explicitly;
- a type reference is looked up in the enclosing namespace first, then in the null one;
- a name (and each namespace part) is a letter or ``_`` followed by letters, digits or
  ``_``, where "letter" and "digit" are Unicode's, as Java's default validator decides.
  The specification allows ASCII only, so a non-ASCII name is accepted with a warning.
"""

from collections.abc import Mapping
from typing import Any

# The specification's names: what every implementation accepts.
_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_ASCII_DIGITS = frozenset("0123456789")

SPEC_ASCII_WARNING = (
    "the Avro specification allows ASCII letters, digits and '_' only; Java Avro and the "
    "registries accept Unicode letters, other implementations may not"
)


def full_name(name: str, namespace: str | None) -> str:
    """The full name of ``name`` declared in ``namespace``."""
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def namespace_of(full: str) -> str:
    """The namespace part of a full name ('' for the null namespace)."""
    return full.rpartition(".")[0]


def declared_namespace(value: object, enclosing: str) -> str | None:
    """The namespace a named type's ``"namespace"`` value gives it.

    Absent (pass None) or JSON null inherits ``enclosing``; a string is taken as it is
    ('' is the null namespace). Anything else is not a namespace: None.
    """
    if value is None:
        return enclosing
    return value if isinstance(value, str) else None


def declared_full_name(name: str, namespace_value: object, enclosing: str) -> str | None:
    """Full name of a definition ``{"name": name, "namespace": namespace_value}``."""
    if "." in name:
        return name
    namespace = declared_namespace(namespace_value, enclosing)
    return None if namespace is None else full_name(name, namespace)


def reference_candidates(ref: str, namespace: str) -> list[str]:
    """Full names a type reference may mean, in the order Java looks them up."""
    if "." in ref or not namespace:
        return [ref]
    return [f"{namespace}.{ref}", ref]


def name_problem(name: str) -> str | None:
    """Why Java's default validator refuses ``name`` (one part, no dots), or None."""
    if not name:
        return "empty name"
    if not (name[0].isalpha() or name[0] == "_"):
        return f"illegal initial character in {name!r}"
    for char in name[1:]:
        # Java's Character.isLetterOrDigit: Unicode letters and decimal digits.
        if not (char.isalpha() or char.isdecimal() or char == "_"):
            return f"illegal character {char!r} in {name!r}"
    return None


def full_name_problem(full: str) -> str | None:
    """Why a dotted name is refused: the first part Java's validator refuses, or None."""
    for part in full.split("."):
        problem = name_problem(part)
        if problem is not None:
            return problem
    return None


def is_ascii_name(full: str) -> bool:
    """Whether a (dotted) name keeps to the specification's ASCII names."""
    return all(
        part
        and part[0] in _ASCII_LETTERS
        and all(c in _ASCII_LETTERS or c in _ASCII_DIGITS for c in part[1:])
        for part in full.split(".")
    )


def schema_full_name(schema: Mapping[str, Any]) -> str:
    """Full name of a top-level named schema given as parsed JSON."""
    name = schema["name"]
    if not isinstance(name, str):
        msg = f"'name' must be a string, not {type(name).__name__}"
        raise TypeError(msg)
    full = declared_full_name(name, schema.get("namespace"), "")
    if full is None:
        msg = f"'namespace' must be a string, not {type(schema['namespace']).__name__}"
        raise TypeError(msg)
    return full


def alias_full_names(schema: Mapping[str, Any]) -> list[str]:
    """Full names of a named schema's aliases; short aliases take the schema's namespace."""
    namespace = namespace_of(schema_full_name(schema))
    return [full_name(alias, namespace) for alias in schema.get("aliases", [])]
