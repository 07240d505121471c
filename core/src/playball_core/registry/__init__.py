"""The Confluent schema-registry REST API, as the gate, the serde and the stack use it.

:class:`RegistryClient` speaks HTTP (Confluent Schema Registry, Apicurio's
``/apis/ccompat/v7``); :class:`InMemoryRegistry` is its fake for unit tests and
benchmarks. Both satisfy :class:`SchemaRegistry`, and one contract suite runs against
the fake and the real registry so they cannot drift apart.
"""

from typing import TYPE_CHECKING

from playball_core.registry.errors import (
    IncompatibleSchemaError,
    InvalidSchemaError,
    RegistryCredentialsRefusedError,
    RegistryError,
    RegistryResponseError,
    RegistryUnreachableError,
    UnknownSchemaIdError,
)
from playball_core.registry.memory import InMemoryRegistry
from playball_core.registry.port import RegisteredSchema, SchemaRegistry, minified

if TYPE_CHECKING:
    from playball_core.registry.client import RegistryClient


def __getattr__(name: str) -> object:
    # The HTTP client imports httpx (~50 ms): loaded on first use, so that importing the
    # errors, the port or the fake keeps `playball` commands that never call a registry
    # fast to start.
    if name == "RegistryClient":
        from playball_core.registry.client import RegistryClient  # noqa: PLC0415

        return RegistryClient
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


__all__ = [
    "InMemoryRegistry",
    "IncompatibleSchemaError",
    "InvalidSchemaError",
    "RegisteredSchema",
    "RegistryClient",
    "RegistryCredentialsRefusedError",
    "RegistryError",
    "RegistryResponseError",
    "RegistryUnreachableError",
    "SchemaRegistry",
    "UnknownSchemaIdError",
    "minified",
]
