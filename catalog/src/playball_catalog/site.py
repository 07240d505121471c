"""Write the catalog as a static site: plain HTML and one stylesheet, opened from disk.

No server and no script: every link is relative, so the directory can be opened with a
file:// URL, copied or published anywhere. Jinja2 escapes everything it inserts.
"""

from importlib.resources import files
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from playball_catalog.model import Catalog

STYLESHEET = "style.css"


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("playball_catalog", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a misspelt name fails the build instead of vanishing
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def write_site(content: Catalog, out: Path) -> Path:
    """Write every page under ``out``; returns the index page's path."""
    environment = _environment()
    (out / "subjects").mkdir(parents=True, exist_ok=True)
    (out / "topics").mkdir(parents=True, exist_ok=True)
    stylesheet = files("playball_catalog").joinpath("templates", STYLESHEET).read_text("utf-8")
    (out / STYLESHEET).write_text(stylesheet, encoding="utf-8")
    index = out / "index.html"
    index.write_text(
        environment.get_template("index.html").render(catalog=content, root=""), encoding="utf-8"
    )
    subject_template = environment.get_template("subject.html")
    for subject in content.subjects:
        page = subject_template.render(catalog=content, subject=subject, root="../")
        (out / "subjects" / f"{subject.slug}.html").write_text(page, encoding="utf-8")
    topic_template = environment.get_template("topic.html")
    for topic in content.topics:
        page = topic_template.render(catalog=content, topic=topic, root="../")
        (out / "topics" / f"{topic.slug}.html").write_text(page, encoding="utf-8")
    return index
