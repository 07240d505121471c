"""Avro full names: the one place that says how a name and a namespace combine.

Java Avro is the reference (``Schema.Name``): a dotted name is already full and carries its
own namespace; otherwise the enclosing namespace prefixes it, and an empty (or null)
namespace means the null namespace.
"""

from collections.abc import Mapping
from typing import Any


def full_name(name: str, namespace: str | None) -> str:
    """The full name of ``name`` declared in ``namespace``."""
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def namespace_of(full: str) -> str:
    """The namespace part of a full name ('' for the null namespace)."""
    return full.rpartition(".")[0]


def schema_full_name(schema: Mapping[str, Any]) -> str:
    """Full name of a top-level named schema given as parsed JSON."""
    name = schema["name"]
    if not isinstance(name, str):
        msg = f"'name' must be a string, not {type(name).__name__}"
        raise TypeError(msg)
    namespace = schema.get("namespace")
    return full_name(name, namespace if isinstance(namespace, str) else None)


def alias_full_names(schema: Mapping[str, Any]) -> list[str]:
    """Full names of a named schema's aliases; short aliases take the schema's namespace."""
    namespace = namespace_of(schema_full_name(schema))
    return [full_name(alias, namespace) for alias in schema.get("aliases", [])]
