"""Pinned tools: every Maven plugin goal by full version, uv by version and sha256, and
``scripts/pin-stack-artifacts`` reproducing the pinned jar table from the cache."""

import re
import subprocess
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from playball_stack.artifacts import load_pins
from playball_stack.maven import Maven
from support.paths import REPO_ROOT

# group:artifact:version:goal, the version all digits and dots (no LATEST, no range)
PINNED_GOAL = re.compile(r"[\w.-]+:[\w.-]+:\d+(\.\d+)+:[\w-]+")


def _mvn_argvs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[list[str]]:
    calls: list[list[str]] = []

    def run(argv: Sequence[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(list(argv))
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr("playball_stack.maven.shutil.which", lambda _name: "/usr/bin/mvn")
    monkeypatch.setattr("playball_stack.maven.subprocess.run", run)
    maven = Maven(tmp_path)
    maven.copy_dependencies(load_pins().kafka.coordinates, tmp_path / "libs")
    maven.copy_artifact(load_pins().registry.coordinates, tmp_path / "registry")
    return calls


def test_every_maven_goal_names_its_plugin_by_pinned_version(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = _mvn_argvs(monkeypatch, tmp_path)
    assert len(calls) == 2
    for argv in calls:
        goals = [a for a in argv[1:] if not a.startswith("-")]
        assert goals, argv
        assert all(PINNED_GOAL.fullmatch(g) for g in goals), goals
        assert "--strict-checksums" in argv


def test_uv_is_pinned_by_version_and_hash_and_setup_installs_it_so() -> None:
    requirements = (REPO_ROOT / "scripts" / "uv-requirements.txt").read_text(encoding="utf-8")
    lines = [line for line in requirements.splitlines() if not line.startswith("#")]
    assert re.fullmatch(r"uv==\d+\.\d+\.\d+ \\", lines[0]), lines[0]
    hashes = [line.strip().rstrip(" \\") for line in lines[1:]]
    assert hashes and all(re.fullmatch(r"--hash=sha256:[0-9a-f]{64}", h) for h in hashes)
    assert len(set(hashes)) == len(hashes)
    setup = (REPO_ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    assert "--require-hashes" in setup and "-r scripts/uv-requirements.txt" in setup
    assert not re.search(r"pip install[^\n]*\buv\b", setup)  # no unpinned `pip install uv`


@pytest.mark.stack
def test_pin_stack_artifacts_reproduces_the_pinned_kafka_jars(
    kafka_bootstrap: str,
) -> None:
    # kafka_bootstrap: the stack is up, so Maven's local repository under the cache holds
    # Kafka's closure and nothing is downloaded again. Not --offline: a cache filled
    # before the plugin was pinned lacks the pinned plugin, which Maven then fetches once.
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "pin-stack-artifacts")],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    table = tomllib.loads(result.stdout)["kafka"]["jars"]
    assert table == load_pins().kafka.jars
    assert "sha256sum " in result.stdout  # the registry archive: by hand, after checking
