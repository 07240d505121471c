"""Fetching from Maven Central with the machine's own ``mvn``.

Going through Maven (rather than fetching URLs ourselves) keeps repository hosts and
mirrors the user's Maven configuration's business, and resolves Kafka's dependency
closure the way every JVM project does. Maven's local repository lives in our cache
directory so the whole download cache is one folder outside the source tree.
"""

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from playball_stack.errors import StackError, ToolMissingError

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.playball</groupId>
  <artifactId>stack-runtime</artifactId>
  <version>1</version>
  <dependencies>
{dependencies}
  </dependencies>
</project>
"""

# Every plugin goal is named with its full, pinned coordinates. A bare `dependency:copy`
# runs whatever version the installed Maven's super-POM picks (2.8 in Maven 3.8) or the
# repository's metadata calls newest: code that runs, unverified, before any sha256 of
# ours is checked. Moving it: check the jars it produces still match artifacts.toml
# (scripts/pin-stack-artifacts prints them).
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

_DEPENDENCY = (
    "    <dependency><groupId>{0}</groupId><artifactId>{1}</artifactId>"
    "<version>{2}</version></dependency>"
)


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")  # a CSI sequence (SGR colours among them)


class Maven:
    def __init__(self, cache_dir: Path, *, offline: bool = False) -> None:
        self.local_repository = cache_dir / "m2"
        self.offline = offline  # resolve from the local repository alone, no download

    def _run(self, args: Sequence[str], cwd: Path) -> None:
        mvn = shutil.which("mvn")
        if mvn is None:
            msg = (
                "Maven (mvn) is needed to download Kafka and the registry from Maven "
                "Central; install it (Debian: apt-get install maven) and run again"
            )
            raise ToolMissingError(msg)
        command = [
            mvn,
            "--batch-mode",
            "--quiet",
            # a download whose checksum file disagrees fails, rather than a warning
            "--strict-checksums",
            *(["--offline"] if self.offline else []),
            f"-Dmaven.repo.local={self.local_repository}",
            *args,
        ]
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            # Maven colours its errors even in batch mode; ours quote them as plain text
            plain = _ANSI.sub("", result.stdout + result.stderr)
            tail = "\n".join(plain.splitlines()[-15:])
            msg = f"mvn {' '.join(args[:1])} failed (exit {result.returncode}):\n{tail}"
            raise StackError(msg)

    def copy_dependencies(self, coordinates: Sequence[str], target: Path) -> None:
        """Copy the runtime closure of ``group:artifact:version`` coordinates to ``target``."""
        deps = "\n".join(_DEPENDENCY.format(*c.split(":")) for c in coordinates)
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="playball-mvn-") as scratch:
            Path(scratch, "pom.xml").write_text(_POM.format(dependencies=deps), "utf-8")
            self._run(
                [
                    f"{DEPENDENCY_PLUGIN}:copy-dependencies",
                    "-DincludeScope=runtime",
                    f"-DoutputDirectory={target}",
                ],
                cwd=Path(scratch),
            )

    def copy_artifact(self, coordinates: str, target: Path) -> None:
        """Copy one ``group:artifact:version[:type[:classifier]]`` artifact to ``target``."""
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="playball-mvn-") as scratch:
            self._run(
                [
                    f"{DEPENDENCY_PLUGIN}:copy",
                    f"-Dartifact={coordinates}",
                    f"-DoutputDirectory={target}",
                ],
                cwd=Path(scratch),
            )
