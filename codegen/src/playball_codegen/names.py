"""Avro naming rules: valid names, full names and namespace inheritance."""

import re

from playball_codegen.model import PRIMITIVES

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def is_valid_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def is_valid_full_name(name: str) -> bool:
    return all(is_valid_name(part) for part in name.split("."))


def full_name(name: str, namespace: str | None) -> str:
    """Avro's rule: a dotted name is already full; otherwise the namespace prefixes it."""
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def namespace_of(full: str) -> str:
    return full.rpartition(".")[0]


def reference_candidates(ref: str, namespace: str) -> list[str]:
    """Full names a type reference may mean, most specific first.

    A short name is first looked up in the enclosing namespace, then in the null
    namespace (what the Java parser does for names defined without a namespace).
    """
    if "." in ref or not namespace:
        return [ref]
    return [f"{namespace}.{ref}", ref]


def is_primitive(name: str) -> bool:
    return name in PRIMITIVES
