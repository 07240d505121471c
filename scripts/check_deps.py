"""Each workspace package declares exactly what it imports: deptry, run per package.

    python3 -m uv run python scripts/check_deps.py [PACKAGE_DIR ...]

Without arguments it checks every member of the uv workspace (the root pyproject's
``[tool.uv.workspace] members``). Each package is checked on its own ``src/`` against its
own ``pyproject.toml``, where a ``[tool.deptry]`` table maps distribution names to module
names when they differ (``pyjwt`` -> ``jwt``) and names the dependencies that are used
without being imported (a driver SQLAlchemy loads by URL, a tool run as a program).

A package with no code yet (only docstring ``__init__.py`` files, like a service whose issue
has not been taken up) may declare its planned dependencies: DEP002 ("declared but not
used") is not reported for it, and the report says so. Everything else is: an import of
an undeclared distribution (DEP001, DEP003) and, in a package with code, a declared
distribution it never imports (DEP002).

Exit 0 when every package is clean, 1 when one drifted, 2 on bad arguments.
"""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def workspace_members(root: Path) -> list[Path]:
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    members: list[str] = config["tool"]["uv"]["workspace"]["members"]
    return [root / member for member in members]


def _is_code(path: Path) -> bool:
    """A module with anything but a docstring in it."""
    if path.name != "__init__.py":
        return True
    body = ast.parse(path.read_text(encoding="utf-8")).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return bool(body)


def has_code(src: Path) -> bool:
    return any(_is_code(path) for path in src.rglob("*.py"))


def check(package: Path, deptry: Path) -> bool:
    src = package / "src"
    if not (package / "pyproject.toml").is_file() or not src.is_dir():
        print(f"check-deps: {package} has no pyproject.toml and src/", file=sys.stderr)
        sys.exit(2)
    argv = [str(deptry), "src", "--config", "pyproject.toml", "--no-ansi"]
    note = ""
    if not has_code(src):
        argv += ["--per-rule-ignores", "DEP002=" + "|".join(_declared(package))]
        note = " (no code yet: its declared dependencies are not required to be used)"
    result = subprocess.run(argv, cwd=package, capture_output=True, text=True, check=False)
    name = package.relative_to(ROOT) if package.is_relative_to(ROOT) else package
    if result.returncode == 0:
        print(f"ok      {name}{note}")
        return True
    print(f"DRIFTED {name}{note}")
    for line in (result.stdout + result.stderr).splitlines():
        if "DEP0" in line:
            print(f"        {line.strip()}")
    return False


def _declared(package: Path) -> list[str]:
    """Distribution names in ``[project] dependencies``, without versions or extras."""
    config = tomllib.loads((package / "pyproject.toml").read_text(encoding="utf-8"))
    names = []
    for requirement in config["project"].get("dependencies", []):
        name = requirement
        for stop in "[<>=!~; ":
            name = name.split(stop, 1)[0]
        names.append(name)
    return names or ["-"]


def main() -> None:
    deptry = Path(sys.executable).parent / "deptry"
    packages = [Path(arg).resolve() for arg in sys.argv[1:]] or workspace_members(ROOT)
    clean = [check(package, deptry) for package in packages]
    if not all(clean):
        print(
            "\nfix each package's pyproject.toml: declare what its src/ imports, drop what it "
            "does not ([tool.deptry] there maps module names and lists deliberate exceptions)",
            file=sys.stderr,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
