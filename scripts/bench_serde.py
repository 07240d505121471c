"""Serde cost per record for UserRegistered: ours vs confluent-kafka's stock serdes vs fastavro.

Run: uv run python scripts/bench_serde.py [--number N] [--repeat R]

Both registry clients are in-memory fakes (ours: InMemoryRegistry; confluent's:
MockSchemaRegistryClient). Each serde looks the schema up once and caches the id and the
writer schema, so what is timed is serialization, not the network.

(a) ours: generated class + RecordSerializer / RecordDeserializer (Confluent wire format)
(b) confluent-kafka AvroSerializer / AvroDeserializer with to_dict / from_dict hooks
(c) raw fastavro schemaless_writer / schemaless_reader on a prepared dict (the floor)
(d) for reference, (c) with logical types already lowered to primitives (uuid -> str,
    timestamp -> int micros) and read without logical-type conversion: what fastavro costs
    when nobody wants UUID / datetime objects, so not a floor for a typed API
"""

import argparse
import datetime as dt
import io
import json
import timeit
import uuid
from collections.abc import Callable
from typing import Any

import fastavro
from confluent_kafka.schema_registry import topic_record_subject_name_strategy
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import (
    MockSchemaRegistryClient,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.schema_registry_client import Schema
from confluent_kafka.serialization import MessageField, SerializationContext
from playball_core.registry import InMemoryRegistry
from playball_events.contracts import UserRegistered
from playball_events.serde import RecordDeserializer, RecordSerializer

TOPIC = "playball.auth.user-events.v1"
SUBJECT = f"{TOPIC}-playball.auth.v1.UserRegistered"


def _event() -> UserRegistered:
    return UserRegistered(
        event_id=uuid.uuid4(),
        occurred_at=dt.datetime.now(dt.UTC),
        user_id=uuid.uuid4(),
        user_version=42,
        username="ada.lovelace",
        display_name="Ada Lovelace",
    )


def _per_call_us(call: Callable[[], object], number: int, repeat: int) -> float:
    """Best of ``repeat`` runs of ``number`` calls, in µs per call (least noisy estimate)."""
    return min(timeit.repeat(call, number=number, repeat=repeat)) / number * 1e6


def _ours(event: UserRegistered) -> tuple[Callable[[], bytes], Callable[[], object]]:
    registry = InMemoryRegistry()
    registry.register(SUBJECT, json.dumps(UserRegistered.avro_schema()))
    serializer = RecordSerializer(registry, TOPIC)
    deserializer = RecordDeserializer(registry, [UserRegistered])
    data = serializer.serialize(event)
    assert deserializer.deserialize(data) == event
    return (lambda: serializer.serialize(event)), (lambda: deserializer.deserialize(data))


def _confluent(event: UserRegistered) -> tuple[Callable[[], bytes], Callable[[], object]]:
    schema = json.dumps(UserRegistered.avro_schema())
    client = MockSchemaRegistryClient({"url": "mock://bench"})
    client.register_schema(SUBJECT, Schema(schema, "AVRO"))
    strategy = topic_record_subject_name_strategy
    conf = {"auto.register.schemas": False, "subject.name.strategy": strategy}
    serializer = AvroSerializer(client, schema, lambda r, _c: r.to_avro(), conf=conf)
    deserializer = AvroDeserializer(
        client,
        from_dict=lambda d, _c: UserRegistered.from_avro(d),
        conf={"subject.name.strategy": topic_record_subject_name_strategy},
    )
    context = SerializationContext(TOPIC, MessageField.VALUE)
    data: bytes = serializer(event, context)
    assert deserializer(data, context) == event
    return (lambda: serializer(event, context)), (lambda: deserializer(data, context))


def _fastavro(event: UserRegistered) -> tuple[Callable[[], bytes], Callable[[], object]]:
    return _fastavro_pair(UserRegistered.avro_schema(), event.to_avro())


def _fastavro_pair(
    schema: dict[str, Any], prepared: dict[str, Any]
) -> tuple[Callable[[], bytes], Callable[[], object]]:
    parsed = fastavro.parse_schema(schema)

    def encode() -> bytes:
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, parsed, prepared)
        return buffer.getvalue()

    body = encode()
    return encode, lambda: fastavro.schemaless_reader(io.BytesIO(body), parsed, None)


def _fastavro_primitives(
    event: UserRegistered,
) -> tuple[Callable[[], bytes], Callable[[], object]]:
    schema = UserRegistered.avro_schema()
    for field in schema["fields"]:  # drop the logical types: plain string / long
        if isinstance(field["type"], dict):
            field["type"] = field["type"]["type"]
    prepared = {
        **event.to_avro(),
        "event_id": str(event.event_id),
        "user_id": str(event.user_id),
        "occurred_at": int(event.occurred_at.timestamp() * 1_000_000),
    }
    return _fastavro_pair(schema, prepared)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20_000, help="calls per timing run")
    parser.add_argument("--repeat", type=int, default=11, help="rounds (best is kept)")
    args = parser.parse_args()

    event = _event()
    rows = {
        "(a) ours: generated class + serde": _ours(event),
        "(b) confluent AvroSerializer/Deserializer": _confluent(event),
        "(c) raw fastavro, prepared dict (floor)": _fastavro(event),
        "(d) raw fastavro, primitives only (reference)": _fastavro_primitives(event),
    }
    # Rounds are interleaved (every row once per round, best round kept) so that a burst
    # of load on this shared machine hits all rows alike instead of one row's whole run.
    best = {name: [float("inf"), float("inf")] for name in rows}
    for _round in range(args.repeat):
        for name, pair in rows.items():
            for index, call in enumerate(pair):
                best[name][index] = min(best[name][index], _per_call_us(call, args.number, 1))
    results = {name: tuple(times) for name, times in best.items()}
    print(
        "UserRegistered, µs per record (best of "
        f"{args.repeat} x {args.number}); registry clients are in-memory fakes, ids cached"
    )
    print(f"{'':44} {'encode':>8} {'decode':>8}")
    for name, (encode, decode) in results.items():
        print(f"{name:44} {encode:8.2f} {decode:8.2f}")
    (a_enc, a_dec), (b_enc, b_dec), (c_enc, c_dec), (d_enc, d_dec) = results.values()
    print(f"{'(a) / (c)  target <= 1.3':44} {a_enc / c_enc:8.2f} {a_dec / c_dec:8.2f}")
    print(f"{'(b) / (a)  target >= 1.5':44} {b_enc / a_enc:8.2f} {b_dec / a_dec:8.2f}")
    print(f"{'(a) / (d)  reference, no target':44} {a_enc / d_enc:8.2f} {a_dec / d_dec:8.2f}")


if __name__ == "__main__":
    main()
