"""playball_cli.discovery reads entry points as importlib.metadata does, without its cost."""

import os
from importlib.metadata import entry_points as installed
from pathlib import Path

import pytest
from playball_cli import main
from playball_cli.discovery import EntryPoint, entry_points
from playball_cli.main import ENTRY_POINT_GROUP, build_app
from typer.testing import CliRunner


def test_finds_what_importlib_metadata_finds() -> None:
    for group in (ENTRY_POINT_GROUP, "console_scripts"):
        expected = sorted((e.name, e.value) for e in installed(group=group))
        assert sorted((e.name, e.value) for e in entry_points(group)) == expected


def dist_info(site: Path, directory: str, body: str) -> None:
    (site / directory).mkdir(parents=True)
    (site / directory / "entry_points.txt").write_text(body)


def test_the_first_installation_of_a_distribution_on_sys_path_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    dist_info(first, "my_tool-2.0.dist-info", "[playball.test]\nTool = new.cli:app\n")
    dist_info(second, "My.Tool-1.0.dist-info", "[playball.test]\nTool = old.cli:app\n")
    dist_info(second, "other-1.0.dist-info", "[console_scripts]\nother = other:main\n")
    monkeypatch.setattr("sys.path", [str(first), str(second), str(tmp_path / "missing")])

    assert entry_points("playball.test") == [EntryPoint("Tool", "new.cli:app")]
    assert entry_points("nothing.here") == []


def test_an_unreadable_entry_points_file_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist_info(tmp_path, "broken-1.0.dist-info", "no section header\n")
    dist_info(tmp_path, "fine-1.0.dist-info", "[playball.test]\nfine = fine:app\n")
    monkeypatch.setattr("sys.path", [str(tmp_path)])
    assert entry_points("playball.test") == [EntryPoint("fine", "fine:app")]


def test_load_resolves_a_dotted_attribute() -> None:
    assert EntryPoint("x", "os.path:join").load() is os.path.join
    assert EntryPoint("x", "playball_cli.main : build_app").load() is build_app


def test_a_sub_app_that_does_not_load_is_left_out_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One broken package (an import error, or an entry point that is no typer app)
    costs its own commands, not the others'."""
    real = entry_points

    def with_broken_ones(group: str) -> list[EntryPoint]:
        found = real(group)
        if group == ENTRY_POINT_GROUP:
            found += [
                EntryPoint("ghost", "playball_no_such_package.cli:app"),
                EntryPoint("joined", "os.path:join"),
            ]
        return found

    monkeypatch.setattr(main, "entry_points", with_broken_ones)
    app = build_app()  # loading the sub-apps: the warnings go to stderr then
    warnings = capsys.readouterr().err
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    assert "schemas" in result.stdout  # the working sub-apps are all there
    assert "ghost" not in result.stdout
    assert (
        "warning: the 'ghost' commands are unavailable: playball_no_such_package.cli:app did "
        "not load (ModuleNotFoundError: No module named 'playball_no_such_package')"
    ) in warnings
    assert "'joined' commands are unavailable" in warnings
    assert "it is a function, not a typer.Typer" in warnings
