"""The git baseline: every committed version of a schema file reachable from a ref, offline.

The default ref is the merge-base of ``HEAD`` and ``main`` (what a pull request will be
merged onto), falling back to ``HEAD`` when there is no ``main``. A repository without
commits, or a directory outside any repository, has no baseline: nothing to compare with.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path

from playball_schemagate.errors import GateInputError
from playball_schemagate.model import SchemaVersion, SourceRef
from playball_schemagate.parser import SchemaParseError, parse_schema

DEFAULT_BRANCH = "main"


class GitError(GateInputError):
    """A git command failed in a way that makes the baseline unknowable."""


@dataclass(frozen=True, slots=True)
class GitBaseline:
    toplevel: Path | None  # None: not inside a git repository
    commit: str | None  # None: no baseline (no repository, or no commits yet)
    description: str  # for reports: "merge-base of HEAD and main (3f2a9c1)"

    @property
    def label(self) -> str:
        return f"git {self.description}"


@dataclass(frozen=True, slots=True)
class FileHistory:
    versions: list[SchemaVersion]  # oldest first
    notes: list[str]


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(cwd), *args], capture_output=True, text=True, check=False
        )
    except FileNotFoundError as exc:
        msg = "git is not installed or not on PATH; it is needed for the git baseline"
        raise GitError(msg) from exc


def _commit_of(toplevel: Path, ref: str) -> str | None:
    result = _git(toplevel, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return result.stdout.strip() if result.returncode == 0 else None


def resolve_baseline(schema_dir: Path, against: str | None) -> GitBaseline:
    """The commit whose history is the baseline; GitError if ``against`` cannot be read."""
    top = _git(schema_dir, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        if against is not None:
            msg = f"--against {against}: {schema_dir} is not inside a git repository"
            raise GitError(msg)
        return GitBaseline(None, None, "no baseline (not a git repository)")
    toplevel = Path(top.stdout.strip())
    if against is not None:
        commit = _commit_of(toplevel, against)
        if commit is None:
            msg = f"--against {against}: not a commit in the git repository at {toplevel}"
            raise GitError(msg)
        return GitBaseline(toplevel, commit, f"{against} ({commit[:7]})")
    merge_base = _git(toplevel, "merge-base", "HEAD", DEFAULT_BRANCH)
    if merge_base.returncode == 0:
        commit = merge_base.stdout.strip()
        return GitBaseline(
            toplevel, commit, f"merge-base of HEAD and {DEFAULT_BRANCH} ({commit[:7]})"
        )
    head = _commit_of(toplevel, "HEAD")
    if head is not None:
        return GitBaseline(toplevel, head, f"HEAD ({head[:7]}, no {DEFAULT_BRANCH} branch)")
    return GitBaseline(toplevel, None, "no baseline (no commits yet)")


def _commits_touching(toplevel: Path, commit: str, path: str) -> list[tuple[str, str]]:
    """(commit, path at that commit) for every commit that changed the file, newest first."""
    result = _git(toplevel, "log", "--format=%x00%H", "--name-only", "--follow", commit, "--", path)
    if result.returncode != 0:
        msg = f"git log of {path} from {commit[:7]} failed: {result.stderr.strip()}"
        raise GitError(msg)
    touching: list[tuple[str, str]] = []
    for chunk in result.stdout.split("\0"):
        lines = [line for line in chunk.splitlines() if line.strip()]
        if len(lines) >= 2:  # merges without a diff list no file; nothing to read there
            touching.append((lines[0], lines[-1]))
    return touching


def file_history(baseline: GitBaseline, file: Path) -> FileHistory:
    """Every version of ``file`` committed up to the baseline, oldest first."""
    if baseline.toplevel is None or baseline.commit is None:
        return FileHistory([], [baseline.description])
    try:
        relative = file.resolve().relative_to(baseline.toplevel.resolve()).as_posix()
    except ValueError as exc:
        msg = f"{file} is outside the git repository at {baseline.toplevel}"
        raise GitError(msg) from exc
    versions: list[SchemaVersion] = []
    notes: list[str] = []
    previous_text: str | None = None
    for commit, path in reversed(_commits_touching(baseline.toplevel, baseline.commit, relative)):
        shown = _git(baseline.toplevel, "show", f"{commit}:{path}")
        if shown.returncode != 0:
            continue  # the commit deleted the file
        if shown.stdout == previous_text:
            continue  # a rename without change is the same version
        previous_text = shown.stdout
        label = f"{commit[:7]}:{path}"
        try:
            document = parse_schema(shown.stdout, SourceRef(label=label))
        except SchemaParseError as exc:
            # It could never have been registered, so no data was written with it.
            notes.append(f"skipped {label}: not a valid schema ({exc})")
            continue
        versions.append(SchemaVersion(label=commit[:7], document=document))
    if not versions:
        notes.append(f"{relative} has no committed version up to {baseline.description}")
    return FileHistory(versions, notes)
