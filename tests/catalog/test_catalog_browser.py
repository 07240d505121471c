"""The event catalog in a real browser: Debian's chromium, driven by Playwright.

What tests/catalog/test_catalog_offline.py reads with an HTML parser, checked here the way
a person meets it: pages opened from the file system, links followed and resources loaded
by the browser, the keyboard's Tab key, the accessibility tree Chromium gives a screen
reader, print media, and a reader that shows up once a real consumer has started.

One browser for the module (the tests share its worker under xdist: module-scoped
fixtures keep a module on one worker), one offline site built once, a fresh browser
context per test. Without chromium or playwright the tests fail under CI=true and skip
elsewhere, naming scripts/setup (tests/support/browser.py).
"""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from groups.consuming import consumer_environment, migrated, wait_for
from playball_catalog.cli import app
from playball_core import local_stack
from playball_core.avro.parser import parse_schema
from playball_core.avro.schema import SourceRef
from playball_core.manifest import CompatibilityLevel, load_manifest
from playball_core.registry import RegistryClient
from playball_events.kafka_security import kafka_security_from_environment
from playball_events.readers.readers_kafka import ensure_readers_topic
from playball_schemagate.gate import compare
from playball_schemagate.readers_live import live_readers
from playball_schemagate.schema_version import SchemaVersion
from playball_stack.settings import StackSettings
from support.browser import (
    accessibility_tree,
    chromium,
    crawl,
    dom_tables,
    new_page,
    require_browser,
    tab_order,
)
from support.catalog_fixture import catalog_repo, git
from support.databases import sqlite_url
from support.principals import principal_environment, service_acls_granted
from support.user_events import create_event_topics
from typer.testing import CliRunner

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ORDER = "test.orders.v1-test.orders.v1.Order"
MATRIX = "Reader version (rows) against writer version (columns)"
SCREENSHOT = "catalog-subject.png"  # scripts/refresh-catalog-screenshot copies it to docs/img
REPO_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
PLAYBALL = str(Path(sys.executable).parent / "playball")
runner = CliRunner()

Site = tuple[Path, Path, list[str]]  # the fixture's schema dir, the built site, Order's commits


@pytest.fixture(scope="module")
def browser() -> Iterator["Browser"]:
    with chromium(require_browser()) as launched:
        yield launched


@pytest.fixture
def page(browser: "Browser") -> Iterator["Page"]:
    with new_page(browser) as opened:
        yield opened


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """The offline catalog of a generated history: Order (3 versions, breaks both ways,
    a reader from the snapshot) and Customer (1 version)."""
    schemas, commits = catalog_repo(tmp_path_factory.mktemp("catalog"))
    out = schemas.parent.parent / "site"
    result = runner.invoke(
        app, ["build", "--offline", "--out", str(out), "--schemas", str(schemas)]
    )
    assert result.exit_code == 0, result.output
    return schemas, out, commits


def pages_of(out: Path) -> list[Path]:
    return sorted(path.resolve() for path in out.rglob("*.html"))


def test_the_index_lists_every_subject(site: Site, page: "Page") -> None:
    schemas, out, _ = site
    entries = load_manifest(schemas).gated
    assert len(entries) == 2
    index = (out / "index.html").as_uri()
    page.goto(index)
    subjects = page.get_by_role("table", name="Subjects", exact=True)
    assert sorted(subjects.get_by_role("rowheader").all_inner_texts()) == sorted(
        entry.subject for entry in entries
    )
    # and each entry leads to its subject's page, as a click does
    for entry in entries:
        page.goto(index)
        subjects.get_by_role("link", name=entry.subject, exact=True).click()
        page.wait_for_url((out / "subjects" / f"{entry.subject}.html").as_uri())
        assert page.get_by_role("heading", level=1).inner_text() == entry.record_full_name


def test_the_matrix_equals_the_gates_verdict_for_every_pair(
    site: Site, page: "Page", tmp_path: Path
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
    page.goto((out / "subjects" / f"{ORDER}.html").as_uri())
    # the table as shown: its column headers, then each row's header and cells' text
    shown: dict[str, Any] = page.get_by_role("table", name=MATRIX, exact=True).evaluate(
        """t => ({
          writers: Array.from(t.tHead.rows[0].cells).slice(1).map(c => c.innerText.trim()),
          rows: Array.from(t.tBodies[0].rows, r => [
            r.cells[0].innerText.trim(),
            Array.from(r.cells).slice(1).map(c => c.innerText.trim())]),
        })"""
    )
    labels = list(versions)  # oldest first
    assert shown["writers"] == labels
    assert [reader for reader, _ in shown["rows"]] == labels
    incompatible = 0
    for reader, cells in shown["rows"]:
        for writer, text in zip(shown["writers"], cells, strict=True):
            # BACKWARD against one version: can the reader's version read the writer's data?
            errors = [
                finding
                for finding in compare(
                    versions[reader], [versions[writer]], CompatibilityLevel.BACKWARD
                )
                if finding.direction is not None
            ]
            if reader == writer:
                assert (text, errors) == ("same", []), (reader, writer)
            elif errors:
                incompatible += 1
                assert text.startswith(f"incompatible: {errors[0].rule.value} at "), text
            else:
                assert text == "compatible", (reader, writer, text)
    assert incompatible >= 2  # the fixture breaks both ways: this comparison can fail

    # the picture of a subject page the docs show (scripts/refresh-catalog-screenshot)
    shot = tmp_path / SCREENSHOT
    page.screenshot(path=shot, full_page=True)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width == 1280 and height >= 900  # the viewport's width, the page's full length


def test_every_link_and_resource_of_the_site_resolves(site: Site, page: "Page") -> None:
    _, out, _ = site
    found = crawl(page, out / "index.html")
    assert found.broken == []
    assert sorted(found.pages) == pages_of(out)  # every page is reached from the index


def test_the_link_check_finds_what_is_broken(page: "Page", tmp_path: Path) -> None:
    """The crawl above can fail: a small site with one fault of each kind."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        '<link rel="stylesheet" href="gone.css"><a href="sub/a.html#here">a</a>'
        '<a href="sub/a.html#nowhere">b</a><a href="missing.html">c</a>'
        '<a href="https://example.org/">d</a><a href="../outside.html">e</a>',
        encoding="utf-8",
    )
    (tmp_path / "sub" / "a.html").write_text(
        '<p id="here"><a href="../index.html">back</a></p>', encoding="utf-8"
    )
    found = crawl(page, tmp_path / "index.html")
    assert sorted(found.pages) == pages_of(tmp_path)
    problems = "\n".join(found.broken)
    for expected in (
        "index.html: gone.css -> no such file",
        "sub/a.html#nowhere -> no id 'nowhere'",
        "missing.html -> no such file",
        "https://example.org/ leaves the site",
        "../outside.html leaves the site",
        "gone.css: net::ERR_FILE_NOT_FOUND",
    ):
        assert expected in problems, problems
    assert "#here" not in problems


def test_the_tab_key_reaches_every_link_and_shows_where_it_is(site: Site, page: "Page") -> None:
    _, out, _ = site
    for path in pages_of(out):
        page.goto(path.as_uri())
        assert page.evaluate("document.documentElement.lang") == "en", path
        links: list[int] = page.eval_on_selector_all(
            "a[href]",
            "es => es.map(e => Array.prototype.indexOf.call(document.querySelectorAll('*'), e))",
        )
        order = tab_order(page)
        assert {stop["index"] for stop in order if stop["tag"] == "a"} == set(links), path
        assert order[0]["href"] == "#main", path  # the skip link comes first
        for stop in order:  # a person sees where the focus is
            assert stop["outline"] != "none", (path, stop)

        # the skip link is off screen until focused; then it shows and leads into main
        page.goto(path.as_uri())
        page.keyboard.press("Tab")
        assert page.get_by_role("link", name="Skip to content").bounding_box() is not None
        skip = page.evaluate("document.activeElement.getBoundingClientRect().toJSON()")
        assert skip["x"] >= 0 and skip["y"] >= 0, (path, skip)
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#main", path
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('main') !== null"), path


def test_tables_have_captions_and_scoped_headers_as_a_screen_reader_gets_them(
    site: Site, page: "Page"
) -> None:
    _, out, _ = site
    tables_seen = 0
    for path in pages_of(out):
        page.goto(path.as_uri())
        roles, ax_tables = accessibility_tree(page)
        assert {"banner", "navigation", "main", "contentinfo"} <= roles, path
        tables = dom_tables(page)
        for table in tables:
            assert table["caption"], path
            assert table["scopes"] and set(table["scopes"]) <= {"col", "row"}, (path, table)
        # Chromium names each table by its caption and exposes its scoped header cells
        assert [(t.name, t.column_headers, t.row_headers) for t in ax_tables] == [
            (t["caption"], t["scopes"].count("col"), t["scopes"].count("row")) for t in tables
        ], path
        tables_seen += len(tables)
    assert tables_seen == 9  # index 2, Order 5 (fields, readers, matrix, 2 diffs), Customer 2


def test_print_hides_the_navigation_and_no_page_scrolls_sideways(site: Site, page: "Page") -> None:
    _, out, _ = site
    for path in pages_of(out):
        page.goto(path.as_uri())
        navigation = page.get_by_role("navigation")
        assert navigation.is_visible(), path
        # and on screen nothing (a long id, a wide table) pushes the page past the window
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
        page.emulate_media(media="print")
        assert navigation.is_hidden(), path
        assert page.locator("a.skip").is_hidden(), path
        assert page.get_by_role("main").is_visible(), path
        page.emulate_media(media="screen")


@pytest.mark.stack
def test_a_reader_appears_on_the_page_after_a_consumer_starts(
    stack: StackSettings,
    kafka_bootstrap: str,
    registry_url: str,
    unique_name: str,
    page: "Page",
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`playball groups consume` on a topic of its own reports itself on a readers topic
    of the test's own; the online catalog built before shows no reader, built after it
    shows that consumer, reading with the registered v1."""
    topic, group, readers_topic = unique_name, f"{unique_name}-groups", f"{unique_name}.readers"
    record = "playball.auth.v1.UserRegistered"
    subject = f"{topic}-{record}"
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "UserRegistered.avsc").write_bytes(
        (REPO_SCHEMAS / "UserRegistered.avsc").read_bytes()
    )
    (schemas / "manifest.toml").write_text(
        f'[[schema]]\nfile = "UserRegistered.avsc"\ntopic = "{topic}"\n'
        f'subject = "{subject}"\ncompatibility = "FULL_TRANSITIVE"\n',
        encoding="utf-8",
    )
    with RegistryClient(registry_url) as registry:
        create_event_topics(kafka_bootstrap, registry, topic, partitions=1)
    assert ensure_readers_topic(
        kafka_bootstrap, readers_topic, security=kafka_security_from_environment()
    )
    out = tmp_path / "site"
    subject_page = (out / "subjects" / f"{subject}.html").as_uri()
    # the online build (in this process) and the wait below read these, as the admin
    monkeypatch.setenv("PLAYBALL_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("PLAYBALL_SCHEMA_REGISTRY_URL", registry_url)
    monkeypatch.setenv("PLAYBALL_READERS_TOPIC", readers_topic)

    def build() -> None:
        result = runner.invoke(app, ["build", "--out", str(out), "--schemas", str(schemas)])
        assert result.exit_code == 0, result.output

    build()
    page.goto(subject_page)
    readers = page.locator("#readers + *")
    assert readers.inner_text() == "No reader has reported itself for this record."

    url = sqlite_url(tmp_path)
    with migrated(url):
        pass  # `groups consume` refuses a database that is not migrated
    env = consumer_environment(
        topic,
        kafka_bootstrap,
        registry_url,
        url,
        principal_environment(stack, local_stack.KAFKA_CONSUMER),
        PLAYBALL_CONSUMER_METRICS_PORT="0",
        PLAYBALL_READERS_TOPIC=readers_topic,
    )
    consumer: subprocess.Popen[str] | None = None
    try:
        with service_acls_granted(kafka_bootstrap, topic, group, readers_topic=readers_topic):
            consumer = subprocess.Popen(
                [PLAYBALL, "groups", "consume"],
                env=env,
                text=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            ours: list[dict[str, Any]] = []

            def reported() -> bool:
                assert consumer is not None
                if consumer.poll() is not None:
                    errors = consumer.stderr.read() if consumer.stderr else ""
                    pytest.fail(f"the consumer ended ({consumer.returncode}): {errors[-2000:]}")
                ours[:] = [r for r in live_readers()[1] if r["consumer_group"] == group]
                return bool(ours)

            wait_for(reported, timeout=60, what="the consumer's reader record")
            [reader] = ours
            build()
            page.goto(subject_page)
            table = page.get_by_role(
                "table", name=f"Consumers that reported a reader schema for {record}", exact=True
            )
            rows: list[list[str]] = table.evaluate(
                "t => Array.from(t.tBodies[0].rows,"
                " r => Array.from(r.cells, c => c.innerText.trim()))"
            )
            headers = table.get_by_role("columnheader").all_inner_texts()
            shown = [dict(zip(headers, row, strict=True)) for row in rows]
            assert len(shown) == 1, shown
            assert shown[0]["Service"] == "groups-consumer"
            assert shown[0]["Group"] == group
            assert shown[0]["Instance"] == reader["instance_id"]
            assert shown[0]["Reads as"] == "v1"  # the registered version it decodes with
            assert shown[0]["Stopped"] == "running"
            assert shown[0]["Last seen"]
    finally:
        if consumer is not None:
            if consumer.poll() is None:
                os.killpg(consumer.pid, signal.SIGKILL)
            consumer.wait(timeout=30)
            if consumer.stderr is not None:
                consumer.stderr.close()
