"""Generated classes keep fields tagged PII out of their repr, str and error messages."""

import dataclasses
import datetime as dt
import decimal
import json
import logging
import traceback
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from playball_codegen.generate import MARKER, plan
from playball_events.contracts import UserRegistered, UserUpdated

from codegen.conftest import generate_and_import

PII = {"confluent:tags": ["PII"]}
SECRET = "Zq7-personal-value"
ADDRESS = {
    "type": "record",
    "name": "Address",
    "fields": [
        {"name": "street", "type": "string", **PII},
        {"name": "country", "type": "string", "confluent:tags": ["NOT_PII"]},
    ],
}
PERSON = {
    "type": "record",
    "name": "Person",
    "namespace": "personal.test",
    "fields": [
        {"name": "number", "type": "long"},
        {"name": "name", "type": "string", **PII},
        {"name": "nick", "type": ["null", "string"], "default": None, **PII},
        {"name": "born", "type": {"type": "long", "logicalType": "timestamp-micros"}, **PII},
        {
            "name": "income",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2},
            **PII,
        },
        {"name": "emails", "type": {"type": "array", "items": "string"}, **PII},
        {"name": "home", "type": ["null", ADDRESS], "default": None},
        {"name": "note", "type": "string"},
    ],
}


@pytest.fixture(scope="module")
def schema_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("personal-schemas")
    (directory / "Person.avsc").write_text(json.dumps(PERSON, indent=2), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def personal(schema_dir: Path, generated_root: Path) -> ModuleType:
    return generate_and_import(schema_dir, generated_root, "personal_contracts")


def person(module: ModuleType, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "number": 7,
        "name": SECRET,
        "nick": SECRET + "-nick",
        "born": dt.datetime(1990, 5, 17, tzinfo=dt.UTC),
        "income": decimal.Decimal("1234.56"),
        "emails": [SECRET + "@example.org"],
        "home": module.Address(street=SECRET + " street 1", country="NL"),
        "note": "not personal",
    }
    return module.Person(**{**values, **changes})


def test_repr_and_str_show_tagged_fields_as_pii(personal: ModuleType) -> None:
    record = person(personal)
    for shown in (repr(record), str(record), f"{record}", f"{[record]}"):
        assert SECRET not in shown
        assert "1990" not in shown
        assert "1234.56" not in shown
        assert "name=<PII>" in shown
        assert "nick=<PII>" in shown
        assert "emails=<PII>" in shown
        # untagged fields show as dataclass shows them; a nested record redacts its own
        assert "number=7" in shown
        assert "note='not personal'" in shown
        assert "home=Address(street=<PII>, country='NL')" in shown
    assert personal.Person.PERSONAL_FIELDS == ("name", "nick", "born", "income", "emails")
    assert personal.Address.PERSONAL_FIELDS == ("street",)


def test_the_user_contracts_redact_username_and_display_name() -> None:
    for record_class in (UserRegistered, UserUpdated):
        assert record_class.PERSONAL_FIELDS == ("username", "display_name")
    record = UserUpdated(
        event_id=uuid.uuid4(),
        occurred_at=dt.datetime.now(dt.UTC),
        user_id=uuid.uuid4(),
        user_version=2,
        username="z" + SECRET,
        display_name=SECRET,
    )
    assert SECRET not in repr(record)
    assert repr(record).endswith("user_version=2, username=<PII>, display_name=<PII>)")
    # equality and hashing are dataclass's own, untouched
    copied = UserUpdated(**{f.name: getattr(record, f.name) for f in dataclasses.fields(record)})
    assert copied == record
    assert hash(copied) == hash(record)


def test_value_checks_on_a_tagged_field_name_it_but_show_no_value(personal: ModuleType) -> None:
    naive = dt.datetime(1990, 5, 17, 8, 30)
    with pytest.raises(ValueError, match=r"Person.born: <PII> is a naive datetime") as caught:
        person(personal, born=naive)
    assert "1990" not in str(caught.value)
    with pytest.raises(ValueError, match=r"Person.income: <PII> has more than 2 digits"):
        person(personal, income=decimal.Decimal("1.234"))


def test_an_encoding_error_loses_the_records_personal_values(
    personal: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    # A value of the wrong type in a union: fastavro's message quotes it ("987654321 (type
    # <class 'int'>) do not match ['null', 'string'] on field nick").
    record = person(personal, nick=987654321)
    with pytest.raises(ValueError, match="on field nick") as caught:
        record.to_avro_bytes()
    assert "987654321" not in str(caught.value)
    assert "<PII> (type <class 'int'>)" in str(caught.value)
    # the traceback a logger prints carries no chained original either
    logging.getLogger("test").exception("encoding failed", exc_info=caught.value)
    assert caught.value.__cause__ is None
    assert "987654321" not in "".join(traceback.format_exception(caught.value))
    assert "987654321" not in caplog.text


def test_generation_stays_deterministic_and_marked(schema_dir: Path, tmp_path: Path) -> None:
    first = plan(schema_dir, tmp_path / "a", "personal_again").files
    second = plan(schema_dir, tmp_path / "b", "personal_again").files
    assert first == second
    records = first["records.py"]
    assert MARKER in records
    assert "repr=False" in records
    assert records.count("def __repr__(self) -> str:") == 2  # Person and Address
