"""Codegen and the gate, through the one Avro core: the same names, verdicts and messages.

Every schema of both corpora (tests/codegen/corpus, and every version of every case of the
gate's evolution corpus), plus the cases where the two tools used to disagree, goes
through both tools' own entry points: codegen's ``parse_sources`` + ``plan`` and the gate's
``parse_schema``. Both must accept it with the same full names and warnings, or refuse it
with the same message.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from codegen.conftest import CORPUS
from playball_codegen.cli import app as codegen_app
from playball_codegen.errors import CodegenError
from playball_codegen.generate import plan
from playball_codegen.loader import load_schema_dir
from playball_codegen.parser import parse_sources
from playball_codegen.standalone import standalone_schema
from playball_core.avro.parser import SchemaParseError, parse_schema
from playball_core.avro.schema import NamedType, SourceRef
from schemagate.test_schemagate_corpus import CASES
from typer.testing import CliRunner

Verdict = tuple[str, tuple[str, ...], tuple[str, ...]]  # ("ok"|"error", names, messages)


def _gate(path: Path) -> Verdict:
    try:
        document = parse_schema(path.read_text(encoding="utf-8"), SourceRef(label=str(path)))
    except SchemaParseError as exc:
        return "error", (), (str(exc),)
    names = tuple(sorted(named.full_name for named in document.defined))
    return "ok", names, tuple(document.warning_messages())


def _codegen(path: Path) -> Verdict:
    try:
        schema_set = parse_sources(load_schema_dir(path.parent))
        plan(path.parent, path.parent / "out", "pkg")
    except CodegenError as exc:
        return "error", (), (str(exc),)
    return "ok", tuple(sorted(schema_set.named)), tuple(schema_set.warnings)


def _alone(tmp_path: Path, name: str, text: str) -> Path:
    """The schema in a directory of its own, as codegen reads directories."""
    directory = tmp_path / name.removesuffix(".avsc")
    directory.mkdir()
    path = directory / "Schema.avsc"
    path.write_text(text, encoding="utf-8")
    return path


CORPUS_TEXTS = [
    (path.name, path.read_text(encoding="utf-8")) for path in sorted(CORPUS.glob("*.avsc"))
]
GATE_TEXTS = [
    (f"{case.id}-v{index}", text) for case in CASES for index, text in enumerate(case.texts())
]


@pytest.mark.parametrize(("name", "text"), CORPUS_TEXTS + GATE_TEXTS, ids=lambda v: v[:40])
def test_both_tools_agree_on_every_corpus_schema(tmp_path: Path, name: str, text: str) -> None:
    path = _alone(tmp_path, name, text)
    assert _codegen(path) == _gate(path)


def test_types_from_other_files_get_the_same_names_in_both() -> None:
    # Some corpus files use types other files define; the gate reads one text at a time,
    # so it gets what the registry gets: the type with those definitions inlined.
    schema_set = parse_sources(load_schema_dir(CORPUS))
    for definition in schema_set.named.values():
        text = json.dumps(standalone_schema(definition, schema_set))
        document = parse_schema(text, SourceRef(label=definition.full_name))
        assert isinstance(document.root, NamedType)
        assert document.root.full_name == definition.full_name
        assert {named.full_name for named in document.defined} <= set(schema_set.named)


def test_the_corpora_are_all_there() -> None:
    assert len(CORPUS_TEXTS) >= 15
    assert len(GATE_TEXTS) >= 100


def _record(*fields: dict[str, Any], name: str = "R", **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": "a.b", "fields": list(fields), **extra}


NULL_NAMESPACE = _record(
    {"name": "i", "type": {"type": "record", "name": "Inner", "namespace": None, "fields": []}},
    {"name": "j", "type": "a.b.Inner"},
    name="Outer",
)
UNICODE_NAMES = _record(
    {"name": "名前", "type": "string"},
    {"name": "kind", "type": {"type": "enum", "name": "Sorte", "symbols": ["Été", "_x"]}},
    name="Résumé",
)
SECOND_BRANCH_DEFAULT = _record({"name": "u", "type": ["null", "string"], "default": "x"})


def _verdicts(tmp_path: Path, schema: Any) -> tuple[Verdict, Verdict]:
    path = _alone(tmp_path, "case", json.dumps(schema, indent=2, ensure_ascii=False))
    return _codegen(path), _gate(path)


def test_a_null_namespace_inherits_the_enclosing_one_in_both(tmp_path: Path) -> None:
    # Java's Schema.parseName reads "namespace" with textValue(), null for a JSON null,
    # and falls back to the enclosing namespace; so does the registry.
    codegen, gate = _verdicts(tmp_path, NULL_NAMESPACE)
    assert codegen == gate == ("ok", ("a.b.Inner", "a.b.Outer"), ())


def test_unicode_names_are_accepted_with_a_warning_in_both(tmp_path: Path) -> None:
    codegen, gate = _verdicts(tmp_path, UNICODE_NAMES)
    assert codegen == gate
    status, names, warnings = gate
    assert (status, names) == ("ok", ("a.b.Résumé", "a.b.Sorte"))
    assert len(warnings) == 3  # the record, the field, the symbol
    assert all("allows ASCII" in warning for warning in warnings)


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (_record(name="bad-name"), "invalid name 'a.b.bad-name': illegal character '-'"),
        (_record({"name": "bad-name", "type": "int"}), "invalid field name 'bad-name'"),
        (_record(aliases=["user-v1"]), "Java Avro refuses an alias that is not a valid name"),
        (_record(namespace="a.-b"), "invalid name 'a.-b.R'"),
        (
            _record({"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["a b"]}}),
            "invalid symbol",
        ),
    ],
    ids=["record-name", "field-name", "record-alias", "namespace", "enum-symbol"],
)
def test_what_java_refuses_both_refuse_with_one_message(
    tmp_path: Path, schema: Any, message: str
) -> None:
    codegen, gate = _verdicts(tmp_path, schema)
    assert codegen == gate
    assert gate[0] == "error"
    assert message in gate[2][0]


@pytest.mark.parametrize(
    ("field_type", "default", "message"),
    [
        ({"type": "fixed", "name": "F", "size": 4}, "abc", "is not a fixed a.b.F of 4 bytes"),
        ({"type": "enum", "name": "E", "symbols": ["A"]}, "B", "is not a symbol of enum a.b.E"),
        ("bytes", "\u0100", "code point above 255"),
        ({"type": "string", "logicalType": "uuid"}, "nope", "is not a UUID"),
        (
            {"type": "bytes", "logicalType": "decimal", "precision": 2},
            "\u0003\u00e8",  # 1000 unscaled
            "more than 2 digits",
        ),
        (["null", "int"], "x", "matches no branch of the union [null, int]"),
    ],
    ids=["fixed-length", "enum-symbol", "bytes-code-point", "uuid", "decimal-digits", "union"],
)
def test_a_default_no_reader_can_decode_is_refused_by_both_alike(
    tmp_path: Path, field_type: Any, default: Any, message: str
) -> None:
    schema = _record({"name": "f", "type": field_type, "default": default})
    codegen, gate = _verdicts(tmp_path, schema)
    assert codegen == gate
    assert gate[0] == "error"
    assert "invalid default for field 'f': " in gate[2][0]
    assert message in gate[2][0]


def test_a_union_default_of_a_later_branch_is_accepted_by_both(tmp_path: Path) -> None:
    codegen, gate = _verdicts(tmp_path, SECOND_BRANCH_DEFAULT)
    assert codegen == gate == ("ok", ("a.b.R",), ())


def test_an_empty_union_is_a_schema_in_both(tmp_path: Path) -> None:
    # Java's parser accepts "[]"; a file of it alone gives codegen nothing to type.
    codegen, gate = _verdicts(tmp_path, [])
    assert codegen == gate == ("ok", (), ())


def test_a_field_of_an_empty_union_is_valid_but_codegen_cannot_type_it(tmp_path: Path) -> None:
    codegen, gate = _verdicts(tmp_path, _record({"name": "never", "type": []}))
    assert gate == ("ok", ("a.b.R",), ())
    assert codegen[0] == "error"
    assert "an empty union has no value, so no Python type" in codegen[2][0]


def _deep_arrays(levels: int) -> str:
    """Arrays of arrays, as text (json.dumps itself would recurse too deep)."""
    items = '{"type": "array", "items": ' * levels + '"int"' + "}" * levels
    return f'{{"type": "record", "name": "R", "fields": [{{"name": "a", "type": {items}}}]}}'


@pytest.mark.parametrize("levels", [150, 5000])
def test_hostile_nesting_is_a_clean_error_in_both(tmp_path: Path, levels: int) -> None:
    # 150 levels hit the type-depth bound, 5000 the JSON reader's; never a RecursionError.
    path = _alone(tmp_path, "deep", _deep_arrays(levels))
    codegen, gate = _codegen(path), _gate(path)
    assert codegen == gate
    assert gate[0] == "error"
    assert "nested deeper than" in gate[2][0]


def test_codegen_refuses_hostile_nesting_with_exit_2(tmp_path: Path) -> None:
    path = _alone(tmp_path, "deep", _deep_arrays(5000))
    result = CliRunner().invoke(
        codegen_app,
        ["generate", str(path.parent), "--out", str(tmp_path / "out"), "--package", "pkg"],
    )
    assert result.exit_code == 2
    assert "nested deeper than 256 levels" in result.output
    assert "Traceback" not in result.output


def test_the_gate_refuses_hostile_nesting_with_exit_2(tmp_path: Path) -> None:
    from playball_schemagate.cli import app as gate_app  # noqa: PLC0415

    path = _alone(tmp_path, "deep", _deep_arrays(5000))
    result = CliRunner().invoke(gate_app, ["compat", "--level", "FULL", str(path), str(path)])
    assert result.exit_code == 2
    assert "nested deeper than 256 levels" in result.output
    assert "Traceback" not in result.output


def test_the_gate_reports_parser_warnings_as_findings(tmp_path: Path) -> None:
    from playball_schemagate.cli import app as gate_app  # noqa: PLC0415

    path = _alone(tmp_path, "warn", json.dumps(UNICODE_NAMES, ensure_ascii=False))
    result = CliRunner().invoke(gate_app, ["compat", "--level", "BACKWARD", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.count("SCHEMA_WARNING") == 3
    strict = CliRunner().invoke(gate_app, ["compat", "--level", "BACKWARD", "--strict", str(path)])
    assert strict.exit_code == 1


# -- the same cases on the registry, which parses with Java Avro -----------------------

REGISTRY_CASES = [
    ("null-namespace", NULL_NAMESPACE),
    ("unicode-names", UNICODE_NAMES),
    ("later-branch-default", SECOND_BRANCH_DEFAULT),
    ("bad-name", _record(name="bad-name")),
    ("bad-alias", _record(aliases=["user-v1"])),
    ("bad-field-name", _record({"name": "bad-name", "type": "int"})),
    ("empty-union", []),
    ("empty-union-field", _record({"name": "never", "type": []})),
]


@pytest.mark.stack
@pytest.mark.parametrize(("case", "schema"), REGISTRY_CASES, ids=[c[0] for c in REGISTRY_CASES])
def test_our_verdict_is_the_registrys(
    registry_url: str, unique_name: str, tmp_path: Path, case: str, schema: Any
) -> None:
    from playball_core.registry import InvalidSchemaError, RegistryClient  # noqa: PLC0415

    text = json.dumps(schema, ensure_ascii=False)
    ours = _gate(_alone(tmp_path, case, text))[0]
    with RegistryClient(registry_url) as client:
        try:
            client.register(f"{unique_name}-{case}-value", text)
        except InvalidSchemaError:
            theirs = "error"
        else:
            theirs = "ok"
    assert ours == theirs


def test_the_manifest_refuses_a_hostile_schema_file_cleanly(tmp_path: Path) -> None:
    from playball_core.manifest import ManifestError, load_manifest  # noqa: PLC0415

    (tmp_path / "Deep.avsc").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    (tmp_path / "manifest.toml").write_text(
        '[[schema]]\nfile = "Deep.avsc"\ntopic = "t"\nsubject = "t-Deep"\n'
        'compatibility = "BACKWARD"\n',
        encoding="utf-8",
    )
    with pytest.raises(ManifestError, match="nested deeper than 256 levels"):
        load_manifest(tmp_path)
