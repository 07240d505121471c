"""The Confluent schema-registry REST API, as the gate, the serde and the stack use it.

:class:`RegistryClient` speaks HTTP (Confluent Schema Registry, Apicurio's
``/apis/ccompat/v7``); :class:`InMemoryRegistry` is its fake for unit tests and
benchmarks. Both satisfy :class:`SchemaRegistry`, and one contract suite runs against
the fake and the real registry so they cannot drift apart.
"""

from playball_core.registry.client import RegistryClient
from playball_core.registry.errors import (
    IncompatibleSchemaError,
    InvalidSchemaError,
    RegistryError,
    RegistryResponseError,
    RegistryUnreachableError,
    UnknownSchemaIdError,
)
from playball_core.registry.memory import InMemoryRegistry
from playball_core.registry.port import RegisteredSchema, SchemaRegistry, minified

__all__ = [
    "InMemoryRegistry",
    "IncompatibleSchemaError",
    "InvalidSchemaError",
    "RegisteredSchema",
    "RegistryClient",
    "RegistryError",
    "RegistryResponseError",
    "RegistryUnreachableError",
    "SchemaRegistry",
    "UnknownSchemaIdError",
    "minified",
]
