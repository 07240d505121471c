"""An in-memory registry with the client's behaviour, for unit tests and benchmarks."""

import json
import threading
from collections.abc import Callable

from playball_core.manifest import CompatibilityLevel
from playball_core.registry.errors import (
    IncompatibleSchemaError,
    RegistryResponseError,
    UnknownSchemaIdError,
)
from playball_core.registry.port import RegisteredSchema

# (schemas registered so far, oldest first; the candidate; the level) -> reasons it breaks
CompatibilityChecker = Callable[[list[str], str, CompatibilityLevel], list[str]]


class InMemoryRegistry:
    """Subjects and ids in dicts; schemas compare by their parsed JSON, as registries do.

    Ids are global: the same schema under two subjects gets one id, as in Confluent's and
    Apicurio's registries. Compatibility is judged by ``checker`` when one is given (tests
    pass the gate's engine); without it every schema is compatible.
    """

    def __init__(
        self,
        *,
        checker: CompatibilityChecker | None = None,
        global_level: CompatibilityLevel | None = CompatibilityLevel.BACKWARD,
    ) -> None:
        self._checker = checker
        self._global_level = global_level
        self._by_id: dict[int, str] = {}
        self._ids_by_key: dict[str, int] = {}
        self._subjects: dict[str, list[int]] = {}  # subject -> schema ids, version = index + 1
        self._levels: dict[str, CompatibilityLevel] = {}
        self._lock = threading.Lock()  # register is check-then-set; threads may share this

    @staticmethod
    def _key(schema: str) -> str:
        return json.dumps(json.loads(schema), sort_keys=True)

    def subjects(self) -> list[str]:
        return sorted(subject for subject, ids in self._subjects.items() if ids)

    def versions(self, subject: str) -> list[int]:
        return list(range(1, len(self._subjects.get(subject, [])) + 1))

    def version(self, subject: str, version: int | str) -> RegisteredSchema:
        ids = self._subjects.get(subject, [])
        number = len(ids) if version == "latest" else int(version)
        if not 1 <= number <= len(ids):
            msg = f"in-memory registry: {subject!r} has no version {version}"
            raise RegistryResponseError(msg)
        schema_id = ids[number - 1]
        return RegisteredSchema(subject, number, schema_id, self._by_id[schema_id])

    def lookup(self, subject: str, schema: str) -> RegisteredSchema | None:
        schema_id = self._ids_by_key.get(self._key(schema))
        ids = self._subjects.get(subject, [])
        if schema_id is None or schema_id not in ids:
            return None
        return RegisteredSchema(subject, ids.index(schema_id) + 1, schema_id, schema)

    def register(self, subject: str, schema: str) -> int:
        key = self._key(schema)
        with self._lock:
            ids = self._subjects.setdefault(subject, [])
            schema_id = self._ids_by_key.get(key)
            if schema_id is not None and schema_id in ids:
                return schema_id
            self._check(subject, ids, schema)
            if schema_id is None:
                schema_id = self._ids_by_key[key] = len(self._by_id) + 1
                self._by_id[schema_id] = schema
            ids.append(schema_id)
            return schema_id

    def _check(self, subject: str, ids: list[int], schema: str) -> None:
        level = self.level(subject)
        if self._checker is None or level is None or not ids:
            return
        reasons = self._checker([self._by_id[i] for i in ids], schema, level)
        if reasons:
            msg = f"in-memory registry refused {subject!r} as incompatible: {reasons}"
            raise IncompatibleSchemaError(msg, tuple(reasons))

    def schema_by_id(self, schema_id: int) -> str:
        try:
            return self._by_id[schema_id]
        except KeyError:
            msg = f"schema id {schema_id} is not in the in-memory registry"
            raise UnknownSchemaIdError(msg) from None

    def set_level(self, subject: str, level: CompatibilityLevel) -> None:
        self._levels[subject] = level

    def level(self, subject: str) -> CompatibilityLevel | None:
        return self._levels.get(subject, self._global_level)

    def is_compatible(self, subject: str, schema: str) -> bool:
        ids = self._subjects.get(subject, [])
        level = self.level(subject)
        if self._checker is None or level is None or not ids:
            return True
        return not self._checker([self._by_id[i] for i in ids], schema, level)
