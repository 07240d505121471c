"""What the consumer-aware gate adds to `playball schemas check`, process start included.

    python3 -m uv run python scripts/bench_readers.py [--runs 9] [--live]

Times the repository's own check three ways in one run, median of N runs each after a
warm-up: plain, with ``--readers-file schemas/readers.json`` (what CI runs), and with
``--live`` also ``--readers`` (reads the readers topic; needs `playball stack up`).
Budget (issue 19): what ``--readers`` adds is 0.3 s or less.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BUDGET_S = 0.3
ROOT = Path(__file__).resolve().parents[1]
PLAYBALL = str(Path(sys.executable).parent / "playball")


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False, cwd=ROOT)
    return time.perf_counter() - started, done.returncode


def timed(
    variants: dict[str, list[str]], env: dict[str, str], runs: int
) -> dict[str, tuple[float, int]]:
    """Median seconds per variant and its exit code. The variants take turns in each
    round, so a neighbour's load on a shared machine weighs on all of them alike."""
    codes = {name: run_once(argv, env)[1] for name, argv in variants.items()}  # warm-up
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, argv in variants.items():
            samples[name].append(run_once(argv, env)[0])
    return {name: (statistics.median(samples[name]), codes[name]) for name in variants}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--live", action="store_true", help="also time --readers (the topic)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    check = [PLAYBALL, "schemas", "check"]
    variants = {
        "schemas check": check,
        "schemas check --readers-file schemas/readers.json": [
            *check,
            "--readers-file",
            "schemas/readers.json",
        ],
    }
    if args.live:
        variants["schemas check --readers"] = [*check, "--readers"]
    results = timed(variants, env, args.runs)
    base, _ = results["schemas check"]
    met = True
    for name, (seconds, code) in results.items():
        added = seconds - base
        line = f"{name:<52} {seconds:6.3f} s median of {args.runs} (exit {code})"
        if name != "schemas check":
            within = added <= BUDGET_S
            met = met and within and code == 0
            line += f"  adds {added:+.3f} s (budget {BUDGET_S} s: {'met' if within else 'MISSED'})"
        print(line)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
