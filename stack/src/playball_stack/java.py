"""Finding a Java runtime new enough for each JVM component.

Kafka 4 runs on Java 17; Apicurio 3.3 needs 21. Machines often carry several JDKs, so
we look at JAVA_HOME, the PATH and the usual install folders and take the first one
that is new enough, instead of failing on whichever ``java`` the PATH happens to name.
"""

import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from playball_stack.errors import ToolMissingError

JVM_DIRS = (Path("/usr/lib/jvm"), Path("/opt/java"), Path("/usr/local/lib/jvm"))
_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


@dataclass(frozen=True, slots=True)
class Java:
    executable: Path
    major: int


def java_version(executable: Path) -> int | None:
    try:
        result = subprocess.run(
            [str(executable), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    match = _VERSION.search(result.stderr + result.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    # Java 8 and older report "1.8.0_x"
    return int(match.group(2) or 0) if major == 1 else major


def candidate_javas(jvm_dirs: Iterable[Path] = JVM_DIRS) -> list[Path]:
    found: list[Path] = []
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        found.append(Path(java_home) / "bin" / "java")
    on_path = shutil.which("java")
    if on_path:
        found.append(Path(on_path))
    for jvm_dir in jvm_dirs:
        if jvm_dir.is_dir():
            found.extend(sorted(jvm_dir.glob("*/bin/java"), reverse=True))
    unique: dict[Path, None] = {}
    for path in found:
        if path.is_file():
            unique.setdefault(path.resolve(), None)
    return list(unique)


def find_java(minimum: int, purpose: str, jvm_dirs: Iterable[Path] = JVM_DIRS) -> Java:
    seen: list[str] = []
    for executable in candidate_javas(jvm_dirs):
        major = java_version(executable)
        if major is not None and major >= minimum:
            return Java(executable, major)
        seen.append(f"{executable} ({major or 'unknown version'})")
    found = "; found only: " + ", ".join(seen) if seen else "; no Java was found"
    msg = (
        f"Java {minimum}+ is needed to run {purpose}{found}. Install a JDK {minimum} or "
        "newer (Debian: apt-get install openjdk-17-jre-headless for Kafka; Temurin 21+ for "
        "the registry) and/or point JAVA_HOME at it"
    )
    raise ToolMissingError(msg)
