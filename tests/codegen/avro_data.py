"""Hypothesis strategies for Avro data in fastavro's dict form, driven by a schema.

Values are what fastavro reads with ``return_named_type=True``: logical types as
Python objects and named types inside a union tagged ``(full name, value)``. Floats
exclude NaN (it is never equal to itself, so equality checks would be meaningless);
timestamps stay within 1900-2200 and carry the precision their type can hold.
"""

import datetime as dt
import decimal
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

NAMED = ("record", "error", "enum", "fixed")
SMALL = 3  # collection sizes: enough to exercise nesting, small enough to stay fast
MIN_TIME = dt.datetime(1900, 1, 1)
MAX_TIME = dt.datetime(2200, 1, 1)


def _to_millis(value: Any) -> Any:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


class AvroData:
    """Strategies for one self-contained schema (as ``avro_schema()`` returns it)."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self._named: dict[str, dict[str, Any]] = {}
        self._register(schema, "")

    def _register(self, node: Any, namespace: str) -> None:
        if isinstance(node, list):
            for branch in node:
                self._register(branch, namespace)
        elif isinstance(node, dict):
            kind = node.get("type")
            if kind in NAMED:
                full = self._full(node, namespace)
                self._named[full] = {**node, "__full": full}
                for field in node.get("fields", []):
                    self._register(field["type"], full.rpartition(".")[0])
            elif kind == "array":
                self._register(node["items"], namespace)
            elif kind == "map":
                self._register(node["values"], namespace)

    @staticmethod
    def _full(node: dict[str, Any], namespace: str) -> str:
        name: str = node["name"]
        own = node.get("namespace", namespace)
        return name if "." in name or not own else f"{own}.{name}"

    def _lookup(self, ref: str, namespace: str) -> dict[str, Any]:
        if "." not in ref and namespace and f"{namespace}.{ref}" in self._named:
            return self._named[f"{namespace}.{ref}"]
        return self._named[ref]

    def for_schema(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        return self.value(schema, "", depth=0)

    def value(  # noqa: PLR0911 - one case per kind of schema node
        self, node: Any, namespace: str, depth: int
    ) -> st.SearchStrategy[Any]:
        """A strategy for ``node``; ``depth`` bounds recursive types."""
        if isinstance(node, list):
            return self._union(node, namespace, depth)
        if isinstance(node, str):
            primitive = _primitive(node)
            if primitive is not None:
                return primitive
            return self._named_value(self._lookup(node, namespace), depth)
        kind = node["type"]
        if kind in NAMED:
            full = self._full(node, namespace)
            return self._named_value(self._named[full], depth)
        if kind == "array":
            items = self.value(node["items"], namespace, depth + 1)
            return st.lists(items, max_size=SMALL if depth < 3 else 0)
        if kind == "map":
            values = self.value(node["values"], namespace, depth + 1)
            size = SMALL if depth < 3 else 0
            return st.dictionaries(st.text(max_size=4), values, max_size=size)
        logical = _logical(node)
        if logical is not None:
            return logical
        return self.value(kind, namespace, depth)

    def _named_value(self, node: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        kind = node["type"]
        if kind == "enum":
            return st.sampled_from(node["symbols"])
        if kind == "fixed":
            logical = _logical(node)
            if logical is not None:
                return logical
            return st.binary(min_size=node["size"], max_size=node["size"])
        namespace = node["__full"].rpartition(".")[0]
        fields = {
            field["name"]: st.deferred(self._later(field["type"], namespace, depth + 1))
            for field in node["fields"]
        }
        return st.fixed_dictionaries(fields)

    def _later(self, node: Any, namespace: str, depth: int) -> Callable[[], st.SearchStrategy[Any]]:
        """Build a field's strategy on first use: recursive records refer to themselves."""

        def build() -> st.SearchStrategy[Any]:
            return self.value(node, namespace, depth)

        return build

    def _union(self, branches: list[Any], namespace: str, depth: int) -> st.SearchStrategy[Any]:
        options = []
        for branch in branches:
            strategy = self.value(branch, namespace, depth + 1)
            named = self._named_branch(branch, namespace)
            if named is not None:
                strategy = strategy.map(_tagger(named))
            options.append(strategy)
        if depth >= 3 and "null" in branches:
            return st.none()  # end recursion through optional fields
        return st.one_of(options)

    def _named_branch(self, branch: Any, namespace: str) -> str | None:
        if isinstance(branch, str):
            if _primitive(branch) is not None:
                return None
            full: str = self._lookup(branch, namespace)["__full"]
            return full
        if isinstance(branch, dict) and branch.get("type") in NAMED:
            return self._full(branch, namespace)
        return None


def _tagger(name: str) -> Callable[[Any], tuple[str, Any]]:
    def tag(value: Any) -> tuple[str, Any]:
        return (name, value)

    return tag


def _primitive(name: str) -> st.SearchStrategy[Any] | None:
    return {
        "null": st.none(),
        "boolean": st.booleans(),
        "int": st.integers(-(2**31), 2**31 - 1),
        "long": st.integers(-(2**63), 2**63 - 1),
        "float": st.floats(width=32, allow_nan=False),
        "double": st.floats(allow_nan=False),
        "bytes": st.binary(max_size=8),
        "string": st.text(max_size=8),
    }.get(name)


def _logical(node: dict[str, Any]) -> st.SearchStrategy[Any] | None:
    logical = node.get("logicalType")
    utc = st.just(dt.UTC)
    strategies: dict[str, st.SearchStrategy[Any]] = {
        "uuid": st.uuids(),
        "date": st.dates(),
        "time-millis": st.times().map(_to_millis),
        "time-micros": st.times(),
        "timestamp-millis": st.datetimes(MIN_TIME, MAX_TIME, timezones=utc).map(_to_millis),
        "timestamp-micros": st.datetimes(MIN_TIME, MAX_TIME, timezones=utc),
        "local-timestamp-millis": st.datetimes(MIN_TIME, MAX_TIME).map(_to_millis),
        "local-timestamp-micros": st.datetimes(MIN_TIME, MAX_TIME),
    }
    if logical == "decimal":
        precision, scale = node["precision"], node.get("scale", 0)
        bound = 10**precision - 1
        return st.integers(-bound, bound).map(
            lambda unscaled: decimal.Decimal(unscaled).scaleb(-scale)
        )
    if logical in strategies and node["type"] in ("int", "long", "string"):
        return strategies[logical]
    return None
