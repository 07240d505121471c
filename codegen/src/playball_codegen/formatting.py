"""Brings generated Python to the project's style with ruff (format, and complexity noqa).

Generated functions are straight-line code with one branch per field or union branch;
ruff's complexity rules (PLR0911/0912/0915) flag long ones, so ``--add-noqa`` marks
exactly those. Settings are passed explicitly, not read from any pyproject, so the
output is the same wherever the target lives; only the locked ruff version matters.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playball_codegen.errors import CodegenError

LINE_LENGTH = 100
TARGET_VERSION = "py311"
COMPLEXITY_RULES = "PLR0911,PLR0912,PLR0915"


def _ruff() -> str:
    # The ruff wheel (a dependency of this package) installs next to the interpreter.
    beside = Path(sys.executable).with_name("ruff")
    found = str(beside) if beside.is_file() else shutil.which("ruff")
    if found is None:
        msg = "ruff not found; it is a dependency of playball-codegen"
        raise CodegenError(msg)
    return found


def _run(args: list[str], cwd: Path) -> None:
    common = ["--isolated", "--no-cache", "--line-length", str(LINE_LENGTH)]
    command = [_ruff(), *args[:1], *common, "--target-version", TARGET_VERSION, *args[1:]]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        msg = f"ruff {args[0]} failed on generated code: {result.stderr.strip()}"
        raise CodegenError(msg)


def polish(sources: dict[str, str]) -> dict[str, str]:
    """The same Python files, formatted and with complexity noqa comments where needed."""
    with tempfile.TemporaryDirectory(prefix="playball-codegen-") as tmp:
        root = Path(tmp)
        for name, text in sources.items():
            (root / name).write_text(text, encoding="utf-8")
        names = sorted(sources)
        _run(["check", "--select", COMPLEXITY_RULES, "--add-noqa", *names], root)
        _run(["format", *names], root)
        return {name: (root / name).read_text(encoding="utf-8") for name in sources}
