"""The entry points of one group, read straight from the installed distributions' files.

``importlib.metadata`` would give the same answer, but importing it costs ~30 ms (it pulls
in ``email``, ``zipfile``, ``csv``), a quarter of ``playball --help``, which runs dozens of
times a day. Entry points are plain INI files, ``<name>-<version>.dist-info/entry_points.txt``
in the directories on ``sys.path``; this reads only those, with importlib.metadata's rule
for a distribution installed twice: the first on ``sys.path`` wins. A zipped ``sys.path``
entry (an egg) is not a directory we can scan: then importlib.metadata answers instead.
"""

import configparser
import re
import sys
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path


@dataclass(frozen=True, slots=True)
class EntryPoint:
    name: str
    value: str  # "package.module:attribute"

    def load(self) -> object:
        module, _, attribute = self.value.partition(":")
        target: object = import_module(module.strip())
        for part in filter(None, attribute.strip().split(".")):
            target = getattr(target, part)
        return target


def _normalized(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def entry_points(group: str) -> list[EntryPoint]:
    """Entry points of ``group`` across installed distributions, in discovery order."""
    directories = [Path(entry or ".") for entry in sys.path]
    if any(directory.is_file() for directory in directories):
        return _from_importlib_metadata(group)
    seen_distributions: set[str] = set()
    found: list[EntryPoint] = []
    for directory in directories:
        try:
            children = sorted(directory.iterdir())
        except OSError:
            continue
        for child in children:
            if child.suffix not in {".dist-info", ".egg-info"}:
                continue
            distribution = _normalized(child.stem.split("-", 1)[0])
            if distribution in seen_distributions:
                continue
            seen_distributions.add(distribution)
            found.extend(_read(child / "entry_points.txt", group))
    return found


def _read(path: Path, group: str) -> list[EntryPoint]:
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep names' case
    try:
        with path.open(encoding="utf-8") as file:
            parser.read_file(file)
    except (OSError, configparser.Error):
        return []
    if not parser.has_section(group):
        return []
    return [EntryPoint(name, value) for name, value in parser.items(group)]


def _from_importlib_metadata(group: str) -> list[EntryPoint]:
    from importlib.metadata import entry_points as installed  # noqa: PLC0415

    return [EntryPoint(entry.name, entry.value) for entry in installed(group=group)]
