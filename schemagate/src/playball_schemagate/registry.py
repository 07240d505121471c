"""A small client for the Confluent Schema Registry REST API (also Apicurio's ccompat API).

Only what the gate needs: list and read versions, look a schema up, register, set and read a
subject's level, and ask the registry's own verdict. Transport failures and unexpected
answers raise :class:`RegistryError` (bad input: exit 2), naming the URL and the subject.
"""

import json
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx
from playball_events.manifest import CompatibilityLevel

from playball_schemagate.errors import GateInputError

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
SUBJECT_NOT_FOUND = 40401
SCHEMA_NOT_FOUND = 40403


class RegistryError(GateInputError):
    """The registry is unreachable or answered something we cannot use."""


class IncompatibleSchemaError(Exception):
    """The registry refused a registration as incompatible (HTTP 409)."""


@dataclass(frozen=True, slots=True)
class RegisteredSchema:
    subject: str
    version: int
    id: int
    schema: str


def _body(schema_text: str) -> dict[str, str]:
    return {"schema": schema_text, "schemaType": "AVRO"}


def _error_code(response: httpx.Response) -> int | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    code = payload.get("error_code") if isinstance(payload, dict) else None
    return code if isinstance(code, int) else None


class RegistryClient:
    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            timeout=timeout,
            headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE},
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            msg = f"schema registry at {self.url} is unreachable ({method} {path}): {exc}"
            raise RegistryError(msg) from exc

    def _unexpected(self, response: httpx.Response, what: str) -> RegistryError:
        text = response.text.strip()[:300]
        msg = f"schema registry at {self.url}: {what} failed: HTTP {response.status_code} {text}"
        return RegistryError(msg)

    @staticmethod
    def _path(subject: str) -> str:
        return f"/subjects/{quote(subject, safe='')}"

    def ping(self) -> None:
        """Fail early (exit 2) when the registry does not answer."""
        response = self._request("GET", "/subjects")
        if response.status_code != 200:
            raise self._unexpected(response, "listing subjects")

    def versions(self, subject: str) -> list[int]:
        """Registered version numbers of ``subject``, ascending; [] for an unknown subject."""
        response = self._request("GET", f"{self._path(subject)}/versions")
        if response.status_code == 404 and _error_code(response) in (SUBJECT_NOT_FOUND, None):
            return []
        if response.status_code != 200:
            raise self._unexpected(response, f"listing versions of {subject!r}")
        return sorted(int(v) for v in response.json())

    def version(self, subject: str, version: int | str) -> RegisteredSchema:
        response = self._request("GET", f"{self._path(subject)}/versions/{version}")
        if response.status_code != 200:
            raise self._unexpected(response, f"reading {subject!r} version {version}")
        payload = response.json()
        return RegisteredSchema(
            subject=subject,
            version=int(payload["version"]),
            id=int(payload["id"]),
            schema=str(payload["schema"]),
        )

    def history(self, subject: str) -> list[RegisteredSchema]:
        """Every registered version of ``subject``, oldest first."""
        return [self.version(subject, number) for number in self.versions(subject)]

    def lookup(self, subject: str, schema_text: str) -> RegisteredSchema | None:
        """The version under which this exact schema is registered, if it is."""
        response = self._request("POST", self._path(subject), json=_body(schema_text))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._unexpected(response, f"looking up the schema of {subject!r}")
        payload = response.json()
        return RegisteredSchema(
            subject=subject,
            version=int(payload["version"]),
            id=int(payload["id"]),
            schema=str(payload.get("schema", schema_text)),
        )

    def register(self, subject: str, schema_text: str) -> int:
        """Register and return the schema id; :class:`IncompatibleSchemaError` on 409."""
        response = self._request("POST", f"{self._path(subject)}/versions", json=_body(schema_text))
        if response.status_code == 409:
            raise IncompatibleSchemaError(response.json().get("message", response.text))
        if response.status_code != 200:
            raise self._unexpected(response, f"registering a schema under {subject!r}")
        return int(response.json()["id"])

    def set_level(self, subject: str, level: CompatibilityLevel) -> None:
        path = f"/config/{quote(subject, safe='')}"
        response = self._request("PUT", path, json={"compatibility": level.value})
        if response.status_code != 200:
            raise self._unexpected(response, f"setting the level of {subject!r}")

    def level(self, subject: str) -> CompatibilityLevel | None:
        """The subject's level, falling back to the global one; None if neither is set."""
        path = f"/config/{quote(subject, safe='')}"
        response = self._request("GET", path, params={"defaultToGlobal": "true"})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._unexpected(response, f"reading the level of {subject!r}")
        payload = response.json()
        value = payload.get("compatibilityLevel") or payload.get("compatibility")
        return CompatibilityLevel(value) if value else None

    def is_compatible(self, subject: str, schema_text: str) -> bool:
        """The registry's own verdict for ``schema_text`` at the subject's configured level."""
        response = self._request(
            "POST",
            f"/compatibility{self._path(subject)}/versions/latest",
            json=_body(schema_text),
        )
        if response.status_code == 404:
            return True  # nothing registered yet: anything is compatible
        if response.status_code != 200:
            raise self._unexpected(response, f"checking compatibility under {subject!r}")
        return bool(response.json()["is_compatible"])


def minified(schema_text: str) -> str:
    """The schema as one line of JSON, as it is registered (whitespace is not meaningful)."""
    return json.dumps(json.loads(schema_text), separators=(",", ":"), ensure_ascii=False)
