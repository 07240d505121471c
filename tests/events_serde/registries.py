"""A registry double that counts calls, to show what the serde caches."""

from collections import Counter

from playball_core.registry import InMemoryRegistry, RegisteredSchema


class CountingRegistry(InMemoryRegistry):
    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def lookup(self, subject: str, schema: str) -> RegisteredSchema | None:
        self.calls["lookup"] += 1
        return super().lookup(subject, schema)

    def register(self, subject: str, schema: str) -> int:
        self.calls["register"] += 1
        return super().register(subject, schema)

    def schema_by_id(self, schema_id: int) -> str:
        self.calls["schema_by_id"] += 1
        return super().schema_by_id(schema_id)
