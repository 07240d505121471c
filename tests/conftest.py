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
from support.durations import DirectoryTimes
from support.kafka import remove_scratch_topics
from support.session_stack import ensure_up, running_components, stop_started_since

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
def stack(settings: StackSettings) -> StackSettings:
    """The running stack's settings; starts what the environment does not point at.

    Shared by every worker of the session; the controller stops it at the end
    (:func:`pytest_sessionfinish`) if the session started it.
    """
    ensure_up(settings)
    return settings


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


# tryfirst: pytest-xdist's own hook turns the xdist_group marks into node ids right after
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order and group the tests for pytest-xdist's ``--dist loadgroup``.

    A module's tests stay together on one worker (its module-scoped fixtures, a running
    system or a cluster, are built once), unless the module is marked ``independent``:
    then each test may go to any worker. Modules holding a ``slow`` test are handed out
    first, so the longest ones never start last and set the wall time alone.
    """
    slow_modules = {_module_of(item) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: _module_of(item) not in slow_modules)  # stable: modules stay whole
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            independent = item.get_closest_marker("independent") is not None
            group = item.nodeid if independent else _module_of(item)
            item.add_marker(pytest.mark.xdist_group(group))


def _module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


_directory_times = DirectoryTimes()
_stack_was_running = pytest.StashKey[set[str]]()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")  # set by pytest-xdist in its worker processes


def pytest_sessionstart(session: pytest.Session) -> None:
    if not _is_worker(session.config):
        session.config.stash[_stack_was_running] = running_components(StackSettings())


def pytest_sessionfinish(session: pytest.Session) -> None:
    # the controller outlives every worker: the one place to stop a stack they share
    was_running = session.config.stash.get(_stack_was_running, None)
    if _is_worker(session.config) or was_running is None:
        return
    if running_components(StackSettings()) - was_running:
        stop_started_since(StackSettings(), was_running)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # under xdist this runs in the controller too, with every worker's reports
    _directory_times.add(report)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _directory_times.seconds:
        return
    terminalreporter.section("test time per directory (summed over workers)")
    for line in _directory_times.lines():
        terminalreporter.write_line(line)
