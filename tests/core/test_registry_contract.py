"""One contract for :class:`playball_core.registry.SchemaRegistry`, run against the fake and
the real registry, so the fake the unit tests rely on cannot drift from what a registry does.

``InMemoryRegistry`` judges compatibility with the gate's engine; ``RegistryClient`` talks to
the shared stack's registry, on subjects no other test uses.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playball_core.avro.parser import parse_schema
from playball_core.avro.schema import SourceRef
from playball_core.manifest import CompatibilityLevel
from playball_core.registry import (
    IncompatibleSchemaError,
    InMemoryRegistry,
    RegistryClient,
    RegistryResponseError,
    SchemaRegistry,
    UnknownSchemaIdError,
)
from playball_schemagate.findings import Severity
from playball_schemagate.gate import compare
from playball_schemagate.schema_version import SchemaVersion

V1: dict[str, Any] = {
    "type": "record",
    "name": "Probe",
    "namespace": "playball.contract",
    "fields": [{"name": "id", "type": "string"}],
}
# BACKWARD and FORWARD compatible with V1: a field with a default
V2 = {**V1, "fields": [*V1["fields"], {"name": "note", "type": "string", "default": ""}]}
# not BACKWARD: its reader finds neither a value nor a default for `rank` in V1 data
BREAKING = {**V1, "fields": [*V1["fields"], {"name": "rank", "type": "int"}]}
UNKNOWN_ID = 2_000_000_000


def text(schema: dict[str, Any], *, pretty: bool = False) -> str:
    return json.dumps(schema, indent=2 if pretty else None)


def same_schema(a: str, b: str) -> bool:
    return bool(json.loads(a) == json.loads(b))


def gate_checker(history: list[str], candidate: str, level: CompatibilityLevel) -> list[str]:
    """The gate's engine as the fake's judge: one reason per error finding."""

    def version(label: str, schema: str) -> SchemaVersion:
        return SchemaVersion(label, parse_schema(schema, SourceRef(label)))

    versions = [version(f"v{n}", schema) for n, schema in enumerate(history, start=1)]
    findings = compare(version("candidate", candidate), versions, level)
    return [f"{f.path}: {f.message}" for f in findings if f.severity is Severity.ERROR]


class RegistryContract:
    """What every SchemaRegistry does. Subclasses provide ``registry``; ``subject`` is unique."""

    @pytest.fixture
    def registry(self) -> SchemaRegistry:
        raise NotImplementedError

    @pytest.fixture
    def subject(self, unique_name: str) -> str:
        return f"{unique_name}-playball.contract.Probe"

    def test_a_registered_subject_is_listed_and_an_unknown_one_has_no_versions(
        self, registry: SchemaRegistry, subject: str
    ) -> None:
        assert registry.versions(subject) == []
        registry.register(subject, text(V1))
        assert subject in registry.subjects()
        assert registry.versions(subject) == [1]
        assert f"{subject}-other" not in registry.subjects()

    def test_versions_count_up_and_latest_is_the_last(
        self, registry: SchemaRegistry, subject: str
    ) -> None:
        first = registry.register(subject, text(V1))
        second = registry.register(subject, text(V2))
        assert first != second
        assert registry.versions(subject) == [1, 2]

        one = registry.version(subject, 1)
        assert (one.subject, one.version, one.id) == (subject, 1, first)
        assert same_schema(one.schema, text(V1))
        latest = registry.version(subject, "latest")
        assert (latest.version, latest.id) == (2, second)
        assert same_schema(latest.schema, text(V2))

    def test_a_missing_version_is_a_response_error(
        self, registry: SchemaRegistry, subject: str
    ) -> None:
        registry.register(subject, text(V1))
        with pytest.raises(RegistryResponseError):
            registry.version(subject, 7)

    def test_lookup_finds_a_registered_schema_whatever_its_whitespace(
        self, registry: SchemaRegistry, subject: str
    ) -> None:
        schema_id = registry.register(subject, text(V1))
        found = registry.lookup(subject, text(V1, pretty=True))
        assert found is not None
        assert (found.subject, found.version, found.id) == (subject, 1, schema_id)
        assert registry.lookup(subject, text(V2)) is None
        assert registry.lookup(f"{subject}-never", text(V1)) is None

    def test_register_is_idempotent_and_ids_are_global(
        self, registry: SchemaRegistry, subject: str
    ) -> None:
        schema_id = registry.register(subject, text(V1))
        assert registry.register(subject, text(V1, pretty=True)) == schema_id
        assert registry.versions(subject) == [1]
        # the same schema under another subject: a new version there, the same id
        assert registry.register(f"{subject}-copy", text(V1)) == schema_id

    def test_an_incompatible_schema_is_refused_with_reasons(
        self, registry: SchemaRegistry, subject: str
    ) -> None:
        registry.register(subject, text(V1))
        registry.set_level(subject, CompatibilityLevel.BACKWARD)
        with pytest.raises(IncompatibleSchemaError) as refused:
            registry.register(subject, text(BREAKING))
        assert refused.value.reasons, "a refusal must say why"
        assert "rank" in " ".join(refused.value.reasons)
        assert registry.versions(subject) == [1]

    def test_schema_by_id_and_an_unknown_id(self, registry: SchemaRegistry, subject: str) -> None:
        schema_id = registry.register(subject, text(V1))
        assert same_schema(registry.schema_by_id(schema_id), text(V1))
        with pytest.raises(UnknownSchemaIdError):
            registry.schema_by_id(UNKNOWN_ID)

    def test_a_subject_level_overrides_the_global_one(
        self, registry: SchemaRegistry, subject: str
    ) -> None:
        registry.register(subject, text(V1))
        assert registry.level(subject) is CompatibilityLevel.BACKWARD  # the global rule
        registry.set_level(subject, CompatibilityLevel.FULL_TRANSITIVE)
        assert registry.level(subject) is CompatibilityLevel.FULL_TRANSITIVE

    def test_is_compatible_judges_against_the_latest_at_the_subject_level(
        self, registry: SchemaRegistry, subject: str
    ) -> None:
        assert registry.is_compatible(subject, text(BREAKING))  # nothing registered yet
        registry.register(subject, text(V1))
        registry.set_level(subject, CompatibilityLevel.BACKWARD)
        assert registry.is_compatible(subject, text(V2))
        assert not registry.is_compatible(subject, text(BREAKING))
        registry.set_level(subject, CompatibilityLevel.NONE)
        assert registry.is_compatible(subject, text(BREAKING))


class TestInMemoryRegistry(RegistryContract):
    @pytest.fixture
    def registry(self) -> SchemaRegistry:
        return InMemoryRegistry(checker=gate_checker)


@pytest.mark.stack
class TestRegistryClient(RegistryContract):
    @pytest.fixture
    def registry(self, registry_url: str) -> Iterator[SchemaRegistry]:
        with RegistryClient(registry_url) as client:
            yield client
