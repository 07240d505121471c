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
from playball_core.startup import tune_collector
from playball_stack.processes import kill_and_wait
from playball_stack.settings import StackSettings
from playball_stack.stack import Stack
from support.durations import DirectoryTimes
from support.kafka import remove_scratch_topics
from support.principals import admin_environment
from support.private_kafka import private_kafka
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

# as the services do: each worker imports the whole suite and every package it tests
tune_collector()


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
    # The test process is the admin (topic setup, readers, forged events); processes a
    # test starts as a service get that service's principal (support.principals).
    os.environ.update(admin_environment(settings))
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


@pytest.fixture(scope="session")
def kafka_cluster(
    stack: StackSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """One private 3-node Kafka for the tests that kill brokers, started once: a cluster
    start is six JVM launches (format and run, per node), the dearest setup of the suite.

    Its tests share the ``cluster`` xdist group, so one worker runs them all, one at a
    time; each takes it through :func:`support.private_kafka.running_cluster`, which
    restarts what an earlier test killed.
    """
    with private_kafka(stack, tmp_path_factory.mktemp("cluster"), brokers=3) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def outage_kafka(stack: StackSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One private single-broker Kafka for the tests that stop the broker under load
    (the relay's and the end-to-end one), started once for both: they share the
    ``outage-kafka`` xdist group, and each takes it through
    :func:`support.private_kafka.running_cluster`, which restarts a stopped broker."""
    with private_kafka(stack, tmp_path_factory.mktemp("outage-kafka")) as kafka:
        yield kafka


# the session's private Kafkas: each is killed once a worker's last test using it is done
PRIVATE_KAFKAS = ("kafka_cluster", "outage_kafka")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Kill a session-scoped private Kafka (:data:`PRIVATE_KAFKAS`) once the last test of
    this worker's run of tests using it is done. Those tests run early (they are slow),
    and idle KRaft nodes would otherwise heartbeat through the rest of the session on CPU
    the other workers need; a later test that asks for one again gets it restarted
    (:func:`support.private_kafka.running_cluster`)."""
    funcargs = getattr(item, "funcargs", {})
    held = [(name, funcargs[name]) for name in PRIVATE_KAFKAS if name in funcargs]
    yield
    following = getattr(nextitem, "fixturenames", ()) if nextitem is not None else ()
    for name, kafka in held:
        if isinstance(kafka, Stack) and name not in following:
            for node in kafka.kafka_nodes:
                if (pid := node.pid()) is not None:
                    kill_and_wait(pid)  # scratch data: no controlled shutdown to wait out


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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the tests, and group them for pytest-xdist's ``--dist loadgroup``.

    A test goes to whichever worker is free, except that tests marked with one
    ``xdist_group`` run on one worker, tests sharing module-scoped
    fixtures (a running system, a JWKS issuer, a module's database) stay together on one
    worker, so those are built once and any state the module keeps is whole; tests of
    the 3-broker cluster run one at a time, so no more than one such cluster runs. Modules
    holding a ``slow`` test are handed out first: the longest tests must not start last.
    """
    slow_modules = {_module_of(item) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: _module_of(item) not in slow_modules)  # stable: modules stay whole
    if not (_is_worker(config) and config.getvalue("loadgroup")):
        return
    for item in items:
        if (mark := item.get_closest_marker("xdist_group")) is not None:
            group = str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        elif item.get_closest_marker("cluster") is not None:
            group = "cluster"
        elif _shares_module_state(item):
            group = _module_of(item)
        else:
            continue  # alone: any free worker
        # What pytest-xdist does for an ``xdist_group`` mark, which on pytest 9.2 no longer
        # reaches the node id the scheduler reads (it sets the retired ``_nodeid``).
        _set_node_id(item, f"{item.nodeid}@{group}")


def _module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def _shares_module_state(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return True
    scopes = {fixture.scope for defs in info.name2fixturedefs.values() for fixture in defs}
    return bool(scopes & {"module", "package", "class"})


def _set_node_id(item: pytest.Item, nodeid: str) -> None:
    from _pytest.nodeid import coerce_node_id  # noqa: PLC0415 - pytest 9.2's node id type

    item._id = coerce_node_id(nodeid)


_directory_times = DirectoryTimes()
_stack_was_running = pytest.StashKey[set[str]]()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")  # set by pytest-xdist in its worker processes


def pytest_sessionstart(session: pytest.Session) -> None:
    # a collection alone never starts the stack, so it must never stop one (scripts/test
    # collects once while the stack is starting, to compile the test modules)
    if not _is_worker(session.config) and not session.config.option.collectonly:
        session.config.stash[_stack_was_running] = running_components(StackSettings())


def pytest_sessionfinish(session: pytest.Session) -> None:
    # the controller outlives every worker: the one place to stop a stack they share
    was_running = session.config.stash.get(_stack_was_running, None)
    if _is_worker(session.config) or was_running is None:
        return
    settings = StackSettings()
    if running_components(settings) - was_running:
        stop_started_since(settings, was_running)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # under xdist this runs in the controller too, with every worker's reports
    _directory_times.add(report)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _directory_times.seconds:
        return
    terminalreporter.section("test time per directory (summed over workers)")
    for line in [*_directory_times.lines(), *_directory_times.worker_lines()]:
        terminalreporter.write_line(line)
