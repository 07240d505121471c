"""`playball catalog build --offline` on 3 subjects x 20 versions, process start included.

    python3 -m uv run python scripts/bench_catalog.py [--runs 5]

Builds a generated git history (tests/support/catalog_fixture.py) in a temporary
directory, then times the build beside `playball --help` (the bare process start, the
reference) in one run, median of N runs each after a warm-up, the two taking turns.
Budget (issue 19): the build takes 2 s or less.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.catalog_fixture import history_repo  # noqa: E402 - after the path above

BUDGET_S = 2.0
SUBJECTS, VERSIONS = 3, 20
PLAYBALL = str(Path(sys.executable).parent / "playball")


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False, cwd=ROOT)
    return time.perf_counter() - started, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
        schemas = history_repo(Path(tmp) / "repo", SUBJECTS, VERSIONS)
        out = Path(tmp) / "site"
        variants = {
            "playball --help (process start)": [PLAYBALL, "--help"],
            f"catalog build --offline ({SUBJECTS} subjects x {VERSIONS} versions)": [
                PLAYBALL,
                "catalog",
                "build",
                "--offline",
                "--out",
                str(out),
                "--schemas",
                str(schemas),
            ],
        }
        codes = {name: run_once(argv, env)[1] for name, argv in variants.items()}  # warm-up
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.runs):
            for name, argv in variants.items():
                samples[name].append(run_once(argv, env)[0])
        pages = len(list(out.rglob("*.html")))
    print(f"median of {args.runs} runs, process start included:")
    for name, times in samples.items():
        print(f"  {statistics.median(times):6.3f} s  {name}  (exit {codes[name]})")
    build = statistics.median(samples[list(variants)[1]])
    verdict = "within" if build <= BUDGET_S else "OVER"
    print(f"catalog build: {build:.3f} s, {verdict} the {BUDGET_S:.1f} s budget ({pages} pages)")
    return 0 if build <= BUDGET_S and all(code == 0 for code in codes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
