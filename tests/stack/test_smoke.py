"""The main job's proof: one contract event through serializer, broker and back."""

import pytest
from playball_stack.smoke_kafka import SMOKE_TOPIC, run_smoke
from support.kafka import client_config, consume

pytestmark = pytest.mark.stack


def test_smoke_event_round_trips_in_confluent_wire_format(
    kafka_bootstrap: str, registry_url: str
) -> None:
    # as the test process's principal, the admin: `playball stack smoke` runs as it too
    result = run_smoke(kafka_bootstrap, registry_url, security=client_config(kafka_bootstrap))

    # the message on the topic carries magic byte 0 and the registry's schema id
    values = [
        value for _key, value in consume(kafka_bootstrap, SMOKE_TOPIC, expected=result.offset + 1)
    ]
    written = values[result.offset]
    assert written is not None
    assert written[0] == 0
    assert int.from_bytes(written[1:5], "big") == result.schema_id
