"""Spec points: invalid logical types ignored, union defaults of any branch, branches kept."""

import io
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import fastavro
import pytest
from playball_codegen.cli import app
from typer.testing import CliRunner

from codegen.conftest import generate_and_import


def _write_schema(directory: Path, schema: dict[str, Any]) -> Path:
    directory.mkdir(parents=True)
    path = directory / f"{schema['name']}.avsc"
    path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    return directory


def _generate(
    generated_root: Path, tmp_path: Path, package: str, schema: dict[str, Any]
) -> ModuleType:
    return generate_and_import(_write_schema(tmp_path / package, schema), generated_root, package)


def _fastavro_bytes(schema: dict[str, Any], datum: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), datum)
    return buffer.getvalue()


BYTES_OR_FIXED = {
    "type": "record",
    "name": "Blob",
    "namespace": "spec",
    "fields": [{"name": "u", "type": ["bytes", {"type": "fixed", "name": "Four", "size": 4}]}],
}


def test_bytes_and_fixed_in_one_union_keep_their_branch(
    generated_root: Path, tmp_path: Path
) -> None:
    module = _generate(generated_root, tmp_path, "spec_bytes_fixed", BYTES_OR_FIXED)
    raw = b"\x01\x02\x03\x04"

    as_bytes = module.Blob(u=raw).to_avro_bytes()
    as_fixed = module.Blob(u=module.Four(raw)).to_avro_bytes()

    # What fastavro writes for the bytes branch (index 0, length 4) and the fixed (index 1).
    assert as_bytes == bytes.fromhex("00 08 01 02 03 04")
    assert as_bytes == _fastavro_bytes(BYTES_OR_FIXED, {"u": ("bytes", raw)})
    assert as_fixed == bytes.fromhex("02 01 02 03 04")
    assert as_fixed == _fastavro_bytes(BYTES_OR_FIXED, {"u": ("spec.Four", raw)})
    read_bytes = module.Blob.from_avro_bytes(as_bytes).u
    read_fixed = module.Blob.from_avro_bytes(as_fixed).u
    assert type(read_bytes) is bytes
    assert read_bytes == raw
    assert isinstance(read_fixed, module.Four)
    assert bytes(read_fixed) == raw
    assert module.Blob.from_avro_bytes(as_fixed).to_avro_bytes() == as_fixed
    # Records that would write different branches are not equal.
    assert module.Blob(u=raw) != module.Blob(u=module.Four(raw))
    assert module.Blob(u=module.Four(raw)) == module.Blob.from_avro_bytes(as_fixed)


def test_a_fixed_branch_class_refuses_the_wrong_size(generated_root: Path, tmp_path: Path) -> None:
    module = _generate(generated_root, tmp_path, "spec_fixed_size", BYTES_OR_FIXED)
    with pytest.raises(ValueError, match="exactly 4 bytes"):
        module.Four(b"\x01\x02")


def test_a_union_default_of_a_later_branch_is_that_branchs_value(
    generated_root: Path, tmp_path: Path
) -> None:
    schema = {
        "type": "record",
        "name": "Later",
        "namespace": "spec",
        "fields": [
            {"name": "s", "type": ["null", "string"], "default": "x"},
            {"name": "n", "type": ["string", "null", "long"], "default": 7},
        ],
    }
    module = _generate(generated_root, tmp_path, "spec_union_default", schema)
    record = module.Later()
    assert (record.s, record.n) == ("x", 7)
    data = record.to_avro_bytes()
    assert data == _fastavro_bytes(schema, {"s": "x", "n": 7})
    assert module.Later.from_avro_bytes(data) == record


@pytest.mark.parametrize(
    ("field_type", "warning"),
    [
        ({"type": "bytes", "logicalType": "decimal", "precision": 2, "scale": 3}, "greater than"),
        (
            {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": "2"},
            "not an integer",
        ),
        (
            {"type": "fixed", "name": "Small", "size": 2, "logicalType": "decimal", "precision": 9},
            "a fixed of 2 bytes holds 4 digits, not 9",
        ),
    ],
    ids=["scale-above-precision", "string-scale", "precision-too-large-for-fixed"],
)
def test_an_invalid_decimal_is_ignored_with_a_warning_and_the_underlying_type_used(
    generated_root: Path, tmp_path: Path, field_type: dict[str, Any], warning: str
) -> None:
    schema = {"type": "record", "name": "Money", "fields": [{"name": "d", "type": field_type}]}
    directory = _write_schema(tmp_path / "cli", schema)
    result = CliRunner().invoke(
        app, ["generate", str(directory), "--out", str(tmp_path / "out"), "--package", "pkg"]
    )
    assert result.exit_code == 0, result.output
    assert "warning: " in result.output
    assert warning in result.output
    assert "underlying" in result.output

    package = f"spec_decimal_{field_type['type']}_{abs(hash(json.dumps(field_type))) % 10**6}"
    module = _generate(generated_root, tmp_path, package, schema)
    size = field_type.get("size", 3)
    record = module.Money(d=b"\x00" * size)  # plain bytes: no decimal conversion
    data = record.to_avro_bytes()
    assert module.Money.from_avro_bytes(data) == record
    # fastavro refuses an invalid decimal where Java ignores it: the class's schema leaves
    # the ignored logical type out, so fastavro reads the underlying type, as Java does.
    generated = module.Money.avro_schema()
    assert "logicalType" not in json.dumps(generated)
    parsed = fastavro.parse_schema(generated)
    assert fastavro.schemaless_reader(io.BytesIO(data), parsed, None) == {"d": b"\x00" * size}


def test_unicode_names_generate_python_identifiers(generated_root: Path, tmp_path: Path) -> None:
    schema = {
        "type": "record",
        "name": "Résumé",
        "namespace": "spec",
        "fields": [{"name": "名前", "type": "string"}],
    }
    module = _generate(generated_root, tmp_path, "spec_unicode", schema)
    record = module.Résumé(名前="たなか")
    assert module.Résumé.from_avro_bytes(record.to_avro_bytes()) == record


def test_a_null_namespace_inherits_and_the_class_schema_spells_it_out(
    generated_root: Path, tmp_path: Path
) -> None:
    # Java (and the registry) inherit a.b for "namespace": null; fastavro would read the
    # null namespace, so the class's schema writes the inherited namespace explicitly.
    schema = {
        "type": "record",
        "name": "Outer",
        "namespace": "a.b",
        "fields": [
            {
                "name": "i",
                "type": {"type": "record", "name": "Inner", "namespace": None, "fields": []},
            },
            {"name": "j", "type": "a.b.Inner"},
        ],
    }
    module = _generate(generated_root, tmp_path, "spec_null_namespace", schema)
    inner_schema = module.Outer.avro_schema()["fields"][0]["type"]
    assert inner_schema["namespace"] == "a.b"
    assert module.Inner.avro_schema()["namespace"] == "a.b"
    record = module.Outer(i=module.Inner(), j=module.Inner())
    assert module.Outer.from_avro_bytes(record.to_avro_bytes()) == record
