"""schemathesis' own engine, run through its CLI against a served API, with every phase.

Why the CLI in a child process, not schemathesis' pytest integration: that integration
breaks on pytest 9.2 (it sets the retired ``Item._nodeid``), and the hand-driven
strategies that worked around it could not run the coverage and stateful phases, which
are the engine's, not hypothesis'. The CLI is schemathesis' stable interface and runs the
engine whole: examples, coverage, fuzzing, and stateful sequences along the OpenAPI's
links. In a process of its own it also keeps out of pytest's warning filters and
hypothesis profile. It talks real HTTP to the real server (``playball <service> serve``,
uvicorn): the request parsing, body limits and middleware under test are production's.

The run is bounded by ``--max-examples`` (per operation and phase), not ``--max-time``:
with a time budget, schemathesis repeats fuzzing and stateful until it is spent, so a
run would always take the whole budget. ``--seed`` comes from the caller, so a failure
reproduces; the report prints it.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
from playball_orchestration.services import Ports, service_specs
from playball_orchestration.supervisor import Supervisor

from support.paths import REPO_ROOT
from support.stack_env import free_port
from support.system import playball

PHASES = ("examples", "coverage", "fuzzing", "stateful")
TESTS_DIR = REPO_ROOT / "tests"
TIMEOUT = 300.0  # a hard stop; the bounded run takes seconds
LOG_LINES = 80  # of the server's log in a failure's explanation: its tracebacks


@dataclass(frozen=True)
class ServedApi:
    url: str
    log: Path

    def log_excerpt(self) -> str:
        """The end of the server's log without its access lines: what it said of errors."""
        lines = [
            line
            for line in self.log.read_text(errors="replace").splitlines()
            if not line.startswith("INFO:")
        ]
        return "\n".join(lines[-LOG_LINES:])

    def operations(self) -> set[str]:
        """``METHOD /path`` of every operation its OpenAPI declares."""
        document = httpx.get(f"{self.url}/openapi.json", timeout=30).raise_for_status().json()
        return {
            f"{method.upper()} {path}"
            for path, operations in document["paths"].items()
            for method in operations
        }


@contextmanager
def served_api(
    service: Literal["auth", "groups"], env: Mapping[str, str], home: Path
) -> Iterator[ServedApi]:
    """``playball <service> serve`` on a free loopback port, its database migrated first
    (``env`` names it); stopped at the end."""
    port = free_port()
    ports = Ports(auth=port) if service == "auth" else Ports(groups=port)
    spec = next(spec for spec in service_specs(ports) if spec.name == f"{service}-api")
    playball([service, "migrate"], env)
    supervisor = Supervisor(home, lambda _message: None)
    try:
        supervisor.start(spec, env)
        yield ServedApi(spec.address, supervisor.log_file(spec))
    finally:
        supervisor.stop(spec)


@dataclass(frozen=True)
class StatefulScenario:
    status: str  # success, failure, error
    steps: int  # requests sent, one per step
    # "source -> [status] name -> target" of each link whose data a step used, and
    # whether the OpenAPI declares it (schemathesis also infers links of its own)
    links: list[tuple[str, bool]]


@dataclass(frozen=True, repr=False)  # a failed assert prints it: not every event
class Outcome:
    api: ServedApi
    command: list[str]
    exit_code: int
    report: str  # what the CLI printed: per phase results, failures with curl repros, seed
    events: list[dict[str, Any]]  # schemathesis' NDJSON event stream

    @property
    def stateful_scenarios(self) -> list[StatefulScenario]:
        """The stateful phase's scenarios that ran (not skipped), from the event stream."""
        found = []
        for event in self.events:
            finished = event.get("ScenarioFinished")
            if finished is None or finished.get("phase") != "stateful":
                continue
            if finished.get("status") == "skip":
                continue
            cases = finished.get("recorder", {}).get("cases", {}).values()
            links = [
                (case["transition"]["id"], not case["transition"].get("is_inferred", False))
                for case in cases
                if case.get("is_transition_applied") and case.get("transition")
            ]
            found.append(StatefulScenario(finished["status"], len(cases), links))
        return found

    def tested(self, phase: str) -> set[str]:
        """``METHOD /path`` of the operations the phase ran cases of (not skipped)."""
        return {
            finished["recorder"]["label"]
            for event in self.events
            if (finished := event.get("ScenarioFinished")) is not None
            and finished.get("phase") == phase
            and finished.get("status") != "skip"
        }

    @property
    def declared_links_followed(self) -> set[str]:
        return {
            link
            for scenario in self.stateful_scenarios
            for link, declared in scenario.links
            if declared
        }

    @property
    def phase_statuses(self) -> dict[str, str]:
        """Each phase's last status (``success``, ``failure``, ``error``, ``skip``)."""
        statuses = {}
        for event in self.events:
            finished = event.get("PhaseFinished")
            if finished is not None:
                statuses[finished["phase"]["name"]] = finished["status"]
        return statuses

    @property
    def phases_not_passed(self) -> dict[str, str]:
        """The testing phases that failed, errored, skipped or did not run, with their
        status. Both OpenAPIs declare request examples, so even the examples phase has
        something to send: a skip there means the examples were lost."""
        statuses = self.phase_statuses
        return {
            phase: statuses.get(phase, "not run")
            for phase in PHASES
            if statuses.get(phase) != "success"
        }

    def __repr__(self) -> str:
        return f"Outcome(exit_code={self.exit_code}, events={len(self.events)})"

    def explain(self) -> str:
        return (
            f"$ {' '.join(self.command)}\n(exit {self.exit_code})\n{self.report}\n"
            f"--- the server's log ({self.api.log}), access lines left out:\n"
            f"{self.api.log_excerpt()}"
        )


def run_schemathesis(
    api: ServedApi,
    report_dir: Path,
    *,
    hooks: str,
    env: Mapping[str, str],
    max_examples: int,
    seed: int,
) -> Outcome:
    """``schemathesis run`` on the API's ``/openapi.json`` with every phase and check.

    ``hooks`` is a module under tests/ (auth providers, request rewrites) that the CLI
    imports; ``env`` configures it.
    """
    report_dir.mkdir(parents=True, exist_ok=True)
    events_path = report_dir / "events.ndjson"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{api.url}/openapi.json",
        "--phases",
        ",".join(PHASES),
        "--checks",
        "all",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        # one worker: the server, on the same cores, is the bottleneck anyway, and the
        # hooks' state (the account in use) stays simple
        "--workers",
        "1",
        # an examples database would make a rerun test something else than the run did
        "--generation-database",
        "none",
        "--report",
        "ndjson,junit",
        "--report-dir",
        str(report_dir),
        "--report-ndjson-path",
        str(events_path),
        "--no-color",
    ]
    python_path = [str(TESTS_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
    result = subprocess.run(
        command,
        env={
            **os.environ,
            **env,
            "PYTHONPATH": os.pathsep.join(python_path),
            "SCHEMATHESIS_HOOKS": hooks,
            "COLUMNS": "120",
        },
        # no schemathesis.toml up from here: the run is configured by these arguments only
        cwd=report_dir,
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
    )
    events = []
    if events_path.exists():
        events = [json.loads(line) for line in events_path.read_text().splitlines() if line]
    return Outcome(api, command[2:], result.returncode, result.stdout + result.stderr, events)
