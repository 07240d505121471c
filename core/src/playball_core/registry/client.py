"""HTTP client of the Confluent schema-registry REST API (sync, httpx).

One ``httpx.Client`` per instance, thread-safe, so the relay's worker threads may share
it. ``transport`` replaces the network in tests (``httpx.MockTransport``).

``basic_auth`` is sent with every request; ``ca_location`` is the CA an ``https://``
registry's certificate must chain to (hostname verification stays on). A 401 or 403
goes through :func:`playball_core.credentials.refused`: retrying cannot fix it, and a
consumer must not take it for a bad message.
"""

import os
import re
import ssl
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, Self
from urllib.parse import quote

import httpx

from playball_core.credentials import refused
from playball_core.exits import ConfigurationError
from playball_core.manifest import CompatibilityLevel
from playball_core.registry.errors import (
    IncompatibleSchemaError,
    InvalidSchemaError,
    RegistryCredentialsRefusedError,
    RegistryResponseError,
    RegistryUnreachableError,
    UnknownSchemaIdError,
)
from playball_core.registry.port import RegisteredSchema

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
# The registry's own "not found" codes. A 404 *without* one of them is a wrong URL (a
# missing /apis/ccompat/v7, a proxy), and saying "not registered" then would mislead.
SUBJECT_NOT_FOUND = 40401
VERSION_NOT_FOUND = 40402
SCHEMA_NOT_FOUND = 40403
_NOT_FOUND = (SUBJECT_NOT_FOUND, VERSION_NOT_FOUND, SCHEMA_NOT_FOUND)
# subjects per listing call: Apicurio's ccompat API caps an answer at 1000
SUBJECTS_PAGE = 1000
# Apicurio's 409 message lists reasons as "[reason at /path, ...]"
_REASONS = re.compile(r"\[([^\[\]]+)\]")
# The settings the runtime reads the registry's credentials and CA from
BASIC_AUTH_VARIABLE = "PLAYBALL_SCHEMA_REGISTRY_BASIC_AUTH"
CA_LOCATION_VARIABLE = "PLAYBALL_SCHEMA_REGISTRY_CA_LOCATION"
REFUSED_STATUSES = (401, 403)


def _body(schema_text: str) -> dict[str, str]:
    return {"schema": schema_text, "schemaType": "AVRO"}


def _error_code(response: httpx.Response) -> int | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    code = payload.get("error_code") if isinstance(payload, dict) else None
    return code if isinstance(code, int) else None


def _message(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text.strip()[:300]
    if isinstance(payload, dict) and isinstance(payload.get("message"), str):
        return str(payload["message"])
    return response.text.strip()[:300]


def access_from_environment(
    environ: Mapping[str, str] = os.environ,
) -> tuple[tuple[str, str] | None, str | None]:
    """(basic auth, CA file) from the runtime's variables, for tools that load no runtime
    settings (the schema gate). ConfigurationError (exit 2) names a bad variable, never
    its value."""
    auth, ca = environ.get(BASIC_AUTH_VARIABLE) or None, environ.get(CA_LOCATION_VARIABLE) or None
    if auth is not None and ":" not in auth:
        msg = f"{BASIC_AUTH_VARIABLE} must be user:password"
        raise ConfigurationError(msg)
    if ca is not None and not Path(ca).is_file():
        msg = f"{CA_LOCATION_VARIABLE}: {ca} is not a readable file"
        raise ConfigurationError(msg)
    if auth is None:
        return None, ca
    user, _, password = auth.partition(":")
    return (user, password), ca


class RegistryClient:
    """The registry at ``base_url`` (``…/apis/ccompat/v7`` for Apicurio)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        basic_auth: tuple[str, str] | None = None,
        ca_location: str | Path | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._sends_credentials = basic_auth is not None
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE},
            transport=transport,
            auth=httpx.BasicAuth(*basic_auth) if basic_auth is not None else None,
            # a context, not a path: httpx deprecates ``verify=<path>``
            verify=ssl.create_default_context(cafile=str(ca_location)) if ca_location else True,
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

    # -- plumbing -------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            msg = (
                f"schema registry at {self.base_url} is unreachable ({method} {path}): "
                f"{type(exc).__name__}: {exc}"
            )
            raise RegistryUnreachableError(msg) from exc
        if response.status_code in REFUSED_STATUSES:
            self._refused(response)
        return response

    def _refused(self, response: httpx.Response) -> NoReturn:
        # The answer's body is left out: a proxy may echo the request, credentials included.
        what = (
            "the configured credentials"
            if self._sends_credentials
            else "a request without credentials"
        )
        msg = (
            f"schema registry at {self.base_url} refused {what} "
            f"(HTTP {response.status_code}): check {BASIC_AUTH_VARIABLE}"
        )
        refused(RegistryCredentialsRefusedError(msg))

    def _fail(self, response: httpx.Response, what: str) -> NoReturn:
        text = response.text.strip()[:300] or "(empty body)"
        msg = f"schema registry at {self.base_url}: {what}: HTTP {response.status_code}: {text}"
        raise RegistryResponseError(msg, response.status_code)

    def _json(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            self._fail(response, f"{what}: answer is not JSON")

    def _field(self, payload: Any, key: str, what: str) -> Any:
        if not isinstance(payload, dict) or key not in payload:
            msg = (
                f"schema registry at {self.base_url}: {what}: unexpected answer "
                f"{payload!r:.200} (no {key!r})"
            )
            raise RegistryResponseError(msg)
        return payload[key]

    @staticmethod
    def _subject(subject: str) -> str:
        return f"/subjects/{quote(subject, safe='')}"

    def _not_found(self, response: httpx.Response) -> bool:
        return response.status_code == 404 and _error_code(response) in _NOT_FOUND

    # -- the API --------------------------------------------------------------------------

    def ping(self) -> None:
        """Fail early when the registry does not answer or the URL is not a registry."""
        self._subjects_page(offset=0, limit=1)

    def subjects(self) -> list[str]:
        # Page through: Apicurio answers at most 1000 subjects per call (found on a shared
        # registry holding more). A registry that ignores offset/limit answers everything
        # at once, and the next page then brings nothing new.
        found: dict[str, None] = {}
        offset = 0
        while True:
            page = self._subjects_page(offset=offset, limit=SUBJECTS_PAGE)
            new = [subject for subject in page if subject not in found]
            found.update(dict.fromkeys(new))
            if len(page) < SUBJECTS_PAGE or not new:
                return sorted(found)
            offset += len(page)

    def _subjects_page(self, *, offset: int, limit: int) -> list[str]:
        params = {"offset": offset, "limit": limit}
        response = self._request("GET", "/subjects", params=params)
        if response.status_code != 200:
            self._fail(response, "listing subjects")
        payload = self._json(response, "listing subjects")
        if not isinstance(payload, list):
            self._fail(response, "listing subjects: answer is not a list")
        return [str(subject) for subject in payload]

    def versions(self, subject: str) -> list[int]:
        response = self._request("GET", f"{self._subject(subject)}/versions")
        if self._not_found(response):
            return []
        if response.status_code != 200:
            self._fail(response, f"listing versions of {subject!r}")
        return sorted(int(v) for v in self._json(response, f"versions of {subject!r}"))

    def version(self, subject: str, version: int | str) -> RegisteredSchema:
        what = f"reading {subject!r} version {version}"
        response = self._request("GET", f"{self._subject(subject)}/versions/{version}")
        if response.status_code != 200:
            self._fail(response, what)
        payload = self._json(response, what)
        return RegisteredSchema(
            subject=subject,
            version=int(self._field(payload, "version", what)),
            id=int(self._field(payload, "id", what)),
            schema=str(self._field(payload, "schema", what)),
        )

    def lookup(self, subject: str, schema: str) -> RegisteredSchema | None:
        what = f"looking up a schema under {subject!r}"
        response = self._request("POST", self._subject(subject), json=_body(schema))
        if self._not_found(response):
            return None
        if response.status_code != 200:
            self._fail(response, what)
        payload = self._json(response, what)
        return RegisteredSchema(
            subject=subject,
            version=int(self._field(payload, "version", what)),
            id=int(self._field(payload, "id", what)),
            schema=str(payload.get("schema", schema)),
        )

    def register(self, subject: str, schema: str) -> int:
        what = f"registering a schema under {subject!r}"
        response = self._request("POST", f"{self._subject(subject)}/versions", json=_body(schema))
        if response.status_code == 409:
            message = _message(response)
            reasons = tuple(r.strip() for m in _REASONS.findall(message) for r in m.split(","))
            raise IncompatibleSchemaError(
                f"schema registry at {self.base_url} refused {subject!r} as incompatible: "
                f"{message}",
                reasons,
            )
        if response.status_code == 422:
            msg = f"schema registry at {self.base_url} refused the schema of {subject!r}: "
            raise InvalidSchemaError(msg + _message(response))
        if response.status_code != 200:
            self._fail(response, what)
        return int(self._field(self._json(response, what), "id", what))

    def schema_by_id(self, schema_id: int) -> str:
        what = f"reading schema id {schema_id}"
        response = self._request("GET", f"/schemas/ids/{schema_id}")
        if self._not_found(response):
            msg = f"schema id {schema_id} is not in the registry at {self.base_url}"
            raise UnknownSchemaIdError(msg)
        if response.status_code != 200:
            self._fail(response, what)
        return str(self._field(self._json(response, what), "schema", what))

    def set_level(self, subject: str, level: CompatibilityLevel) -> None:
        path = f"/config/{quote(subject, safe='')}"
        response = self._request("PUT", path, json={"compatibility": level.value})
        if response.status_code != 200:
            self._fail(response, f"setting the level of {subject!r}")

    def level(self, subject: str) -> CompatibilityLevel | None:
        path = f"/config/{quote(subject, safe='')}"
        response = self._request("GET", path, params={"defaultToGlobal": "true"})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            self._fail(response, f"reading the level of {subject!r}")
        payload = self._json(response, f"level of {subject!r}")
        value = payload.get("compatibilityLevel") or payload.get("compatibility")
        try:
            return CompatibilityLevel(value) if value else None
        except ValueError:
            self._fail(response, f"reading the level of {subject!r}: unknown level {value!r}")

    def is_compatible(self, subject: str, schema: str) -> bool:
        what = f"checking compatibility under {subject!r}"
        response = self._request(
            "POST", f"/compatibility{self._subject(subject)}/versions/latest", json=_body(schema)
        )
        if self._not_found(response):
            return True  # nothing registered yet: anything is compatible
        if response.status_code != 200:
            self._fail(response, what)
        return bool(self._field(self._json(response, what), "is_compatible", what))
