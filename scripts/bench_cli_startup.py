"""How long `playball` takes to start: median wall time of N runs per command, side by side.

    python3 -m uv run python scripts/bench_cli_startup.py [--runs 15]

Runs with bytecode cached, as on users' machines: PYTHONDONTWRITEBYTECODE is removed from
the children's environment and each command runs once before it is timed. Budget (README,
"CLI conventions"): `playball --help` and `playball schemas compat` on two small files
each within 0.35 s, and every sub-app's `--help` too.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import entry_points
from pathlib import Path

BUDGET_S = 0.35
_FIELD_A = {"name": "a", "type": "int"}
_FIELD_B = {"name": "b", "type": "string", "default": "", "doc": "added"}
OLD = json.dumps({"type": "record", "name": "U", "namespace": "bench", "fields": [_FIELD_A]})
NEW = json.dumps(
    {"type": "record", "name": "U", "namespace": "bench", "fields": [_FIELD_A, _FIELD_B]}
)


def timed(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float, int]:
    """Median and minimum seconds of ``runs`` runs, and the exit code (after a warm-up run)."""
    warm = subprocess.run(argv, env=env, capture_output=True, check=False)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=False)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), min(samples), warm.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    python = sys.executable
    playball = str(Path(python).parent / "playball")
    with tempfile.TemporaryDirectory() as tmp:
        old, new = Path(tmp, "old.avsc"), Path(tmp, "new.avsc")
        old.write_text(OLD)
        new.write_text(NEW)
        by_metadata = (
            "from importlib.metadata import entry_points; entry_points(group='playball.commands')"
        )
        by_files = (
            "from playball_cli.discovery import entry_points; entry_points('playball.commands')"
        )
        cases: list[tuple[str, list[str], bool]] = [
            ("python -c pass", [python, "-c", "pass"], False),
            ("python -c 'import typer'", [python, "-c", "import typer"], False),
            ("entry points via importlib.metadata", [python, "-c", by_metadata], False),
            ("entry points via playball_cli.discovery", [python, "-c", by_files], False),
            ("playball --help", [playball, "--help"], True),
            (
                "playball schemas compat OLD NEW --level FULL",
                [playball, "schemas", "compat", str(old), str(new), "--level", "FULL"],
                True,
            ),
        ]
        names = sorted(entry.name for entry in entry_points(group="playball.commands"))
        cases += [(f"playball {name} --help", [playball, name, "--help"], True) for name in names]

        baseline = None
        print(f"median of {args.runs} runs, bytecode cached; budget {BUDGET_S:.2f} s per command")
        print(f"{'command':<46} {'median s':>9} {'min s':>7} {'x pass':>7}  verdict")
        failures = 0
        for label, argv, budgeted in cases:
            median, fastest, code = timed(argv, env, args.runs)
            baseline = baseline or median
            verdict = ""
            if budgeted:
                ok = median <= BUDGET_S and code == 0
                failures += not ok
                verdict = "ok" if ok else f"OVER BUDGET (exit {code})"
            ratio = median / baseline
            print(f"{label:<46} {median:>9.3f} {fastest:>7.3f} {ratio:>7.1f}  {verdict}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
