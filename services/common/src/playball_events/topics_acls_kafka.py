"""The services' Kafka ACLs: each principal gets what its process does, and nothing else.

All bindings are LITERAL (a prefix pattern would also grant topics not yet made):

- the relay's principal (``auth-relay``): WRITE and DESCRIBE on the events topic;
- the consumer's principal (``groups-consumer``): READ on the events topic and on its
  consumer group, WRITE on the topic's ``.dlq``, WRITE and DESCRIBE on the readers topic.

WRITE on a topic also lets a producer be idempotent (KIP-679), so no cluster right is
needed. Granting is idempotent: creating a binding that exists changes nothing. A
cluster without an authorizer answers ``SECURITY_DISABLED``: there is nothing to grant,
and :meth:`AclAdmin.grant` says so instead of failing.
"""

from collections.abc import Sequence

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._acl import (  # the package re-exports them without __all__
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
)
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType
from playball_core.manifest import dead_letter_topic

from playball_events.service_principals import ServicePrincipals


class AclAdminError(Exception):
    """The broker refused to create or delete ACLs; the message says which and why."""


def _allow(
    principal: str, resource: ResourceType, name: str, operation: AclOperation
) -> AclBinding:
    return AclBinding(
        resource,
        name,
        ResourcePatternType.LITERAL,
        f"User:{principal}",
        "*",
        operation,
        AclPermissionType.ALLOW,
    )


def service_acls(topic: str, principals: ServicePrincipals) -> list[AclBinding]:
    """The bindings that let the relay write ``topic`` and the consumer read it."""
    topic_ = ResourceType.TOPIC
    relay, consumer = principals.relay, principals.consumer
    return [
        _allow(relay, topic_, topic, AclOperation.WRITE),
        _allow(relay, topic_, topic, AclOperation.DESCRIBE),
        _allow(consumer, topic_, topic, AclOperation.READ),
        _allow(consumer, ResourceType.GROUP, principals.consumer_group, AclOperation.READ),
        _allow(consumer, topic_, dead_letter_topic(topic), AclOperation.WRITE),
        _allow(consumer, topic_, principals.readers_topic, AclOperation.WRITE),
        _allow(consumer, topic_, principals.readers_topic, AclOperation.DESCRIBE),
    ]


def _as_filter(binding: AclBinding) -> AclBindingFilter:
    return AclBindingFilter(
        binding.restype,
        binding.name,
        binding.resource_pattern_type,
        binding.principal,
        binding.host,
        binding.operation,
        binding.permission_type,
    )


class AclAdmin:
    def __init__(self, admin: AdminClient, timeout: float = 10.0) -> None:
        self._admin = admin
        self._timeout = timeout

    def grant(self, bindings: Sequence[AclBinding]) -> bool:
        """Create ``bindings``; False when the cluster has no authorizer (nothing to do)."""
        if not bindings:
            return True
        futures = self._admin.create_acls(list(bindings), request_timeout=self._timeout)
        for binding, future in futures.items():
            try:
                future.result(timeout=self._timeout * 2)
            except KafkaException as exc:
                error = exc.args[0]
                if error.code() == KafkaError.SECURITY_DISABLED:
                    return False
                msg = f"granting {_describe(binding)} failed: {error.str()}"
                raise AclAdminError(msg) from exc
        return True

    def revoke(self, bindings: Sequence[AclBinding]) -> None:
        """Delete ``bindings`` (each matched exactly); those already gone are fine."""
        if not bindings:
            return
        futures = self._admin.delete_acls(
            [_as_filter(b) for b in bindings], request_timeout=self._timeout
        )
        for binding_filter, future in futures.items():
            try:
                future.result(timeout=self._timeout * 2)
            except KafkaException as exc:
                error = exc.args[0]
                if error.code() == KafkaError.SECURITY_DISABLED:
                    return
                msg = f"revoking {_describe(binding_filter)} failed: {error.str()}"
                raise AclAdminError(msg) from exc


def _describe(binding: AclBinding) -> str:
    return f"{binding.operation} on {binding.restype} {binding.name!r} to {binding.principal}"
