"""`playball privacy audit USER_ID`: every place that may still hold a user's personal data.

Each service scans its own data, as its own program (``playball auth privacy scan
USER_ID --json``, ``playball groups privacy scan USER_ID --json``), with the
environment this command got: their databases are theirs to find. The topics are read
here, as the principal the environment names (a tool run by hand against the local stack
is the admin): each contract topic and its dead-letter topic, for every message keyed by
the user id. Everything lands in one :class:`~playball_events.privacy_scan.ScanReport`.

A scan that cannot run, or answers no report, is an unreachable place named after its
command: the audit never reads silence as "nothing found".
"""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from playball_events.privacy_scan import Place, ScanReport

SCAN_TIMEOUT = 120.0  # seconds for one service's scan (a process start and two queries)
SERVICES = ("auth", "groups")


@dataclass(frozen=True, slots=True)
class ScanRun:
    """What a service's scan process left: its exit code and output."""

    returncode: int
    stdout: str
    stderr: str


Runner = Callable[[Sequence[str]], ScanRun]


def run_playball(words: Sequence[str], env: Mapping[str, str] | None = None) -> ScanRun:
    """``playball <words>`` as a child process of this interpreter, its output captured."""
    try:
        result = subprocess.run(
            [sys.executable, "-m", "playball_cli", *words],
            env=dict(os.environ if env is None else env),
            capture_output=True,
            text=True,
            check=False,
            timeout=SCAN_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return ScanRun(-1, "", f"no answer within {SCAN_TIMEOUT:.0f} s")
    return ScanRun(result.returncode, result.stdout, result.stderr)


def service_places(service: str, user_id: uuid.UUID, run: Runner = run_playball) -> list[Place]:
    """The places ``service``'s own scan reports; one unreachable place when it reports none."""
    words = [service, "privacy", "scan", str(user_id), "--json"]
    answer = run(words)
    command = f"{service} (playball {' '.join(words)})"
    try:
        report = ScanReport.from_json(json.loads(answer.stdout))
    except ValueError:  # JSONDecodeError too: no report at all
        lines = (answer.stderr or answer.stdout).strip().splitlines()
        why = lines[-1] if lines else f"exit {answer.returncode}, no output"
        return [Place(command, error=why[:500])]
    if report.user_id != str(user_id):
        return [Place(command, error=f"answered for user {report.user_id!r}")]
    return list(report.places)


def audit(
    user_id: uuid.UUID,
    topic_places: Callable[[], list[Place]],
    *,
    services: Sequence[str] = SERVICES,
    run: Runner = run_playball,
) -> ScanReport:
    """The services' places, then the topics' (``topic_places`` reads them)."""
    places = [place for service in services for place in service_places(service, user_id, run)]
    places.extend(topic_places())
    return ScanReport(str(user_id), tuple(places))
