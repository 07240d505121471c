"""The contracts as an AsyncAPI 3.0 document, for AsyncAPI Studio, EventCatalog and the like.

One channel per topic and one message per record type, whose payload is the Avro schema
itself (``$ref`` to the ``.avsc``, relative to the document, so the files stay the one
source of truth). The Kafka bindings say how a payload is framed: the Confluent wire
format (schema id in the payload), subjects by TopicRecordNameStrategy, keys are UUIDs.
The server is the secured stack: SASL_SSL with SCRAM-SHA-512, and the registry's
Confluent-compatible API, which is what Apicurio serves at ``/apis/ccompat/v7``.

Who sends and who receives come from the manifest (a topic is named after the service
that owns it) and from the readers snapshot (the services that reported reading it).
"""

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from playball_core.addresses import DEFAULT_KAFKA_BOOTSTRAP, DEFAULT_REGISTRY_URL
from playball_core.manifest import Manifest, SchemaEntry
from playball_schemagate.readers import DeployedReader

from playball_catalog.producers import RUNTIME_PRODUCER, owner_service

AVRO_FORMAT = "application/vnd.apache.avro;version=1.9.0"
# The newest Kafka bindings the pinned @asyncapi/parser validates (scripts/asyncapi).
BINDING_VERSION = "0.5.0"
SECURITY_SCHEME = "scramSha512"


def _identifier(text: str) -> str:
    """An AsyncAPI component key: ``^[a-zA-Z0-9.\\-_]+$``."""
    return "".join(c if c.isalnum() or c in ".-_" else "_" for c in text)


def _record_name(entry: SchemaEntry) -> str:
    return entry.record_full_name.rpartition(".")[2]


def _message(entry: SchemaEntry, schema_ref: str, runtime: bool) -> dict[str, Any]:
    key: dict[str, Any] = (
        {"type": "string", "description": "<service>/<consumer group>/<topic>/<instance id>"}
        if runtime
        else {"type": "string", "format": "uuid"}
    )
    return {
        "name": entry.record_full_name,
        "title": _record_name(entry),
        "summary": f"Registry subject {entry.subject} ({entry.compatibility.value}).",
        "contentType": "application/octet-stream",
        "payload": {"schemaFormat": AVRO_FORMAT, "schema": {"$ref": schema_ref}},
        "bindings": {
            "kafka": {
                "key": key,
                "schemaIdLocation": "payload",
                "schemaIdPayloadEncoding": "confluent",
                "schemaLookupStrategy": "TopicRecordNameStrategy",
                "bindingVersion": BINDING_VERSION,
            }
        },
    }


def asyncapi_document(
    manifest: Manifest,
    document_dir: Path,
    readers: Sequence[DeployedReader],
    *,
    bootstrap: str = DEFAULT_KAFKA_BOOTSTRAP,
    registry_url: str = DEFAULT_REGISTRY_URL,
) -> dict[str, Any]:
    """The document as data; ``document_dir`` is where it will be written (for the $refs)."""
    runtime = set(manifest.runtime)
    by_topic: dict[str, list[SchemaEntry]] = {}
    for entry in manifest.gated:
        by_topic.setdefault(entry.topic, []).append(entry)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic, entries in by_topic.items():
        channel = _identifier(topic)
        refs: dict[str, Any] = {}
        for entry in entries:
            name = _record_name(entry)
            schema_ref = Path(os.path.relpath(entry.file, document_dir)).as_posix()
            messages[name] = _message(entry, schema_ref, entry in runtime)
            refs[name] = {"$ref": f"#/components/messages/{name}"}
        channels[channel] = {
            "address": topic,
            "title": topic,
            "messages": refs,
            "bindings": {"kafka": {"topic": topic, "bindingVersion": BINDING_VERSION}},
        }
        owner = owner_service(topic)
        runtime_topic = all(entry in runtime for entry in entries)
        sender = RUNTIME_PRODUCER if runtime_topic else owner
        if sender:
            operations[_identifier(f"send.{topic}")] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"{sender} publishes {', '.join(refs)}.",
                "messages": _channel_messages(channel, refs),
                "x-playball-service": sender,
            }
        for service, groups in _receivers(readers, topic).items():
            operations[_identifier(f"receive.{topic}.{service}")] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"{service} consumes, as group {', '.join(groups)}.",
                "messages": _channel_messages(channel, refs),
                "x-playball-service": service,
                "bindings": {
                    "kafka": {
                        "groupId": {"type": "string", "enum": groups},
                        "bindingVersion": BINDING_VERSION,
                    }
                },
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "PlayBall event contracts",
            "version": "1.0.0",
            "description": (
                "Events between the PlayBall services. Generated by `playball catalog "
                "asyncapi` from schemas/manifest.toml; the Avro schemas are the source of truth."
            ),
        },
        "servers": {
            "local": {
                "host": bootstrap,
                "protocol": "kafka-secure",
                "description": "The local stack: SASL_SSL with SCRAM-SHA-512.",
                "security": [{"$ref": f"#/components/securitySchemes/{SECURITY_SCHEME}"}],
                "bindings": {
                    "kafka": {
                        "schemaRegistryUrl": registry_url,
                        "schemaRegistryVendor": "confluent",
                        "bindingVersion": BINDING_VERSION,
                    }
                },
            }
        },
        "defaultContentType": "application/octet-stream",
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "scramSha512",
                    "description": "SASL/SCRAM-SHA-512 over TLS, one principal per service.",
                }
            },
        },
    }


def _channel_messages(channel: str, names: Iterable[str]) -> list[dict[str, str]]:
    """An operation's messages, as references into its channel; a fresh list for each
    operation, so the YAML has no anchors for a reader to follow."""
    return [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in names]


def _receivers(readers: Sequence[DeployedReader], topic: str) -> Mapping[str, list[str]]:
    """Service name -> its consumer groups on ``topic``, from the reader records."""
    found: dict[str, set[str]] = {}
    for reader in readers:
        if reader.topic == topic:
            found.setdefault(reader.service, set()).add(reader.consumer_group)
    return {service: sorted(groups) for service, groups in sorted(found.items())}


def to_yaml(document: Mapping[str, Any]) -> str:
    import yaml  # noqa: PLC0415 - only this command writes YAML

    header = "# Generated by `playball catalog asyncapi`; do not edit.\n"
    body = yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True, width=100)
    return header + body
