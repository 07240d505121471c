"""Who a test's clients and processes connect as, on the secured stack.

The test process itself is ``playball-admin`` (the stack's super user): it creates
topics, forges events and reads topics back. A relay or consumer process a test starts
runs as ``auth-relay`` or ``groups-consumer``, with ACLs on the test's own topic and
group that the test grants first, as admin, and revokes afterwards
(:func:`service_acls_granted`).
"""

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from playball_core import local_stack
from playball_core.manifest import dead_letter_topic
from playball_events.kafka_security import kafka_security
from playball_events.service_principals import DEFAULT_READERS_TOPIC, ServicePrincipals
from playball_events.settings import ENV_PREFIX, ClientSecuritySettings
from playball_events.topics_acls_kafka import AclAdmin, AclAdminError, service_acls
from playball_stack.ports import is_listening
from playball_stack.settings import StackSettings

from support.kafka import admin_client, readers_topic_of


def principal_environment(settings: StackSettings, principal: str) -> dict[str, str]:
    """The variables of a process connecting to the stack as ``principal``, but for the
    address (the caller's: a test's second stack shares the session's secrets); none when
    the stack's Kafka is external (the environment's settings apply)."""
    if settings.kafka_bootstrap is not None and principal in local_stack.KAFKA_CLIENT_PRINCIPALS:
        return {}
    variables = local_stack.read_credentials(settings.home, principal) or {}
    variables.pop("PLAYBALL_KAFKA_BOOTSTRAP", None)
    return variables


def principal_config(settings: StackSettings, principal: str, bootstrap: str) -> dict[str, Any]:
    """A librdkafka config connecting to ``bootstrap`` as ``principal`` of the stack, as
    the services build it from the principal's variables."""
    variables = principal_environment(settings, principal)
    fields = {name.removeprefix(ENV_PREFIX).lower(): value for name, value in variables.items()}
    security = kafka_security(ClientSecuritySettings.model_validate(fields))
    return security.client_config({"bootstrap.servers": bootstrap})


def admin_environment(settings: StackSettings) -> dict[str, str]:
    return principal_environment(settings, local_stack.KAFKA_ADMIN)


def _shared_resources() -> set[str]:
    """What other tests, benchmarks and `playball up` rely on at the same time: the
    manifest's topics (granted by `playball topics ensure`) and the readers topic."""
    from playball_events.contracts.topics import ALL_TOPICS  # noqa: PLC0415 - generated

    topics = {topic.name for topic in ALL_TOPICS}
    # the shared readers topic; a test's own readers topic is the test's to revoke
    return {*topics, *(dead_letter_topic(name) for name in topics), DEFAULT_READERS_TOPIC}


@contextmanager
def service_acls_granted(
    bootstrap: str, topic: str, consumer_group: str, readers_topic: str | None = None
) -> Iterator[None]:
    """The relay's and the consumer's ACLs on ``topic`` and ``consumer_group``, LITERAL,
    for the duration: what `playball topics ensure` grants on the manifest's topic. The
    consumer may write ``readers_topic``, by default the group's own
    (:func:`support.kafka.readers_topic_of`), never the shared one.

    Afterwards only the test's own grants go (its topic, its group): those on a shared
    resource are everyone's, and revoking them would cut off whoever runs beside it.
    """
    readers_topic = readers_topic or readers_topic_of(consumer_group)
    principals = ServicePrincipals(consumer_group=consumer_group, readers_topic=readers_topic)
    bindings = service_acls(topic, principals)
    AclAdmin(admin_client(bootstrap)).grant(bindings)
    try:
        yield
    finally:
        shared = _shared_resources()
        acls = AclAdmin(admin_client(_listening(bootstrap)))
        with suppress(AclAdminError):  # a fault test's cluster without a quorum answers
            # no ACL request; it is thrown away with its grants
            acls.revoke([b for b in bindings if b.name not in shared])


def _listening(bootstrap: str) -> str:
    """The addresses of ``bootstrap`` that still listen (all of them if none does).

    A fault test may have killed a node of its cluster. A client bootstrapped through the
    dead address as well had librdkafka (2.16) spin a core on that node's thread for the
    whole of the revoke's request timeout, 10 s per revoke (3 runs of 4 of
    test_relay_cluster.py: some 17 CPU-s each); through the live ones alone, 0 of 4."""
    addresses = [address.rsplit(":", 1) for address in bootstrap.split(",")]
    live = [f"{host}:{port}" for host, port in addresses if is_listening(int(port), host)]
    return ",".join(live) or bootstrap
