"""Python names for Avro names: classes, attributes and enum members.

Rules (documented in codegen/README.md, stable across runs):

* A record or enum becomes a class named after its simple name. When several full
  names share a simple name, each of them is prefixed with the CamelCased last
  namespace segments, using as few segments as make the group distinct
  (``a.v1.Event``, ``b.v1.Event`` -> ``AV1Event``, ``BV1Event``).
* An Avro name that is a Python keyword, a builtin, a name the generated module uses
  itself, or a method of the generated classes gets a trailing ``_`` (repeated until
  unique); a name starting with ``__`` is prefixed with ``f`` to avoid name mangling.
  The Avro name stays on the wire.
"""

import builtins
import keyword
from collections import defaultdict
from collections.abc import Iterable

# Names the generated modules bind at module level or call on every class.
MODULE_NAMES = frozenset(
    {"_abc", "_dc", "_decimal", "_dt", "_enum", "_runtime", "_t", "_uuid", "annotations"}
)
RECORD_API = frozenset(
    {
        "avro_schema",
        "to_avro",
        "from_avro",
        "to_avro_bytes",
        "from_avro_bytes",
        "avro_decoder",
        "PERSONAL_FIELDS",
    }
)
ENUM_RESERVED = frozenset({"mro", "name", "value"})
_RESERVED = (
    frozenset(keyword.kwlist)
    | frozenset(keyword.softkwlist)
    | frozenset(dir(builtins))
    | MODULE_NAMES
)


def _camel(segment: str) -> str:
    return segment[:1].upper() + segment[1:]


def _safe(name: str, reserved: Iterable[str]) -> str:
    if name.startswith("__"):
        name = f"f{name}"
    taken = set(reserved)
    while name in _RESERVED or name in taken:
        name = f"{name}_"
    return name


def class_names(full_names: Iterable[str]) -> dict[str, str]:
    """Class name for every full name; raises ValueError naming the clash it cannot solve."""
    groups: dict[str, list[str]] = defaultdict(list)
    for full in full_names:
        groups[full.rpartition(".")[2]].append(full)
    result: dict[str, str] = {}
    for simple, members in groups.items():
        if len(members) == 1:
            result[members[0]] = simple
            continue
        depth = max(len(_segments(full)) for full in members)
        for k in range(1, depth + 1):
            candidates = {full: _prefixed(full, k) + simple for full in members}
            if len(set(candidates.values())) == len(members):
                result.update(candidates)
                break
    by_name: dict[str, str] = {}
    for full, name in sorted(result.items()):
        safe = _safe(name, ())
        if safe in by_name:
            msg = f"{full!r} and {by_name[safe]!r} would both become class {safe!r}"
            raise ValueError(msg)
        by_name[safe] = full
        result[full] = safe
    return result


def _segments(full: str) -> list[str]:
    namespace = full.rpartition(".")[0]
    return namespace.split(".") if namespace else []


def _prefixed(full: str, k: int) -> str:
    return "".join(_camel(segment) for segment in _segments(full)[-k:])


def attribute_names(avro_names: Iterable[str], taken: Iterable[str]) -> list[str]:
    """Attribute name per field, in order; ``taken`` holds the module's class names."""
    used = set(taken) | RECORD_API
    result: list[str] = []
    for avro_name in avro_names:
        name = _safe(avro_name, used)
        used.add(name)
        result.append(name)
    return result


def member_names(symbols: Iterable[str]) -> list[str]:
    used: set[str] = set(ENUM_RESERVED)
    result: list[str] = []
    for symbol in symbols:
        name = f"S{symbol}" if symbol.startswith("_") else symbol
        name = _safe(name, used)
        used.add(name)
        result.append(name)
    return result
