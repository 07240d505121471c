"""Debian's chromium, driven by Playwright for Python: the catalog's real-browser tests.

The browser is the machine's own (`scripts/setup` installs Debian's ``chromium`` with
apt): ``playwright install`` downloads a build of its own from a host these machines do
not reach, so it is never run. Playwright only drives what is on PATH.

Besides the launch, the checks a person's browser makes: a crawl that follows every link
and loads every resource of a site from the file system, the keyboard's tab order, and
the accessibility tree Chromium hands a screen reader (through the DevTools protocol).
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

# What the issue pins, then what keeps a test browser quiet and cheap on a 2-core machine
# with no GPU and no network beyond the package registries. Playwright adds --headless and
# a fresh temporary --user-data-dir of its own for every launch (removed on close).
CHROMIUM_ARGS = (
    "--no-sandbox",  # sessions and CI run as root, where Chromium's sandbox refuses to start
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
)
SETUP_HINT = "scripts/setup installs it"
TIMEOUT_MS = 15_000  # one action or navigation on a file:// page; Playwright's default is 30 s


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if find_spec("playwright") is None:
        return (
            f"the Python package playwright is not installed ({SETUP_HINT} from requirements.lock)"
        )
    if shutil.which("chromium") is None:
        return f"no chromium on PATH ({SETUP_HINT}: Debian's chromium, with apt-get)"
    return None


def require_browser() -> str:
    """The chromium executable. Without one, CI fails (a suite that skipped its browser
    tests proves nothing about the catalog in a browser); a developer's run skips, saying
    how to get one."""
    reason = missing_browser()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run: {reason}", pytrace=False)
        pytest.skip(f"browser tests skipped: {reason}")
    executable = shutil.which("chromium")
    assert executable is not None
    return executable


@contextmanager
def chromium(executable: str) -> Iterator["Browser"]:
    """One headless Chromium, ended on the way out whatever happened: closing the browser
    and then the Playwright driver (a node process) stops every process they started."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional until used

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def new_page(browser: "Browser") -> Iterator["Page"]:
    """A page in a context of its own (no state shared between tests), closed afterwards."""
    context: BrowserContext = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.set_default_timeout(TIMEOUT_MS)
        yield context.new_page()
    finally:
        context.close()


@dataclass
class Crawl:
    pages: set[Path] = field(default_factory=set)  # every page reached, resolved
    broken: list[str] = field(default_factory=list)


_PAGE_LINKS = """() => ({
  links: Array.from(document.querySelectorAll('a[href], link[href], [src]'),
                    e => [e.getAttribute('href') ?? e.getAttribute('src'),
                          e.href ?? e.src]),
  ids: Array.from(document.querySelectorAll('[id]'), e => e.id),
})"""


def crawl(page: "Page", index: Path) -> Crawl:
    """Open ``index`` and every page it leads to, as the browser resolves their links.

    Broken: a link or resource leaving the site (another scheme, or a path outside its
    directory), one naming no file, a ``#fragment`` naming no id of its page, a request
    the browser could not complete (a stylesheet, an image).
    """
    root = index.parent.resolve()
    result = Crawl()
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(f"{request.url}: {request.failure}"))
    ids: dict[Path, set[str]] = {}
    fragments: list[tuple[str, Path, str]] = []  # (where, target page, fragment)
    queue = [index.resolve()]
    while queue:
        path = queue.pop()
        if path in result.pages:
            continue
        result.pages.add(path)
        page.goto(path.as_uri())
        found: dict[str, Any] = page.evaluate(_PAGE_LINKS)
        where = path.relative_to(root).as_posix()
        ids[path] = set(found["ids"])
        for raw, resolved in found["links"]:
            parts = urlsplit(resolved)
            target = Path(unquote(parts.path)).resolve()
            if parts.scheme != "file" or not target.is_relative_to(root):
                result.broken.append(f"{where}: {raw} leaves the site")
            elif not target.is_file():
                result.broken.append(f"{where}: {raw} -> no such file")
            else:
                if target.suffix == ".html":
                    queue.append(target)
                if parts.fragment:
                    fragments.append((f"{where}: {raw}", target, unquote(parts.fragment)))
    for link, target, fragment in fragments:
        if fragment not in ids.get(target, set()):
            result.broken.append(f"{link} -> no id {fragment!r}")
    result.broken += [f"request failed: {line}" for line in failed]
    return result


_FOCUSED = """() => {
  const e = document.activeElement;
  if (e === null || e === document.body) return null;
  return {index: Array.prototype.indexOf.call(document.querySelectorAll('*'), e),
          tag: e.tagName.toLowerCase(), href: e.getAttribute('href'),
          outline: getComputedStyle(e).outlineStyle,
          inMain: e.closest('main') !== null, box: e.getBoundingClientRect().toJSON()}
}"""


def tab_order(page: "Page") -> list[dict[str, Any]]:
    """What the Tab key focuses, in order, from the top of the page until focus leaves
    the page or comes back round; fails if it never does (a focus trap)."""
    candidates = page.locator("a, button, input, select, textarea, summary, [tabindex]").count()
    order: list[dict[str, Any]] = []
    seen: set[int] = set()
    for _ in range(candidates + 2):
        page.keyboard.press("Tab")
        focused: dict[str, Any] | None = page.evaluate(_FOCUSED)
        if focused is None or focused["index"] in seen:
            return order
        seen.add(focused["index"])
        order.append(focused)
    pytest.fail(f"{page.url}: the Tab key never left the page after {len(order)} stops")


@dataclass(frozen=True)
class AxTable:
    name: str
    column_headers: int
    row_headers: int


def accessibility_tree(page: "Page") -> tuple[set[str], list[AxTable]]:
    """The roles of Chromium's accessibility tree (what a screen reader is given) and
    its tables, in document order: their accessible names and header cells."""
    session = page.context.new_cdp_session(page)
    try:
        nodes = session.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        session.detach()
    by_id = {node["nodeId"]: node for node in nodes}

    def role(node: dict[str, Any]) -> str:
        return "" if node.get("ignored") else str(node.get("role", {}).get("value", ""))

    def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield node
        for child in node.get("childIds", []):
            if child in by_id:
                yield from walk(by_id[child])

    [root] = [n for n in nodes if "parentId" not in n]
    ordered = list(walk(root))
    tables = []
    for node in ordered:
        if role(node) == "table":
            inside = [role(n) for n in walk(node)]
            tables.append(
                AxTable(
                    name=str(node.get("name", {}).get("value", "")),
                    column_headers=inside.count("columnheader"),
                    row_headers=inside.count("rowheader"),
                )
            )
    return {role(n) for n in ordered} - {""}, tables


_DOM_TABLES = """() => Array.from(document.querySelectorAll('table'), t => ({
  caption: t.caption ? t.caption.textContent.trim() : '',
  scopes: Array.from(t.querySelectorAll('th'), th => th.getAttribute('scope')),
}))"""


def dom_tables(page: "Page") -> list[dict[str, Any]]:
    """Each table's caption text and the ``scope`` of each of its header cells."""
    tables: list[dict[str, Any]] = page.evaluate(_DOM_TABLES)
    return tables
