"""The structure that keeps `playball` fast to start (the timings are in
scripts/bench_cli_startup.py): composing the command imports no heavy module, and every
sub-app, those added later included, renders plain help."""

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import typer
from playball_cli.main import ENTRY_POINT_GROUP, ROOT_ENTRY_POINT_GROUP, build_app

# Each costs tens of milliseconds to import, or pulls in a driver, a client or a server
# framework: a sub-app imports them inside the commands that use them.
HEAVY = (
    "pydantic",
    "pydantic_settings",
    "psycopg",
    "httpx",
    "confluent_kafka",
    "sqlalchemy",
    "fastapi",
    "uvicorn",
    "alembic",
    "fastavro",
    "rich",
)
# typer itself coerces every parsed parameter through pydantic, so a command that parses
# options loads it; none of the others.
HEAVY_FOR_A_COMMAND = tuple(name for name in HEAVY if name != "pydantic")

PROBE = """
import json, sys
sys.argv = ["playball", *json.loads(sys.argv[1])]
from playball_cli.main import build_app, main
if sys.argv[1:]:
    try:
        main()
    except SystemExit:
        pass
else:
    build_app()
print("\\nLOADED=" + json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def modules_loaded(*argv: str, cwd: Path | None = None) -> set[str]:
    """Top-level modules imported by a fresh interpreter running ``playball *argv``."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv)],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    )
    line = result.stdout.rsplit("LOADED=", 1)[1]
    return set(json.loads(line))


def test_composing_the_command_imports_no_heavy_module() -> None:
    assert modules_loaded() & set(HEAVY) == set()


def test_help_imports_no_heavy_module() -> None:
    assert modules_loaded("--help") & set(HEAVY) == set()


@pytest.mark.parametrize("name", sorted(e.name for e in entry_points(group=ENTRY_POINT_GROUP)))
def test_each_sub_app_help_imports_no_heavy_module(name: str) -> None:
    assert modules_loaded(name, "--help") & set(HEAVY_FOR_A_COMMAND) == set()


def test_compat_on_two_files_imports_neither_registry_client_nor_drivers(tmp_path: Path) -> None:
    schema = {"type": "record", "name": "A", "fields": [{"name": "a", "type": "int"}]}
    (tmp_path / "old.avsc").write_text(json.dumps(schema))
    (tmp_path / "new.avsc").write_text(json.dumps(schema))
    loaded = modules_loaded(
        "schemas", "compat", "old.avsc", "new.avsc", "--level", "FULL", cwd=tmp_path
    )
    # rich colours the human report: the one heavy module this command may load
    assert loaded & set(HEAVY_FOR_A_COMMAND) <= {"rich"}
    assert "playball_schemagate" in loaded  # the probe really ran the command


def test_every_sub_app_renders_plain_help() -> None:
    # rich help formatting costs ~0.15 s per invocation; a sub-app that turns it back on
    # slows down every `playball` command
    groups = (ENTRY_POINT_GROUP, ROOT_ENTRY_POINT_GROUP)
    for entry in [e for group in groups for e in entry_points(group=group)]:
        sub_app = entry.load()
        assert isinstance(sub_app, typer.Typer)
        assert sub_app.rich_markup_mode is None, f"{entry.name}: set rich_markup_mode=None"
    assert build_app().rich_markup_mode is None
