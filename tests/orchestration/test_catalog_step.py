"""`playball up`'s catalog step: where the catalog is, or a warning, never a failure."""

import subprocess
from pathlib import Path
from typing import Any

import pytest
from playball_orchestration import catalog_step


def test_the_catalog_goes_into_playball_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PLAYBALL_HOME", str(tmp_path))
    assert catalog_step.catalog_directory() == tmp_path / "catalog"


def test_a_built_catalog_is_announced_with_its_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[list[str]] = []

    def run(argv: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        seen.append(argv)
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(subprocess, "run", run)  # the module calls subprocess.run
    built, line = catalog_step.build_catalog(tmp_path / "c")
    assert built
    assert line == f"catalog: {tmp_path / 'c' / 'index.html'}"
    assert seen[0][1:] == ["-m", "playball_cli", "catalog", "build", "--out", str(tmp_path / "c")]


def test_a_failed_build_is_a_warning_with_its_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # a real run of the command, which fails on bad input before asking any server: there
    # is no schemas/manifest.toml to be found from this directory
    monkeypatch.chdir(tmp_path)
    built, line = catalog_step.build_catalog(tmp_path / "out")
    assert not built
    assert line.startswith("warning: the event catalog was not built (exit ")
    assert "error:" in line
