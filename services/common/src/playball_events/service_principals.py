"""Who runs the relay and the consumer: the principals ``playball topics ensure`` grants
ACLs to (see :mod:`playball_events.topics_acls_kafka`), the consumer's group, and the
readers topic the consumer reports itself on."""

from dataclasses import dataclass

from playball_core.local_stack import KAFKA_CONSUMER, KAFKA_RELAY

DEFAULT_CONSUMER_GROUP = "playball-groups"
DEFAULT_READERS_TOPIC = "_playball.readers"


@dataclass(frozen=True, slots=True)
class ServicePrincipals:
    relay: str = KAFKA_RELAY
    consumer: str = KAFKA_CONSUMER
    consumer_group: str = DEFAULT_CONSUMER_GROUP
    readers_topic: str = DEFAULT_READERS_TOPIC
