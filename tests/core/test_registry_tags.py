"""The registry keeps a field's ``confluent:tags`` in the schema it stores.

The tags must survive registration: they are how a team (and Confluent's own tools) see
which fields are personal data, and the relay looks its schema up by the tagged text.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playball_core.registry import RegistryClient

UNTAGGED: dict[str, Any] = {
    "type": "record",
    "name": "Person",
    "namespace": "playball.tags",
    "fields": [
        {"name": "id", "type": "string", "doc": "An id."},
        {"name": "name", "type": "string", "doc": "A name."},
    ],
}
TAGGED: dict[str, Any] = {
    **UNTAGGED,
    "fields": [
        {**UNTAGGED["fields"][0], "confluent:tags": ["NOT_PII"]},
        {**UNTAGGED["fields"][1], "confluent:tags": ["PII"]},
    ],
}


def tags_by_field(schema_text: str) -> dict[str, Any]:
    return {f["name"]: f.get("confluent:tags") for f in json.loads(schema_text)["fields"]}


@pytest.fixture
def registry(registry_url: str) -> Iterator[RegistryClient]:
    with RegistryClient(registry_url) as client:
        yield client


@pytest.mark.stack
def test_a_tagged_schema_reads_back_with_its_tags(
    registry: RegistryClient, unique_name: str
) -> None:
    subject = f"{unique_name}-playball.tags.Person"
    untagged_id = registry.register(subject, json.dumps(UNTAGGED))
    tagged_id = registry.register(subject, json.dumps(TAGGED))

    # Adding tags is a new version (the stored text differs), not the same schema again.
    assert tagged_id != untagged_id
    assert registry.versions(subject) == [1, 2]
    by_id = registry.schema_by_id(tagged_id)
    assert tags_by_field(by_id) == {"id": ["NOT_PII"], "name": ["PII"]}
    latest = registry.version(subject, 2)
    assert tags_by_field(latest.schema) == {"id": ["NOT_PII"], "name": ["PII"]}
    # The relay looks its schema up by the class's (tagged) text and must get this id;
    # the untagged text still finds the untagged version, so old rows keep their id.
    found = registry.lookup(subject, json.dumps(TAGGED))
    assert found is not None
    assert found.id == tagged_id
    old = registry.lookup(subject, json.dumps(UNTAGGED))
    assert old is not None
    assert old.id == untagged_id
    assert tags_by_field(registry.schema_by_id(untagged_id)) == {"id": None, "name": None}
