"""Schema evolution: v1 bytes read by the v2 class and v2 bytes by the v1 class."""

import datetime as dt
import uuid
from types import ModuleType
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

Versions = tuple[ModuleType, ModuleType]
NAMES = st.text(max_size=10)


@settings(max_examples=50, deadline=None)
@given(name=NAMES, score=st.integers(-(2**31), 2**31 - 1), banned=st.booleans())
def test_v1_bytes_read_by_v2_class_fill_converted_defaults(
    evolution: Versions, name: str, score: int, banned: bool
) -> None:
    v1, v2 = evolution
    status = v1.Status.BANNED if banned else v1.Status.ACTIVE
    old = v1.Profile(
        id_=uuid.uuid4(),
        name=name,
        nickname="n",
        status=status,
        score=score,
        address=v1.Address(city="Oslo"),
    )

    new = v2.Profile.from_avro_bytes(old.to_avro_bytes(), writer_schema=v1.Profile.avro_schema())

    assert (new.id_, new.name, new.score, new.status.value) == (old.id_, name, score, status.value)
    assert new.address == v2.Address(city="Oslo", zip_="00000")
    assert new.referrer == uuid.UUID("00000000-0000-4000-8000-000000000002")
    assert new.joined == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert new.tags == ["new"]
    assert new.home == v2.Address(city="Nowhere", zip_="00000")


def test_defaults_filled_on_read_are_not_shared(evolution: Versions) -> None:
    v1, v2 = evolution
    old = v1.Profile(
        id_=uuid.uuid4(),
        name="a",
        status=v1.Status.ACTIVE,
        score=1,
        address=v1.Address(city="x"),
    )
    read = v2.Profile.avro_decoder(v1.Profile.avro_schema())
    first, second = read(old.to_avro_bytes()), read(old.to_avro_bytes())
    first.tags.append("mutated")
    assert second.tags == ["new"]


@settings(max_examples=50, deadline=None)
@given(name=NAMES, score=st.integers(-(2**31), 2**31 - 1), tags=st.lists(st.text(max_size=3)))
def test_v2_bytes_read_by_v1_class_drop_new_fields(
    evolution: Versions, name: str, score: int, tags: list[str]
) -> None:
    v1, v2 = evolution
    new = v2.Profile(
        id_=uuid.uuid4(),
        name=name,
        status=v2.Status.SUSPENDED,
        score=score,
        address=v2.Address(city="Rome", zip_="00100"),
        tags=tags,
    )

    old = v1.Profile.from_avro_bytes(new.to_avro_bytes(), writer_schema=v2.Profile.avro_schema())

    assert (old.id_, old.name, old.score) == (new.id_, name, score)
    assert old.status is v1.Status.ACTIVE  # unknown symbol -> the enum's default
    assert old.nickname is None  # v2 dropped it: v1's default applies
    assert old.address == v1.Address(city="Rome")


def test_schemas_are_parsed_once_not_per_call(
    evolution: Versions, monkeypatch: pytest.MonkeyPatch
) -> None:
    v1, v2 = evolution
    old = v1.Profile(
        id_=uuid.uuid4(), name="a", status=v1.Status.ACTIVE, score=1, address=v1.Address(city="x")
    )
    data, writer = old.to_avro_bytes(), v1.Profile.avro_schema()
    v2.Profile.from_avro_bytes(data, writer_schema=writer)  # the first read may parse
    parses: list[object] = []
    real = fastavro.parse_schema

    def counting(schema: Any, *args: Any, **kwargs: Any) -> Any:
        parses.append(schema)
        return real(schema, *args, **kwargs)

    monkeypatch.setattr(fastavro, "parse_schema", counting)
    for _ in range(3):
        assert v1.Profile.from_avro_bytes(old.to_avro_bytes()) == old
        assert v2.Profile.from_avro_bytes(data, writer_schema=writer).name == "a"
        assert v2.Profile.from_avro_bytes(data, writer_schema=dict(writer)).name == "a"
    assert parses == []
    # A writer schema not seen before is parsed once, then its resolver is reused.
    other = {**writer, "doc": "same fields, new doc"}
    for _ in range(3):
        v2.Profile.from_avro_bytes(data, writer_schema=other)
    assert len(parses) == 1
