"""`playball catalog build --offline`: the site from a generated git history and a snapshot.

The pages are read back with the stdlib's HTML parser (tests/support/catalog_html.py):
the matrix is compared cell by cell with the gate's own verdict, every link is followed,
and the accessibility points are checked on every page.
"""

import re
from pathlib import Path

import pytest
from playball_catalog.cli import app
from playball_core.avro.parser import parse_schema
from playball_core.avro.schema import SourceRef
from playball_core.exits import ExitCode
from playball_core.manifest import CompatibilityLevel
from playball_schemagate.gate import compare
from playball_schemagate.schema_version import SchemaVersion
from support.catalog_fixture import READER_INSTANCE, catalog_repo, git
from support.catalog_html import Page, broken_links, read_page, read_site
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """The fixture's schema directory, the built site, and Order's commits (oldest first)."""
    schemas, commits = catalog_repo(tmp_path_factory.mktemp("catalog"))
    out = schemas.parent.parent / "site"
    result = runner.invoke(
        app, ["build", "--offline", "--out", str(out), "--schemas", str(schemas)]
    )
    assert result.exit_code == 0, result.output
    assert f"catalog: {out / 'index.html'}" in result.output
    return schemas, out, commits


def subject_page(out: Path, subject: str) -> Page:
    return read_page(out / "subjects" / f"{subject}.html")


def test_the_index_lists_every_topic_and_subject(site: tuple[Path, Path, list[str]]) -> None:
    _, out, _ = site
    index = read_page(out / "index.html")
    hrefs = {href for href, _ in index.links}
    for subject in (
        "test.orders.v1-test.orders.v1.Order",
        "test.customers.v1-test.customers.v1.Customer",
    ):
        assert f"subjects/{subject}.html" in hrefs
    assert {"topics/test.orders.v1.html", "topics/test.customers.v1.html"} <= hrefs


def test_every_version_with_its_field_level_diff(site: tuple[Path, Path, list[str]]) -> None:
    _, out, commits = site
    page = subject_page(out, "test.orders.v1-test.orders.v1.Order")
    matrix = next(t for t in page.tables if t.caption.startswith("Reader version"))
    assert len(matrix.cells) == len(commits) ** 2  # every ordered pair, the diagonal too
    for commit in commits:
        assert commit[:7] in page.text
    # v2 added an enum symbol, v3 removed `note`
    assert "status changed type: enum Status {A, B} -> enum Status {A, B, C}" in page.text
    assert "note removed string, no default" in page.text
    assert "The first version." in page.text


def test_the_matrix_equals_the_gates_verdict_for_every_pair(
    site: tuple[Path, Path, list[str]],
) -> None:
    schemas, out, commits = site
    versions = {
        commit[:7]: SchemaVersion(
            commit[:7],
            parse_schema(
                git(schemas.parent, "show", f"{commit}:schemas/Order.avsc"),
                SourceRef(label=commit[:7]),
            ),
        )
        for commit in commits
    }
    page = subject_page(out, "test.orders.v1-test.orders.v1.Order")
    matrix = next(t for t in page.tables if t.caption.startswith("Reader version"))
    verdicts = {(c["data-reader"], c["data-writer"]): c for c in matrix.cells}
    incompatible = 0
    for reader, reader_version in versions.items():
        for writer, writer_version in versions.items():
            cell = verdicts[(reader, writer)]
            # BACKWARD against one version: can the candidate (reader) read the writer's data?
            errors = [
                f
                for f in compare(reader_version, [writer_version], CompatibilityLevel.BACKWARD)
                if f.direction is not None
            ]
            expected = "incompatible" if errors else "compatible"
            assert cell["data-verdict"] == expected, (reader, writer)
            if errors:
                incompatible += 1
                assert cell["data-rule"] == errors[0].rule.value
    assert incompatible >= 2  # the fixture has breaks both ways: the test can fail


def test_readers_personal_fields_and_producers(site: tuple[Path, Path, list[str]]) -> None:
    _, out, commits = site
    page = subject_page(out, "test.orders.v1-test.orders.v1.Order")
    readers = next(t for t in page.tables if t.caption.startswith("Consumers"))
    assert len(readers.header_scopes) > 0
    assert "groups-consumer" in page.text
    assert READER_INSTANCE in page.text
    assert "1.4.0+abc123 playball-groups" in page.text
    # the reader decodes with v1's schema: the page says which version that is
    row = re.search(rf"{READER_INSTANCE} (\S+) (\S+)", page.text)
    assert row is not None and row.group(2) == commits[0][:7], page.text
    assert "Personal fields email" in page.text
    assert "Producers orders service" in page.text
    assert "offline build: the broker was not asked" in page.text


def test_every_link_of_the_site_leads_somewhere(site: tuple[Path, Path, list[str]]) -> None:
    _, out, _ = site
    assert broken_links(out) == []
    assert (out / "style.css").is_file()


def test_accessibility_points_hold_on_every_page(site: tuple[Path, Path, list[str]]) -> None:
    _, out, _ = site
    pages = read_site(out)
    assert len(pages) == 5  # index, 2 subjects, 2 topics
    for path, page in pages.items():
        assert page.links, path
        for href, attributes in page.links:
            # nothing takes a link out of the keyboard's tab order
            assert attributes.get("tabindex") in {None, "0"}, (path, href)
        assert "main" in page.ids  # the skip link's target
        for table in page.tables:
            assert table.caption.strip(), (path, table)
            assert table.header_scopes and all(
                scope in {"col", "row"} for scope in table.header_scopes
            ), (path, table.caption)
    css = (out / "style.css").read_text(encoding="utf-8")
    print_rules = css[css.index("@media print") :]
    hidden = re.search(r"([^{}]*)\{\s*display:\s*none", print_rules)
    assert hidden is not None and "nav" in hidden.group(1).split(",")[0]


def test_a_repository_without_a_snapshot_still_builds(tmp_path: Path) -> None:
    schemas, _ = catalog_repo(tmp_path, with_readers=False)
    out = tmp_path / "site"
    result = runner.invoke(
        app, ["build", "--offline", "--out", str(out), "--schemas", str(schemas)]
    )
    assert result.exit_code == 0, result.output
    assert "no readers snapshot" in read_page(out / "index.html").text


def test_a_missing_readers_file_is_bad_input(tmp_path: Path) -> None:
    schemas, _ = catalog_repo(tmp_path, with_readers=False)
    result = runner.invoke(
        app,
        [
            "build",
            "--offline",
            "--out",
            str(tmp_path / "site"),
            "--schemas",
            str(schemas),
            "--readers-file",
            str(tmp_path / "nope.json"),
        ],
    )
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "error: --readers-file" in result.output
    assert "Traceback" not in result.output
