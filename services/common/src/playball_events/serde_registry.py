"""The schema registry as the serializers need it: look up, register, fetch by id.

:class:`HttpSchemaRegistry` speaks the Confluent REST API (Confluent Schema Registry,
Apicurio's ``/apis/ccompat/v7``); :class:`InMemorySchemaRegistry` stands in for it in
tests and benchmarks.
"""

import json
import threading
import urllib.parse
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
    """Confluent REST API client; every failure is a :class:`RegistryError` with the reason.

    ``httpx.Client`` is thread-safe, so one instance may serve several threads (the outbox
    relay serializes from a worker thread). ``transport`` replaces the network in tests.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = url.rstrip("/")
        self._client = httpx.Client(
            timeout=timeout, headers={"Accept": CONTENT_TYPE}, transport=transport
        )

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The JSON answer, or None for the registry's own "not found" (40401/40402/40403)."""
        where = f"schema registry at {self._url}: {method} {path}"
        try:
            response = self._client.request(
                method,
                f"{self._url}{path}",
                content=None if body is None else json.dumps(body),
                headers={"Content-Type": CONTENT_TYPE},
            )
        except httpx.HTTPError as exc:
            msg = f"{where}: unreachable: {type(exc).__name__}: {exc}"
            raise RegistryError(msg) from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        # A 404 without a registry error code is a wrong URL (a missing /apis/ccompat/v7,
        # a proxy), not an unregistered schema: saying "not registered" would mislead.
        if response.status_code == 404 and _error_code(answer) in NOT_FOUND_CODES:
            return None
        if response.is_error or answer is None:
            text = response.text[:500] or "(empty body)"
            msg = f"{where}: HTTP {response.status_code}: {text}"
            raise RegistryError(msg)
        return answer

    def _field(self, answer: Any, key: str, what: str) -> Any:
        if not isinstance(answer, dict) or key not in answer:
            msg = f"schema registry at {self._url}: {what}: unexpected answer {answer!r:.200}"
            raise RegistryError(msg)
        return answer[key]

    def lookup(self, subject: str, schema: str) -> int | None:
        found = self._request("POST", f"/subjects/{_quote(subject)}", {"schema": schema})
        return None if found is None else int(self._field(found, "id", f"lookup {subject}"))

    def register(self, subject: str, schema: str) -> int:
        path = f"/subjects/{_quote(subject)}/versions"
        created = self._request("POST", path, {"schema": schema})
        if created is None:
            msg = f"schema registry refused to register under {subject!r} (404)"
            raise RegistryError(msg)
        return int(self._field(created, "id", f"register {subject}"))

    def schema_by_id(self, schema_id: int) -> str:
        found = self._request("GET", f"/schemas/ids/{schema_id}")
        if found is None:
            msg = f"schema id {schema_id} is not in the registry at {self._url}"
            raise UnknownSchemaIdError(msg)
        schema: str = self._field(found, "schema", f"schema id {schema_id}")
        return schema


def _error_code(answer: Any) -> Any:
    return answer.get("error_code") if isinstance(answer, dict) else None


def _quote(subject: str) -> str:
    # Subjects are topic names plus record names; quote anything a path cannot hold.
    return urllib.parse.quote(subject, safe="")


class InMemorySchemaRegistry:
    """Subjects and ids in a dict; schemas compare by their parsed JSON, as registries do."""

    def __init__(self) -> None:
        self._by_id: dict[int, str] = {}
        self._subjects: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()  # register is check-then-set; threads may share this

    @staticmethod
    def _key(schema: str) -> str:
        return json.dumps(json.loads(schema), sort_keys=True)

    def lookup(self, subject: str, schema: str) -> int | None:
        return self._subjects.get((subject, self._key(schema)))

    def register(self, subject: str, schema: str) -> int:
        key = (subject, self._key(schema))
        with self._lock:
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
