"""Session-wide fixtures: one real stack (Kafka, registry, PostgreSQL) shared by all tests.

Tests that need a component take its fixture (``registry_url``, ``kafka_bootstrap``,
``database_url``); the first such request brings the stack up once per session through
``playball_stack``. Addresses given in the environment (``PLAYBALL_*``, ``DATABASE_URL``)
are used as they are and nothing is started for them.
"""

import os
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from playball_stack.settings import StackSettings
from support.kafka import remove_scratch_topics

# No per-example deadline: this 2-core machine runs JVMs beside the tests, and a slow
# example is not a wrong one. CI derandomizes so a red build reproduces on rerun.
hypothesis_settings.register_profile(
    "playball", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.register_profile(
    "ci", parent=hypothesis_settings.get_profile("playball"), derandomize=True, database=None
)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") == "true" else "playball")


@pytest.fixture(scope="session")
def settings() -> StackSettings:
    return StackSettings()


@pytest.fixture(scope="session")
def stack(settings: StackSettings) -> Iterator[StackSettings]:
    """The running stack's settings; starts what the environment does not point at."""
    from playball_stack.api import running_stack  # noqa: PLC0415 - only stack tests need it

    with running_stack(settings):
        yield settings


@pytest.fixture(scope="session")
def registry_url(settings: StackSettings, request: pytest.FixtureRequest) -> str:
    if settings.schema_registry_url is None:
        request.getfixturevalue("stack")
    return settings.effective_registry_url


@pytest.fixture(scope="session")
def kafka_bootstrap(settings: StackSettings, request: pytest.FixtureRequest) -> str:
    if settings.kafka_bootstrap is None:
        request.getfixturevalue("stack")
    return settings.effective_kafka_bootstrap


@pytest.fixture(scope="session")
def database_url(settings: StackSettings, request: pytest.FixtureRequest) -> str:
    if settings.database_url is None:
        request.getfixturevalue("stack")
    return settings.effective_database_url


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh name for a topic or subject, so tests sharing one stack never collide.

    Topics and consumer groups named after it are deleted when the test ends: thousands
    of leftover partitions slow a long-lived development broker down (its heap fills
    up and its GC pauses grow).
    """
    name = f"t{uuid.uuid4().hex[:12]}"
    yield name
    if "kafka_bootstrap" in request.fixturenames:
        remove_scratch_topics(request.getfixturevalue("kafka_bootstrap"), name)
