"""``scripts/pin-stack-artifacts``: print the ``[kafka.jars]`` table of artifacts.toml.

It resolves the pinned Kafka coordinates the way the stack does (the same pinned Maven
plugin, the same local repository under the cache) into a scratch directory and hashes
every jar. Run it after changing a version there, review the diff, paste the output.
``--offline`` resolves from the local repository alone: it reproduces the table from what
is cached, with no network, which is how the test checks the script and the pins agree.
"""

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from playball_core.exits import ExitCode, report_error

from playball_stack.artifacts import load_pins, sha256_of
from playball_stack.errors import StackError, ToolMissingError
from playball_stack.maven import Maven
from playball_stack.settings import StackSettings


def kafka_jars_table(maven: Maven, coordinates: Sequence[str]) -> list[str]:
    """The ``[kafka.jars]`` table for the runtime closure of ``coordinates``."""
    with tempfile.TemporaryDirectory(prefix="playball-pin-") as scratch:
        target = Path(scratch) / "libs"
        maven.copy_dependencies(coordinates, target)
        jars = sorted(target.glob("*.jar"))
        return ["[kafka.jars]", *(f'"{jar.name}" = "{sha256_of(jar)}"' for jar in jars)]


def registry_note(cache_dir: Path) -> list[str]:
    """How to pin the registry's archive: by hand, once it has been checked."""
    pins = load_pins().registry
    archive = cache_dir / f"apicurio-registry-{pins.version}" / pins.file
    return [
        f"# registry: [registry] sha256 is that of {pins.file}; after checking a new one:",
        f"#   sha256sum {archive}",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/pin-stack-artifacts", description=__doc__.split("\n", 1)[0]
    )
    parser.add_argument(
        "--offline", action="store_true", help="resolve from the local Maven repository only"
    )
    parser.add_argument(
        "--cache-dir", type=Path, help="download cache (default: PLAYBALL_CACHE_DIR's)"
    )
    args = parser.parse_args(argv)
    cache_dir = args.cache_dir or StackSettings().cache_dir
    maven = Maven(cache_dir, offline=args.offline)
    try:
        table = kafka_jars_table(maven, load_pins().kafka.coordinates)
    except ToolMissingError as exc:
        report_error(str(exc))
        return ExitCode.BAD_INPUT
    except StackError as exc:
        hint = "; without --offline, Maven may download what is missing" if args.offline else ""
        report_error(f"{exc}{hint}")
        return ExitCode.UNREACHABLE
    print("\n".join([*table, "", *registry_note(cache_dir)]))
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
