"""The import contracts in pyproject.toml hold, and each kind of contract bites.

A contract nobody has seen fail proves nothing: each test here copies one real package
to a temporary directory, adds a module breaking one contract, puts the copy first on
PYTHONPATH (the workspace's editable installs are plain path entries, so the copy wins)
and runs lint-imports with the project's own configuration: it must fail, naming the
contract.
"""

import os
import shutil
import subprocess
import sys
import tomllib
from importlib.util import find_spec
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def contract_names() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {c["id"]: c["name"] for c in config["tool"]["importlinter"]["contracts"]}


def lint_imports(
    tmp_path: Path, pythonpath: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def violating_copy(tmp_path: Path, package: str, module: str, source: str) -> Path:
    """A copy of ``package`` under ``tmp_path/src`` with ``module`` (dotted, inside the
    package) holding ``source``."""
    spec = find_spec(package)
    assert spec is not None
    assert spec.submodule_search_locations is not None
    original = Path(next(iter(spec.submodule_search_locations)))
    src = tmp_path / "src"
    shutil.copytree(original, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    target = src / package / Path(*module.split(".")).with_suffix(".py")
    target.write_text(source)
    return src


# The tree itself keeps every contract: scripts/test's `lint-imports` step checks it before
# pytest. Here, each kind of contract fails on a planted violation.


@pytest.mark.parametrize(
    ("package", "module", "source", "contract"),
    [
        (
            "playball_auth",
            "domain._probe",
            "import playball_auth.adapters.orm_sql\n",
            "auth-layers",
        ),
        (
            "playball_auth",
            "service_layer._probe",
            "from playball_auth.entrypoints import api\n",
            "auth-layers",
        ),
        (
            "playball_auth",
            "_probe",
            "import playball_groups\n",
            "services-independent",
        ),
        (
            "playball_auth",
            "adapters._probe",
            "import playball_stack.api\n",
            "runtime-without-tooling",
        ),
        (
            "playball_events",
            "_probe",
            "import playball_auth\n",
            "runtime-without-services",
        ),
        (
            "playball_service_kit",
            "_probe",
            "import playball_groups\n",
            "runtime-without-services",
        ),
        (
            "playball_service_kit",
            "_probe",
            "import playball_codegen\n",
            "runtime-without-tooling",
        ),
        (
            "playball_events",
            "_probe",
            "import playball_service_kit.cli\n",
            "runtime-layers",
        ),
        (
            "playball_privacy",
            "_probe",
            "import playball_groups.adapters.privacy_scan_sql\n",
            "privacy-without-services",
        ),
    ],
    ids=[
        "domain->adapters",
        "service_layer->entrypoints",
        "auth->groups",
        "auth->stack",
        "events->auth",
        "kit->groups",
        "kit->codegen",
        "events->kit",
        "privacy->groups",
    ],
)
def test_a_violation_fails_the_check(
    tmp_path: Path, package: str, module: str, source: str, contract: str
) -> None:
    src = violating_copy(tmp_path, package, module, source)
    result = lint_imports(tmp_path, pythonpath=src)
    assert result.returncode == 1, result.stdout + result.stderr
    report = " ".join(result.stdout.split())  # the report wraps long contract names
    assert f"{contract_names()[contract]} BROKEN" in report, result.stdout
    assert report.count(" BROKEN") == 1, result.stdout  # only the contract meant to break
    assert f"{package}.{module}" in report
