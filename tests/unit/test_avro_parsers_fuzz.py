"""Both parsers on random and mutated schema JSON: a schema or a clean error, nothing else.

The allowed outcomes are a parsed schema, or the tools' own error types (the core parser's
``SchemaParseError``, which the gate reports, and codegen's ``CodegenError``), never another
exception: those would reach the user as a traceback.
"""

import contextlib
import json
from pathlib import Path
from typing import Any

from codegen.conftest import CORPUS
from hypothesis import given, settings
from hypothesis import strategies as st
from playball_codegen.errors import CodegenError
from playball_codegen.loader import SourceFile
from playball_codegen.parser import parse_sources
from playball_core.avro.parser import SchemaParseError, parse_schema
from playball_core.avro.schema import SourceRef

SEEDS = [path.read_text(encoding="utf-8") for path in sorted(CORPUS.glob("*.avsc"))]
WORDS = [
    "record", "error", "enum", "fixed", "array", "map", "null", "int", "long", "string",
    "bytes", "boolean", "float", "double", "name", "namespace", "fields", "type", "items",
    "values", "symbols", "size", "default", "aliases", "logicalType", "decimal", "precision",
    "scale", "uuid", "order", "R", "a.b", "bad-name", "Résumé", "",
]  # fmt: skip

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(WORDS),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(WORDS), children, max_size=5)
    ),
    max_leaves=30,
)
FUZZ = settings(max_examples=150)


def _both(text: str) -> None:
    with contextlib.suppress(SchemaParseError):
        parse_schema(text, SourceRef("fuzz.avsc"))
    with contextlib.suppress(CodegenError):
        parse_sources([SourceFile(Path("fuzz.avsc"), text)])


@FUZZ
@given(value=json_values)
def test_random_schema_json_parses_or_fails_cleanly(value: Any) -> None:
    _both(json.dumps(value))


def _mutate(value: Any, data: st.DataObject) -> Any:
    """One random change somewhere in a JSON value: replace, drop, or duplicate a part."""
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value)))
        choice = data.draw(st.sampled_from(["replace", "drop", "descend"]))
        copied = dict(value)
        if choice == "drop":
            del copied[key]
        elif choice == "replace":
            copied[key] = data.draw(json_values)
        else:
            copied[key] = _mutate(value[key], data)
        return copied
    if isinstance(value, list) and value and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(value) - 1))
        copied_list = list(value)
        choice = data.draw(st.sampled_from(["replace", "drop", "duplicate", "descend"]))
        if choice == "drop":
            del copied_list[index]
        elif choice == "duplicate":
            copied_list.insert(index, value[index])
        elif choice == "replace":
            copied_list[index] = data.draw(json_values)
        else:
            copied_list[index] = _mutate(value[index], data)
        return copied_list
    return data.draw(json_values)


@FUZZ
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_mutated_corpus_schemas_parse_or_fail_cleanly(seed: str, data: st.DataObject) -> None:
    value = json.loads(seed)
    for _ in range(data.draw(st.integers(1, 3))):
        value = _mutate(value, data)
    _both(json.dumps(value))


@FUZZ
@given(seed=st.sampled_from(SEEDS), cut=st.integers(0, 2000), junk=st.text(max_size=5))
def test_mutated_schema_text_parses_or_fails_cleanly(seed: str, cut: int, junk: str) -> None:
    _both(seed[: cut % (len(seed) + 1)] + junk + seed[cut % (len(seed) + 1) :])
