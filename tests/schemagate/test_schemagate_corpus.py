"""The evolution corpus, and our engine held to it: offline, and against the registry.

Each case is a history of schemas (oldest first, the candidate last) and a level.
``expected`` is the verdict Avro's specification and Java's ``SchemaCompatibility`` give;
the offline test holds our engine to it. The parity tests ask the running registry (which
runs Java Avro) for its own verdict on every case and compare.

Parity procedure: each case gets its own subject. The history is registered at level NONE
(so it goes in whatever it is), then the case's level is set and the candidate is
registered: 200 means the registry finds it compatible, 409 incompatible. Registration is
the verdict that matters (it is what refuses a deploy), and it applies transitive levels as
the registry does.

Known differences between the registry here and Confluent are documented on the cases
(``registry_note``): a namespace-only change is accepted by both Apicurio (issue 8151) and
Java Avro's own checker since 1.11.1, which compares unqualified names; our engine agrees
and the gate adds a NAMESPACE_CHANGED warning on top.
"""

import json
from dataclasses import dataclass
from typing import Any

import pytest
from playball_core.avro.parser import parse_schema
from playball_core.avro.schema import SourceRef
from playball_core.manifest import CompatibilityLevel
from playball_core.registry import IncompatibleSchemaError, RegistryClient, minified
from playball_schemagate.gate import compare
from playball_schemagate.rules import RESOLUTION_RULES
from playball_schemagate.schema_version import SchemaVersion

Schema = dict[str, Any] | list[Any] | str


@dataclass(frozen=True)
class Case:
    id: str
    level: str
    versions: tuple[Schema, ...]
    expected: bool  # compatible?
    # Why the registry's answer is not Confluent's, where that is known (documented here).
    registry_note: str = ""

    def texts(self) -> list[str]:
        return [json.dumps(version, indent=2) for version in self.versions]


def rec(*fields: dict[str, Any], name: str = "R", ns: str = "t.v1", **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": ns, "fields": list(fields), **extra}


def f(name: str, type_: Schema, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def enum(*symbols: str, name: str = "Color", **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": name, "symbols": list(symbols), **extra}


def fixed(size: int, name: str = "Hash", **extra: Any) -> dict[str, Any]:
    return {"type": "fixed", "name": name, "size": size, **extra}


def node(*extra_fields: dict[str, Any]) -> dict[str, Any]:
    """A recursive linked list."""
    return rec(
        f("value", "int"),
        f("next", ["null", "Node"], default=None),
        *extra_fields,
        name="Node",
    )


ID = f("id", "string")


def _promotion_cases() -> list[Case]:
    cases = []
    for old, new, backward in [
        ("int", "long", True),
        ("int", "float", True),
        ("int", "double", True),
        ("long", "float", True),
        ("long", "double", True),
        ("float", "double", True),
        ("string", "bytes", True),
        ("bytes", "string", True),
        ("long", "int", False),
        ("double", "float", False),
        ("int", "string", False),
        ("boolean", "int", False),
        ("null", "boolean", False),
    ]:
        versions = (rec(ID, f("x", old)), rec(ID, f("x", new)))
        cases.append(Case(f"promote_{old}_to_{new}_backward", "BACKWARD", versions, backward))
    cases.append(
        Case(
            "promote_int_to_long_forward",
            "FORWARD",
            (rec(ID, f("x", "int")), rec(ID, f("x", "long"))),
            False,
        )
    )
    cases.append(
        Case(
            "string_bytes_full",
            "FULL",
            (rec(ID, f("x", "string")), rec(ID, f("x", "bytes"))),
            True,
        )
    )
    return cases


def _field_cases() -> list[Case]:
    with_default = f("email", ["null", "string"], default=None)
    return [
        Case("add_field_with_default_backward", "BACKWARD", (rec(ID), rec(ID, with_default)), True),
        Case(
            "add_field_with_default_full_transitive",
            "FULL_TRANSITIVE",
            (
                rec(ID),
                rec(ID, f("n", "int", default=0)),
                rec(ID, f("n", "int", default=0), with_default),
            ),
            True,
        ),
        Case(
            "add_field_without_default_backward",
            "BACKWARD",
            (rec(ID), rec(ID, f("n", "int"))),
            False,
        ),
        Case(
            "add_field_without_default_forward", "FORWARD", (rec(ID), rec(ID, f("n", "int"))), True
        ),
        Case(
            "remove_field_without_default_forward",
            "FORWARD",
            (rec(ID, f("n", "int")), rec(ID)),
            False,
        ),
        Case(
            "remove_field_without_default_backward",
            "BACKWARD",
            (rec(ID, f("n", "int")), rec(ID)),
            True,
        ),
        Case(
            "remove_field_with_default_full",
            "FULL",
            (rec(ID, f("n", "int", default=1)), rec(ID)),
            True,
        ),
        Case(
            "rename_field_with_alias_backward",
            "BACKWARD",
            (rec(ID, f("mail", "string")), rec(ID, f("email", "string", aliases=["mail"]))),
            True,
        ),
        Case(
            "rename_field_without_alias_backward",
            "BACKWARD",
            (rec(ID, f("mail", "string")), rec(ID, f("email", "string"))),
            False,
        ),
        Case(
            "rename_field_with_alias_forward",
            "FORWARD",
            (rec(ID, f("mail", "string")), rec(ID, f("email", "string", aliases=["mail"]))),
            False,
        ),
        Case(
            "reorder_fields_full",
            "FULL",
            (rec(ID, f("a", "int"), f("b", "string")), rec(f("b", "string"), ID, f("a", "int"))),
            True,
        ),
        Case(
            "doc_and_default_change_full",
            "FULL",
            (
                rec(ID, f("a", "int", default=1)),
                rec(ID, f("a", "int", default=2, doc="A."), doc="R."),
            ),
            True,
        ),
        Case(
            "enum_field_with_enum_default_missing_in_writer",
            "BACKWARD",
            (rec(ID), rec(ID, f("c", enum("RED", "BLUE", default="RED")))),
            False,  # Java compares the enum with the whole writer record: a type mismatch
        ),
        Case(
            "enum_field_with_field_default_missing_in_writer",
            "BACKWARD",
            (rec(ID), rec(ID, f("c", enum("RED", "BLUE"), default="RED"))),
            True,
        ),
    ]


def _name_cases() -> list[Case]:
    return [
        Case(
            "rename_record_unqualified_alias_backward",
            "BACKWARD",
            (rec(ID, name="Old"), rec(ID, name="New", aliases=["Old"])),
            True,  # Java resolves "Old" in the record's namespace: t.v1.Old
        ),
        Case(
            "rename_record_full_alias_backward",
            "BACKWARD",
            (rec(ID, name="Old"), rec(ID, name="New", aliases=["t.v1.Old"])),
            True,
        ),
        Case(
            "rename_record_no_alias_backward",
            "BACKWARD",
            (rec(ID, name="Old"), rec(ID, name="New")),
            False,
        ),
        Case(
            "rename_record_alias_forward",
            "FORWARD",
            (rec(ID, name="Old"), rec(ID, name="New", aliases=["Old"])),
            False,
        ),
        Case(
            "namespace_only_change_full",
            "FULL",
            (rec(ID, ns="t.v1"), rec(ID, ns="t.v2")),
            True,
            registry_note=(
                "Java Avro >= 1.11.1 matches named types on unqualified names, so both the "
                "registry and our engine accept it (Apicurio issue 8151); the gate warns "
                "NAMESPACE_CHANGED and fails it under --strict"
            ),
        ),
        Case(
            "rename_nested_record_with_alias_backward",
            "BACKWARD",
            (
                rec(ID, f("addr", rec(f("city", "string"), name="Address"))),
                rec(ID, f("addr", rec(f("city", "string"), name="Location", aliases=["Address"]))),
            ),
            True,
        ),
    ]


def _enum_cases() -> list[Case]:
    rgb, rg = enum("RED", "GREEN", "BLUE"), enum("RED", "GREEN")
    return [
        Case("enum_add_symbol_backward", "BACKWARD", (rec(f("c", rg)), rec(f("c", rgb))), True),
        Case("enum_add_symbol_forward", "FORWARD", (rec(f("c", rg)), rec(f("c", rgb))), False),
        Case(
            "enum_add_symbol_forward_old_default",
            "FORWARD",
            (
                rec(f("c", enum("RED", "GREEN", default="RED"))),
                rec(f("c", enum("RED", "GREEN", "BLUE", default="RED"))),
            ),
            True,
        ),
        Case("enum_remove_symbol_backward", "BACKWARD", (rec(f("c", rgb)), rec(f("c", rg))), False),
        Case(
            "enum_remove_symbol_new_default_backward",
            "BACKWARD",
            (rec(f("c", rgb)), rec(f("c", enum("RED", "GREEN", default="RED")))),
            True,
        ),
        Case(
            "enum_rename_backward",
            "BACKWARD",
            (rec(f("c", rg)), rec(f("c", enum("RED", "GREEN", name="Colour")))),
            False,
        ),
        Case(
            "enum_in_union_remove_symbol_backward",
            "BACKWARD",
            (rec(f("c", ["null", rgb], default=None)), rec(f("c", ["null", rg], default=None))),
            False,
        ),
    ]


def _fixed_cases() -> list[Case]:
    return [
        Case(
            "fixed_size_change_backward",
            "BACKWARD",
            (rec(f("h", fixed(16))), rec(f("h", fixed(32)))),
            False,
        ),
        Case(
            "fixed_same_full",
            "FULL",
            (rec(f("h", fixed(16))), rec(f("h", fixed(16), doc="hash"))),
            True,
        ),
        Case(
            "fixed_rename_alias_backward",
            "BACKWARD",
            (rec(f("h", fixed(16))), rec(f("h", fixed(16, name="Digest", aliases=["Hash"])))),
            True,
        ),
        Case(
            "fixed_to_bytes_backward",
            "BACKWARD",
            (rec(f("h", fixed(16))), rec(f("h", "bytes"))),
            False,
        ),
    ]


def _union_cases() -> list[Case]:
    ns, nsi = ["null", "string"], ["null", "string", "int"]
    return [
        Case(
            "union_add_branch_backward",
            "BACKWARD",
            (rec(f("u", ns, default=None)), rec(f("u", nsi, default=None))),
            True,
        ),
        Case(
            "union_add_branch_forward",
            "FORWARD",
            (rec(f("u", ns, default=None)), rec(f("u", nsi, default=None))),
            False,
        ),
        Case(
            "union_remove_branch_backward",
            "BACKWARD",
            (rec(f("u", nsi, default=None)), rec(f("u", ns, default=None))),
            False,
        ),
        Case(
            "plain_to_union_backward",
            "BACKWARD",
            (rec(f("u", "string")), rec(f("u", ns, default=None))),
            True,
        ),
        Case(
            "union_to_plain_backward",
            "BACKWARD",
            (rec(f("u", ns, default=None)), rec(f("u", "string"))),
            False,
        ),
        Case(
            "union_to_plain_forward",
            "FORWARD",
            (rec(f("u", ns, default=None)), rec(f("u", "string"))),
            True,
        ),
        Case(
            "union_reorder_full",
            "FULL",
            (
                rec(f("u", ["null", "string", "int"], default=None)),
                rec(f("u", ["null", "int", "string"], default=None)),
            ),
            True,
        ),
        Case(
            "union_promotion_backward",
            "BACKWARD",
            (
                rec(f("u", ["null", "int"], default=None)),
                rec(f("u", ["null", "long"], default=None)),
            ),
            True,
        ),
        Case(
            "union_promotion_forward",
            "FORWARD",
            (
                rec(f("u", ["null", "int"], default=None)),
                rec(f("u", ["null", "long"], default=None)),
            ),
            False,
        ),
        Case(
            "record_in_union_add_field_no_default_backward",
            "BACKWARD",
            (
                rec(f("p", ["null", rec(f("a", "string"), name="P")], default=None)),
                rec(
                    f(
                        "p",
                        ["null", rec(f("a", "string"), f("b", "string"), name="P")],
                        default=None,
                    )
                ),
            ),
            False,
        ),
        Case(
            "record_in_union_add_field_default_full",
            "FULL",
            (
                rec(f("p", ["null", rec(f("a", "string"), name="P")], default=None)),
                rec(
                    f(
                        "p",
                        ["null", rec(f("a", "string"), f("b", "string", default=""), name="P")],
                        default=None,
                    )
                ),
            ),
            True,
        ),
        Case(
            "record_to_union_of_records_backward",
            "BACKWARD",
            (
                rec(f("p", rec(f("a", "string"), name="P"))),
                rec(f("p", [rec(f("a", "string"), name="P"), rec(f("z", "int"), name="Q")])),
            ),
            True,
        ),
        Case(
            "null_to_optional_backward",
            "BACKWARD",
            (rec(f("u", "null")), rec(f("u", ns, default=None))),
            True,
        ),
    ]


def _container_cases() -> list[Case]:
    def arr(items: Schema) -> dict[str, Any]:
        return {"type": "array", "items": items}

    def mp(values: Schema) -> dict[str, Any]:
        return {"type": "map", "values": values}

    return [
        Case(
            "array_items_promotion_backward",
            "BACKWARD",
            (rec(f("xs", arr("int"))), rec(f("xs", arr("long")))),
            True,
        ),
        Case(
            "array_items_mismatch_backward",
            "BACKWARD",
            (rec(f("xs", arr("string"))), rec(f("xs", arr("int")))),
            False,
        ),
        Case(
            "map_values_promotion_backward",
            "BACKWARD",
            (rec(f("m", mp("int"))), rec(f("m", mp("long")))),
            True,
        ),
        Case(
            "map_values_promotion_forward",
            "FORWARD",
            (rec(f("m", mp("int"))), rec(f("m", mp("long")))),
            False,
        ),
        Case(
            "map_string_to_bytes_backward",
            "BACKWARD",
            (rec(f("m", mp("string"))), rec(f("m", mp("bytes")))),
            True,
        ),
        Case(
            "array_to_map_backward",
            "BACKWARD",
            (rec(f("m", arr("string"))), rec(f("m", mp("string")))),
            False,
        ),
        Case(
            "record_in_array_add_field_default_full",
            "FULL",
            (
                rec(f("xs", arr(rec(f("a", "int"), name="Item")))),
                rec(f("xs", arr(rec(f("a", "int"), f("b", "int", default=0), name="Item")))),
            ),
            True,
        ),
        Case(
            "nested_record_add_field_no_default_backward",
            "BACKWARD",
            (
                rec(f("n", rec(f("a", "int"), name="Inner"))),
                rec(f("n", rec(f("a", "int"), f("b", "int"), name="Inner"))),
            ),
            False,
        ),
    ]


def _recursive_cases() -> list[Case]:
    return [
        Case(
            "recursive_add_field_default_full",
            "FULL",
            (node(), node(f("label", "string", default=""))),
            True,
        ),
        Case(
            "recursive_add_field_no_default_backward",
            "BACKWARD",
            (node(), node(f("label", "string"))),
            False,
        ),
        Case(
            "recursive_promotion_forward",
            "FORWARD",
            (node(f("w", "int")), node(f("w", "long"))),
            False,
        ),
        Case(
            "recursive_promotion_backward",
            "BACKWARD",
            (node(f("w", "int")), node(f("w", "long"))),
            True,
        ),
    ]


def _transitive_cases() -> list[Case]:
    x = f("x", "string")
    backward_history = (rec(x), rec(x, f("y", "int", default=0)), rec(x, f("y", "int")))
    forward_history = (rec(x, f("y", "int")), rec(x, f("y", "int", default=0)), rec(x))
    return [
        Case("backward_only_latest", "BACKWARD", backward_history, True),
        Case("backward_transitive_all", "BACKWARD_TRANSITIVE", backward_history, False),
        Case("forward_only_latest", "FORWARD", forward_history, True),
        Case("forward_transitive_all", "FORWARD_TRANSITIVE", forward_history, False),
        Case("full_only_latest", "FULL", forward_history, True),
        Case("full_transitive_all", "FULL_TRANSITIVE", forward_history, False),
        Case("none_allows_anything", "NONE", (rec(f("x", "int")), rec(f("x", "string"))), True),
    ]


def _logical_cases() -> list[Case]:
    ts_ms = {"type": "long", "logicalType": "timestamp-millis"}
    ts_us = {"type": "long", "logicalType": "timestamp-micros"}
    dec = {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}
    return [
        Case(
            "logical_type_change_full",
            "FULL",
            (rec(f("t", ts_ms)), rec(f("t", ts_us))),
            True,
            registry_note="resolution ignores logical types; the gate warns LOGICAL_TYPE_CHANGED",
        ),
        Case(
            "decimal_scale_change_full",
            "FULL",
            (rec(f("d", dec)), rec(f("d", {**dec, "scale": 4}))),
            True,
            registry_note="resolution ignores decimal parameters; the gate warns",
        ),
    ]


def _empty_union_cases() -> list[Case]:
    """Avro's TestSchemaCompatibility: every reader reads an empty-union writer (no branch)."""
    readers: list[Schema] = [[], ["int"], ["long"], ["float"], ["string"], ["bytes"]]
    cases = [
        Case(
            f"empty_union_writer_read_by_{'_'.join(map(str, reader)) or 'empty'}",
            "BACKWARD",
            ([], reader),
            True,
        )
        for reader in readers
    ]
    cases.append(Case("empty_union_reader_of_int_union", "FORWARD", ([], ["int"]), False))
    return cases


def all_cases() -> list[Case]:
    return [
        *_promotion_cases(),
        *_empty_union_cases(),
        *_field_cases(),
        *_name_cases(),
        *_enum_cases(),
        *_fixed_cases(),
        *_union_cases(),
        *_container_cases(),
        *_recursive_cases(),
        *_transitive_cases(),
        *_logical_cases(),
    ]


CASES = all_cases()


def _our_verdict(case: Case) -> bool:
    versions = [
        SchemaVersion(f"v{index}", parse_schema(text, SourceRef(f"{case.id} v{index}")))
        for index, text in enumerate(case.texts(), start=1)
    ]
    findings = compare(versions[-1], versions[:-1], CompatibilityLevel(case.level))
    return not any(finding.rule in RESOLUTION_RULES for finding in findings)


def _registry_verdict(client: RegistryClient, subject: str, case: Case) -> bool:
    *history, candidate = [minified(text) for text in case.texts()]
    client.set_level(subject, CompatibilityLevel.NONE)
    for text in history:
        client.register(subject, text)
    assert len(client.versions(subject)) == len(history)
    client.set_level(subject, CompatibilityLevel(case.level))
    try:
        client.register(subject, candidate)
    except IncompatibleSchemaError:
        return False
    return True


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 50
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.stack
def test_verdicts_equal_the_registrys(registry_url: str, unique_name: str) -> None:
    disagreements: list[str] = []
    with RegistryClient(registry_url) as client:
        for case in CASES:
            ours = _our_verdict(case)
            theirs = _registry_verdict(client, f"{unique_name}-{case.id}", case)
            if ours != theirs:
                disagreements.append(f"{case.id}: ours={ours} registry={theirs}")
    assert disagreements == []


@pytest.mark.stack
def test_registry_check_endpoint_agrees_without_registering(
    registry_url: str, unique_name: str
) -> None:
    """The compatibility endpoint (used by `check --registry`) gives the same verdicts."""
    non_transitive = [c for c in CASES if not c.level.endswith("TRANSITIVE")][:20]
    with RegistryClient(registry_url) as client:
        for case in non_transitive:
            subject = f"{unique_name}-check-{case.id}"
            *history, candidate = [minified(text) for text in case.texts()]
            client.set_level(subject, CompatibilityLevel.NONE)
            for text in history:
                client.register(subject, text)
            client.set_level(subject, CompatibilityLevel(case.level))
            assert client.is_compatible(subject, candidate) == _our_verdict(case), case.id
            assert client.versions(subject) == list(range(1, len(history) + 1))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_engine_gives_the_expected_verdict(case: Case) -> None:
    assert _our_verdict(case) is case.expected
