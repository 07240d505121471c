"""A broker that does not answer makes a topic's place unreachable (named), never a
finding and never a hang: the audit then exits 3."""

from playball_privacy.topic_scan_kafka import scan_topic
from support.stack_env import free_port


def test_a_topic_on_a_broker_that_does_not_answer_is_an_unreachable_place() -> None:
    nobody = f"127.0.0.1:{free_port()}"  # nothing listens there
    place = scan_topic(nobody, "some-topic", b"key", lambda _value: None, timeout=1.0)
    assert place.location == "kafka some-topic"
    assert place.error is not None
    assert "some-topic" in place.error
    assert place.findings == ()
