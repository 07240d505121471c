"""The corpus: generation, import, static checks and round trips against fastavro."""

import io
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codegen.avro_data import AvroData
from codegen.conftest import CORPUS

ROOT = Path(__file__).resolve().parents[2]
RECORDS = [
    "AlphaV1Event",
    "BetaV1Event",
    "Board",
    "Card",
    "Circle",
    "Defaults",
    "Documented",
    "Drawing",
    "Envelope",
    "Failure",
    "Inner",
    "Keywords",
    "Label",
    "Leaf",
    "LinkedList",
    "LogicalTypes",
    "Nothing",
    "Outer",
    "Pair",
    "Point",
    "Primitives",
    "Square",
    "Start",
    "Stop",
    "TreeNode",
]
ENUMS = ["Keyword", "Mood", "Suit"]
# Fixed types that share a union with bytes get a bytes subclass saying which branch it is.
FIXED = ["Code"]
ROUND_TRIPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_corpus_is_big_enough() -> None:
    assert len(list(CORPUS.glob("*.avsc"))) >= 15


def test_every_record_and_enum_is_exported(corpus: ModuleType) -> None:
    assert sorted(corpus.__all__) == sorted(RECORDS + ENUMS + FIXED)


def test_generated_code_passes_mypy_strict_and_ruff(corpus: ModuleType, tmp_path: Path) -> None:
    package_dir = Path(str(corpus.__file__)).parent
    usage = package_dir.parent / "corpus_usage.py"
    usage.write_text(USAGE, encoding="utf-8")
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\nwarn_unreachable = True\n", encoding="utf-8")
    mypy = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--no-incremental",
            "-p",
            "corpus_contracts",
            "-m",
            "corpus_usage",
        ],
        cwd=package_dir.parent,
        capture_output=True,
        text=True,
        check=False,
        env={"MYPYPATH": str(package_dir.parent), "PATH": ""},
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    ruff = Path(sys.executable).with_name("ruff")
    config_file = str(ROOT / "pyproject.toml")
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [str(ruff), *command, "--config", config_file, "--no-cache", str(package_dir)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


# Typed use of the generated API: mypy must accept it (and reject nothing here).
USAGE = """
import datetime
import decimal
import uuid

from corpus_contracts import Card, Defaults, Drawing, Keywords, Square, Suit

card = Card(rank=1, fingerprint=b"0" * 16, other_suits=[Suit.CLUBS])
suit: Suit = card.suit
drawing = Drawing(main=Square(side=1.0), layers=["x", Square(side=2.0)], tagged=None)
main: object = drawing.main
defaults = Defaults()
when: datetime.datetime = defaults.since
ident: uuid.UUID = defaults.id_
amount: decimal.Decimal = defaults.amount
data: bytes = card.to_avro_bytes()
again: Card = Card.from_avro_bytes(data)
read = Card.avro_decoder(Card.avro_schema())
also: Card = read(data)
keywords_type = Keywords.__dataclass_fields__["class_"]
"""


def _class(corpus: ModuleType, name: str) -> Any:
    return getattr(corpus, name)


def _write(parsed: Any, datum: Any) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, datum)
    return buffer.getvalue()


def _read(parsed: Any, data: bytes) -> Any:
    return fastavro.schemaless_reader(io.BytesIO(data), parsed, None, return_named_type=True)


@pytest.mark.parametrize("name", RECORDS)
@ROUND_TRIPS
@given(data=st.data())
def test_fastavro_bytes_decode_into_the_class_and_reencode_identically(
    corpus: ModuleType, name: str, data: st.DataObject
) -> None:
    cls = _class(corpus, name)
    schema = cls.avro_schema()
    parsed = fastavro.parse_schema(schema)
    datum = data.draw(AvroData(schema).for_schema(schema))
    written = _write(parsed, datum)

    record = cls.from_avro_bytes(written)

    assert isinstance(record, cls)
    assert record.to_avro_bytes() == written
    assert cls.from_avro(_read(parsed, written)) == record


@pytest.mark.parametrize("name", RECORDS)
@ROUND_TRIPS
@given(data=st.data())
def test_class_bytes_decode_with_fastavro_and_reencode_identically(
    corpus: ModuleType, name: str, data: st.DataObject
) -> None:
    cls = _class(corpus, name)
    schema = cls.avro_schema()
    parsed = fastavro.parse_schema(schema)
    record = cls.from_avro(data.draw(AvroData(schema).for_schema(schema)))
    written = record.to_avro_bytes()

    read_back = _read(parsed, written)

    assert _write(parsed, read_back) == written
    assert cls.from_avro(read_back) == record


def test_top_level_schema_equals_the_source_file(corpus: ModuleType) -> None:
    for name, file in [
        ("Primitives", "Primitives.avsc"),
        ("Drawing", "Shapes.avsc"),
        ("Documented", "Docs.avsc"),
        ("TreeNode", "Tree.avsc"),
        ("LogicalTypes", "LogicalTypes.avsc"),
    ]:
        cls = _class(corpus, name)
        assert cls.avro_schema() == json.loads((CORPUS / file).read_text()), name


def test_schema_using_other_files_is_the_file_with_those_types_inlined(
    corpus: ModuleType,
) -> None:
    # Defaults.avsc refers to corpus.cards.Suit (Suit.avsc) once: that use becomes the
    # definition; everything else, docs and defaults included, is the file unchanged.
    expected = json.loads((CORPUS / "Defaults.avsc").read_text())
    suit = json.loads((CORPUS / "Suit.avsc").read_text())
    [field] = [f for f in expected["fields"] if f["type"] == "corpus.cards.Suit"]
    field["type"] = suit
    assert corpus.Defaults.avro_schema() == expected


def test_named_types_from_other_files_are_inlined_at_first_use(corpus: ModuleType) -> None:
    card = corpus.Card.avro_schema()
    source = json.loads((CORPUS / "Card.avsc").read_text())
    suit = json.loads((CORPUS / "Suit.avsc").read_text())
    assert card["fields"][0]["type"] == suit  # first use: the definition
    assert card["fields"][3]["type"]["items"] == "corpus.cards.Suit"  # later: by name
    assert [f["name"] for f in card["fields"]] == [f["name"] for f in source["fields"]]
    defaults = corpus.Defaults.avro_schema()
    assert defaults["fields"][8]["type"]["name"] == "Suit"


def test_nested_definition_schema_stands_alone_with_its_namespace(corpus: ModuleType) -> None:
    leaf = corpus.Leaf.avro_schema()
    assert leaf == {
        "type": "record",
        "name": "Leaf",
        "namespace": "corpus.nest.deep",
        "fields": [{"name": "v", "type": "string"}],
    }
    parsed: Any = fastavro.parse_schema(corpus.Inner.avro_schema())
    assert parsed["name"] == "corpus.nest.deep.Inner"


def test_avro_schema_returns_a_fresh_copy(corpus: ModuleType) -> None:
    first = corpus.Card.avro_schema()
    first["fields"].clear()
    assert corpus.Card.avro_schema()["fields"]


def test_keyword_fields_keep_their_avro_names_on_the_wire(corpus: ModuleType) -> None:
    record = corpus.Keywords(
        class_="c",
        from_=1,
        type_="t",
        type__="t2",
        id_=2,
        list_=["l"],
        self=True,
        None_=None,
        match_=3,
        to_avro_="x",
        f__secret="s",
        cls=4,
        kwargs=5,
        Keyword_=corpus.Keyword.None_,
    )
    as_dict = record.to_avro()
    assert as_dict["class"] == "c" and as_dict["type_"] == "t2" and as_dict["__secret"] == "s"
    assert as_dict["Keyword"] == "None"
    assert corpus.Keywords.from_avro_bytes(record.to_avro_bytes()) == record


def test_union_of_records_picks_the_branch_by_class(corpus: ModuleType) -> None:
    # Circle and Square have the same shape on the wire; only the class tells them apart.
    for shape in (corpus.Circle(radius=1.0), corpus.Square(side=1.0)):
        drawing = corpus.Drawing(main=shape, layers=[shape], tagged={"k": "v"})
        decoded = corpus.Drawing.from_avro_bytes(drawing.to_avro_bytes())
        assert type(decoded.main) is type(shape)
        assert decoded == drawing


def test_defaults_are_converted_and_never_shared(corpus: ModuleType) -> None:
    first, second = corpus.Defaults(), corpus.Defaults()
    assert first == second
    assert first.numbers is not second.numbers
    assert first.point.tags is not second.point.tags
    assert first.point == corpus.Point(x=0, y=5, tags=["t"])
    assert first.suit is corpus.Suit.CLUBS
    assert first.since.tzinfo is not None and first.since.microsecond == 123000
    assert str(first.amount) == "12.34"
    assert first.raw == b"\x00\xff" and first.hash_ == b"abcd"
    assert first.first_branch == "first"
    assert corpus.Card(rank=1, fingerprint=b"x" * 16, other_suits=[]).suit is corpus.Suit.HEARTS


def test_recursive_records_round_trip(corpus: ModuleType) -> None:
    leaf = corpus.TreeNode(value=2)
    tree = corpus.TreeNode(value=1, children=[leaf], parent_hint=leaf, by_name={"a": leaf})
    assert corpus.TreeNode.from_avro_bytes(tree.to_avro_bytes()) == tree
    chain = corpus.LinkedList(head="a", tail=corpus.LinkedList(head="b", tail=None))
    assert corpus.LinkedList.from_avro_bytes(chain.to_avro_bytes()) == chain


def test_docs_become_docstrings(corpus: ModuleType) -> None:
    assert corpus.Documented.__doc__.startswith("A record whose doc is long enough")
    assert '"""' in corpus.Documented.__doc__
    assert corpus.Suit.__doc__.startswith("A card suit")
    source = Path(str(corpus.__file__)).with_name("records.py").read_text()
    assert '"""A field doc that is also quite long' in source


def test_records_are_frozen_and_keyword_only(corpus: ModuleType) -> None:
    leaf = corpus.Leaf(v="x")
    with pytest.raises(AttributeError):
        leaf.v = "y"
    with pytest.raises(TypeError):
        corpus.Leaf("x")
    assert not hasattr(leaf, "__dict__")  # slots
