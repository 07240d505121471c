"""scripts/check_deps.py fails when a package's declared dependencies drift from its imports."""

import subprocess
import sys
from pathlib import Path

from support.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "check_deps.py"


def make_package(root: Path, dependencies: list[str], modules: dict[str, str]) -> Path:
    package = root / "drifted"
    source = package / "src" / "drifted"
    source.mkdir(parents=True)
    listed = ", ".join(f'"{name}"' for name in dependencies)
    (package / "pyproject.toml").write_text(
        f'[project]\nname = "drifted"\nversion = "0.1.0"\ndependencies = [{listed}]\n'
    )
    (source / "__init__.py").write_text('"""A package for the test."""\n')
    for name, body in modules.items():
        (source / f"{name}.py").write_text(body)
    return package


def run(package: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(package)], capture_output=True, text=True, check=False
    )


def test_an_undeclared_import_and_an_unused_declaration_fail(tmp_path: Path) -> None:
    # httpx is installed here, but this package does not declare it; typer is declared
    # and never imported
    package = make_package(tmp_path, ["typer>=0.16"], {"client": "import httpx\n"})
    result = run(package)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "DRIFTED" in result.stdout
    assert "'httpx' imported but" in result.stdout
    assert "'typer' defined as a dependency but not used" in result.stdout


def test_a_package_declaring_what_it_imports_passes(tmp_path: Path) -> None:
    package = make_package(tmp_path, ["httpx>=0.27"], {"client": "import httpx\n"})
    result = run(package)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok")


def test_a_package_without_code_may_declare_its_planned_dependencies(tmp_path: Path) -> None:
    package = make_package(tmp_path, ["typer>=0.16", "httpx[http2]>=0.27"], {})
    result = run(package)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no code yet" in result.stdout


def test_once_code_arrives_an_unused_declaration_fails(tmp_path: Path) -> None:
    package = make_package(tmp_path, ["typer>=0.16", "httpx>=0.27"], {"client": "import httpx\n"})
    result = run(package)
    assert result.returncode == 1
    assert "'typer' defined as a dependency but not used" in result.stdout


# The workspace's own packages are checked by scripts/test's step "each package declares
# what it imports", before pytest: a test here would run the same 16 deptry runs again.
