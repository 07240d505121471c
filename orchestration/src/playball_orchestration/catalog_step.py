"""`playball up`'s last step: the event catalog, built into ``$PLAYBALL_HOME/catalog``.

Run as a program (``python -m playball_cli catalog build``), not imported: the catalog is
tooling of its own, and a catalog that cannot be built must not stop the system, which is
up by now. The outcome is one line for the person who ran ``up``.
"""

import subprocess
import sys
from pathlib import Path

from playball_core.local_stack import stack_home

CATALOG_DIRECTORY = "catalog"
TIMEOUT_SECONDS = 120.0  # the registry and broker answer in seconds; this only ends a hang


def catalog_directory() -> Path:
    return stack_home() / CATALOG_DIRECTORY


def build_catalog(out: Path | None = None) -> tuple[bool, str]:
    """(built, the line to print): where the catalog is, or why it is not there."""
    target = out or catalog_directory()
    argv = [sys.executable, "-m", "playball_cli", "catalog", "build", "--out", str(target)]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"warning: the event catalog was not built: {exc}"
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no output"
        return False, f"warning: the event catalog was not built (exit {done.returncode}): {reason}"
    return True, f"catalog: {target / 'index.html'}"
