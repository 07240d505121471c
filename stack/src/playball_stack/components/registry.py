"""Apicurio Registry 3 with its Confluent-compatible API, stored durably in PostgreSQL.

Durable storage matters: a registry that forgets schemas on restart hands out new ids
and makes every message already in Kafka undecodable. The global BACKWARD rule matters
too: with no rule configured Apicurio enforces nothing on registration while its check
endpoint assumes BACKWARD, so the two would disagree.
"""

from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from playball_stack import cds
from playball_stack.artifacts import ensure_registry_app, load_pins
from playball_stack.components.base import Component, Progress
from playball_stack.components.postgres import ensure_database
from playball_stack.java import Java, find_java
from playball_stack.maven import Maven
from playball_stack.processes import ManagedProcess

CCOMPAT_PATH = "/apis/ccompat/v7"


def jdbc_from_sqlalchemy_url(url: str, database: str) -> tuple[str, str, str]:
    """(jdbc url, user, password) for ``database`` on the server a SQLAlchemy URL names.

    User and password come percent-decoded (SQLAlchemy URLs encode ``@``, ``:``, ``/`` in
    them); an IPv6 host keeps its brackets, which JDBC needs as much as a URL does.
    """
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or 5432
    return (
        f"jdbc:postgresql://{host}:{port}/{database}",
        unquote(parts.username or ""),
        unquote(parts.password or ""),
    )


REGISTRY_DATABASE = "playball_registry"


def registry_answers(url: str, *, via_proxy: bool = True, timeout: float = 3.0) -> bool:
    """The registry at ``url`` (its Confluent API root) lists its subjects."""
    try:
        response = httpx.get(f"{url.rstrip('/')}/subjects", timeout=timeout, trust_env=via_proxy)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


class Registry(Component):
    name = "registry"
    program = "java"

    def __init__(
        self,
        home: Path,
        cache_dir: Path,
        port: int,
        heap: str,
        database_url: str,
        *,
        jvm_options: tuple[str, ...] = (),
    ) -> None:
        self.dir = home / "registry"
        self.cache_dir = cache_dir
        self.port = port
        self.heap = heap
        self.database_url = database_url
        self.jvm_options = jvm_options
        self.process = ManagedProcess(
            name=self.name,
            pid_file=self.dir / "registry.pid",
            log_file=self.dir / "registry.log",
            marker=f"-Dplayball.home={self.dir}",
        )
        self._app: Path | None = None
        self._java: Java | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{CCOMPAT_PATH}"

    def address(self) -> str:
        return self.url

    def ports(self) -> tuple[int, ...]:
        return (self.port, self.port + 1)

    def log_file(self) -> Path:
        return self.process.log_file

    def runtime_dir(self) -> Path:
        return self.dir

    def prepare(self, progress: Progress) -> None:
        pins = load_pins().registry
        self._java = find_java(pins.java_min, f"Apicurio Registry {pins.version}")
        self._app = ensure_registry_app(self.cache_dir, Maven(self.cache_dir), progress)
        self.dir.mkdir(parents=True, exist_ok=True)

    def launch(self) -> None:
        if self._app is None or self._java is None:
            self.prepare(lambda _message: None)
        assert self._app is not None
        assert self._java is not None
        # its own database: its table names (`groups`, `artifacts`...) would collide with
        # the services' in a shared one
        ensure_database(
            self.database_url,
            REGISTRY_DATABASE,
            hint="or point PLAYBALL_SCHEMA_REGISTRY_URL at an existing registry",
        )
        jdbc_url, user, password = jdbc_from_sqlalchemy_url(self.database_url, REGISTRY_DATABASE)
        # the JDK's and Quarkus' bootstrap classes from a class data sharing archive, as
        # for Kafka (playball_stack.cds); the application's own classes come through
        # Quarkus' class loader, which no archive covers
        archive = cds.archive_for(self._app, self._java.executable, "apicurio-registry")
        pid = self.process.start(
            [
                str(self._java.executable),
                f"-Xmx{self.heap}",
                "-XX:+UseSerialGC",
                *cds.cds_options(archive),
                f"-Dplayball.home={self.dir}",
                "-Dquarkus.http.host=127.0.0.1",
                f"-Dquarkus.http.port={self.port}",
                # the management interface would otherwise listen on 0.0.0.0:9000
                "-Dquarkus.management.host=127.0.0.1",
                f"-Dquarkus.management.port={self.port + 1}",
                "-Dapicurio.rules.global.compatibility=BACKWARD",
                f"-XX:ErrorFile={self.dir}/hs_err_pid%p.log",
                *self.jvm_options,  # last: they may override the ones above
                "-jar",
                str(self._app / "quarkus-run.jar"),
            ],
            env={
                "APICURIO_STORAGE_KIND": "sql",
                "APICURIO_STORAGE_SQL_KIND": "postgresql",
                "APICURIO_DATASOURCE_URL": jdbc_url,
                "APICURIO_DATASOURCE_USERNAME": user,
                "APICURIO_DATASOURCE_PASSWORD": password,
            },
        )
        cds.record_writer(archive, pid)

    def healthy(self) -> bool:
        # loopback: never through an HTTP(S)_PROXY the environment may set
        return registry_answers(self.url, via_proxy=False, timeout=2.0)

    def pid(self) -> int | None:
        return self.process.pid()

    def stop(self) -> None:
        self.process.stop(timeout=30.0)

    def kill(self) -> None:
        self.process.kill()
