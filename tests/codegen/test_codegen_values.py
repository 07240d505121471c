"""Values the generated classes refuse: they name the field and the rule."""

import datetime as dt
import decimal
import uuid
from types import ModuleType
from typing import Any

import pytest


def _logical(corpus: ModuleType, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "id_": uuid.uuid4(),
        "day": dt.date(2024, 2, 29),
        "at_ms": dt.time(1, 2, 3, 4000),
        "at_us": dt.time(1, 2, 3, 4),
        "ts_ms": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        "ts_us": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        "local_ms": dt.datetime(2024, 1, 1),
        "local_us": dt.datetime(2024, 1, 1),
        "price": decimal.Decimal("1234567.89"),
        "balance": decimal.Decimal("-12.5"),
        "unknown_logical": "NO",
        "history": [],
        "maybe_when": None,
    }
    values.update(changes)
    return corpus.LogicalTypes(**values)


def test_logical_types_round_trip_as_python_objects(corpus: ModuleType) -> None:
    record = _logical(corpus, maybe_when=dt.datetime(2024, 5, 6, 7, 8, 9, 10000, tzinfo=dt.UTC))
    decoded = corpus.LogicalTypes.from_avro_bytes(record.to_avro_bytes())
    assert decoded == record
    assert isinstance(decoded.id_, uuid.UUID)
    assert decoded.ts_us.tzinfo is not None and decoded.local_us.tzinfo is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ts_us": dt.datetime(2024, 1, 1)}, "LogicalTypes.ts_us: .* naive datetime"),
        ({"history": [dt.datetime(2024, 1, 1)]}, r"LogicalTypes.history\[\]: .* naive"),
        ({"maybe_when": dt.datetime(2024, 1, 1)}, "LogicalTypes.maybe_when: .* naive"),
        ({"local_ms": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)}, "local_ms: .* has a time zone"),
        ({"price": decimal.Decimal("1.234")}, "price: .* more than 2 digits after the point"),
        ({"price": decimal.Decimal("12345678.9")}, r"price: .* more than 9 digits \(precision"),
        ({"balance": decimal.Decimal("NaN")}, "balance: NaN is not a finite decimal"),
    ],
)
def test_out_of_range_logical_values_are_rejected(
    corpus: ModuleType, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _logical(corpus, **changes)


def test_fixed_length_is_checked(corpus: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"Card.fingerprint: fixed needs exactly 16 bytes, got 3"):
        corpus.Card(rank=1, fingerprint=b"abc", other_suits=[])


def test_aware_timestamps_in_other_zones_keep_their_instant(corpus: ModuleType) -> None:
    zone = dt.timezone(dt.timedelta(hours=5))
    record = _logical(corpus, ts_ms=dt.datetime(2024, 1, 1, 5, tzinfo=zone))
    decoded = corpus.LogicalTypes.from_avro_bytes(record.to_avro_bytes())
    assert decoded.ts_ms == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
