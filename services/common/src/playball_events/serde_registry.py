"""The schema registry as the serializers need it: look up, register, fetch by id.

:class:`HttpSchemaRegistry` speaks the Confluent REST API (Confluent Schema Registry,
Apicurio's ``/apis/ccompat/v7``); :class:`InMemorySchemaRegistry` stands in for it in
tests and benchmarks.
"""

import json
from typing import Any, Protocol

import httpx

from playball_events.serde_errors import RegistryError, UnknownSchemaIdError

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
NOT_FOUND_CODES = (40401, 40402, 40403)  # subject, version, schema not found


class SchemaRegistry(Protocol):
    def lookup(self, subject: str, schema: str) -> int | None:
        """Id of ``schema`` if registered under ``subject``, else None."""
        ...

    def register(self, subject: str, schema: str) -> int:
        """Register ``schema`` under ``subject`` (idempotent) and return its id."""
        ...

    def schema_by_id(self, schema_id: int) -> str:
        """The schema text with this id; :class:`UnknownSchemaIdError` if there is none."""
        ...


class HttpSchemaRegistry:
    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self._url = url.rstrip("/")
        self._client = httpx.Client(timeout=timeout, headers={"Accept": CONTENT_TYPE})

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self._client.request(
                method,
                f"{self._url}{path}",
                content=None if body is None else json.dumps(body),
                headers={"Content-Type": CONTENT_TYPE},
            )
        except httpx.HTTPError as exc:
            msg = f"schema registry at {self._url} unreachable: {exc}"
            raise RegistryError(msg) from exc
        if response.status_code == 404:
            return None
        if response.is_error:
            msg = f"schema registry {method} {path}: HTTP {response.status_code}: {response.text}"
            raise RegistryError(msg)
        return response.json()

    def lookup(self, subject: str, schema: str) -> int | None:
        found = self._request("POST", f"/subjects/{subject}", {"schema": schema})
        return None if found is None else int(found["id"])

    def register(self, subject: str, schema: str) -> int:
        created = self._request("POST", f"/subjects/{subject}/versions", {"schema": schema})
        if created is None:
            msg = f"schema registry refused to register under {subject!r} (404)"
            raise RegistryError(msg)
        return int(created["id"])

    def schema_by_id(self, schema_id: int) -> str:
        found = self._request("GET", f"/schemas/ids/{schema_id}")
        if found is None:
            msg = f"schema id {schema_id} is not in the registry at {self._url}"
            raise UnknownSchemaIdError(msg)
        schema: str = found["schema"]
        return schema


class InMemorySchemaRegistry:
    """Subjects and ids in a dict; schemas compare by their parsed JSON, as registries do."""

    def __init__(self) -> None:
        self._by_id: dict[int, str] = {}
        self._subjects: dict[tuple[str, str], int] = {}

    @staticmethod
    def _key(schema: str) -> str:
        return json.dumps(json.loads(schema), sort_keys=True)

    def lookup(self, subject: str, schema: str) -> int | None:
        return self._subjects.get((subject, self._key(schema)))

    def register(self, subject: str, schema: str) -> int:
        key = (subject, self._key(schema))
        if key not in self._subjects:
            known = [i for i, text in self._by_id.items() if self._key(text) == key[1]]
            schema_id = known[0] if known else len(self._by_id) + 1
            self._by_id[schema_id] = schema
            self._subjects[key] = schema_id
        return self._subjects[key]

    def schema_by_id(self, schema_id: int) -> str:
        try:
            return self._by_id[schema_id]
        except KeyError:
            msg = f"schema id {schema_id} is not in the in-memory registry"
            raise UnknownSchemaIdError(msg) from None
