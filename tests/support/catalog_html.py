"""The catalog's pages as data, read with the stdlib's HTML parser: links, ids, tables.

What a browser would need to reach every page and every link, checked without one: each
``href`` resolves to a file of the site (and its ``#fragment`` to an id on that page), no
link is taken out of the tab order, every table has a caption and scoped headers.
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass
class Table:
    caption: str = ""
    header_scopes: list[str | None] = field(default_factory=list)
    cells: list[dict[str, str | None]] = field(default_factory=list)  # <td> attributes


@dataclass
class Page:
    path: Path
    links: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)  # (href, attrs)
    ids: set[str] = field(default_factory=set)
    tables: list[Table] = field(default_factory=list)
    text: str = ""


class _Reader(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.in_caption = False
        self.chunks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.page.ids.add(str(attributes["id"]))
        if tag in {"a", "link"} and attributes.get("href") is not None:
            self.page.links.append((str(attributes["href"]), attributes))
        elif tag == "table":
            self.page.tables.append(Table())
        elif tag == "caption":
            self.in_caption = True
        elif tag == "th" and self.page.tables:
            self.page.tables[-1].header_scopes.append(attributes.get("scope"))
        elif tag == "td" and self.page.tables:
            self.page.tables[-1].cells.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption":
            self.in_caption = False

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)
        if self.in_caption and self.page.tables:
            self.page.tables[-1].caption += data


def read_page(path: Path) -> Page:
    page = Page(path)
    reader = _Reader(page)
    reader.feed(path.read_text(encoding="utf-8"))
    reader.close()
    page.text = " ".join(" ".join(reader.chunks).split())
    return page


def read_site(root: Path) -> dict[Path, Page]:
    """Every page of the site, by its resolved path."""
    return {path.resolve(): read_page(path) for path in sorted(root.rglob("*.html"))}


def broken_links(root: Path) -> list[str]:
    """Every link of the site that does not lead to a file in it (or to an id on the page)."""
    pages = read_site(root)
    broken = []
    for path, page in pages.items():
        for href, _ in page.links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc:
                broken.append(f"{path.name}: {href} leaves the site")
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if not target.is_file() or not target.is_relative_to(root.resolve()):
                broken.append(f"{path.name}: {href} -> no such file")
                continue
            if parts.fragment and target in pages and parts.fragment not in pages[target].ids:
                broken.append(f"{path.name}: {href} -> no id {parts.fragment!r}")
    return broken
