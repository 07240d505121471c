"""The git baseline: every committed version of a schema file reachable from a ref, offline.

The default ref is the merge-base of ``HEAD`` and ``main`` (what a pull request will be
merged onto; ``origin/main`` when a CI clone has no local ``main``), falling back to ``HEAD``.
On ``main`` itself that is ``HEAD``: the working tree is checked against HEAD's history.

Checkouts that cannot give a full baseline degrade with a note instead of failing: no
repository, no commits, git not installed (nothing to compare with), or a shallow clone
(only the versions it holds). Only an explicit ``--against`` that cannot be read is an error.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path

from playball_core.avro.parser import SchemaParseError, parse_schema
from playball_core.avro.schema import SourceRef

from playball_schemagate.errors import GateInputError
from playball_schemagate.schema_version import SchemaVersion

DEFAULT_BRANCH = "main"
# CI checkouts (actions/checkout) often have only the remote-tracking branch.
_DEFAULT_BRANCH_REFS = (DEFAULT_BRANCH, f"origin/{DEFAULT_BRANCH}")
SHALLOW_NOTE = (
    "shallow clone: versions older than its history are not checked; fetch the full history "
    "(git fetch --unshallow, or actions/checkout with fetch-depth: 0)"
)


class GitError(GateInputError):
    """A git command failed in a way that makes the baseline unknowable."""


class GitMissingError(GitError):
    """git itself is not installed."""


@dataclass(frozen=True, slots=True)
class GitBaseline:
    toplevel: Path | None  # None: not inside a git repository
    commit: str | None  # None: no baseline (no repository, or no commits yet)
    description: str  # for reports: "merge-base of HEAD and main (3f2a9c1)"
    shallow: bool = False  # a shallow clone: older versions are missing

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
        raise GitMissingError(msg) from exc


def _commit_of(toplevel: Path, ref: str) -> str | None:
    result = _git(toplevel, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return result.stdout.strip() if result.returncode == 0 else None


def resolve_baseline(schema_dir: Path, against: str | None) -> GitBaseline:
    """The commit whose history is the baseline; GitError if ``against`` cannot be read."""
    try:
        top = _git(schema_dir, "rev-parse", "--show-toplevel")
    except GitMissingError as exc:
        if against is not None:
            raise GitError(f"--against {against}: {exc}") from exc
        return GitBaseline(None, None, f"no baseline ({exc})")
    if top.returncode != 0:
        # git's own reason: "not a git repository", but also "dubious ownership" and the like.
        reason = _first_line(top.stderr) or "not a git repository"
        if against is not None:
            msg = f"--against {against}: {schema_dir}: {reason}"
            raise GitError(msg)
        return GitBaseline(None, None, f"no baseline ({schema_dir}: {reason})")
    toplevel = Path(top.stdout.strip())
    shallow = _git(toplevel, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"
    if against is not None:
        commit = _commit_of(toplevel, against)
        if commit is None:
            msg = f"--against {against}: not a commit in the git repository at {toplevel}"
            raise GitError(msg)
        return GitBaseline(toplevel, commit, f"{against} ({commit[:7]})", shallow)
    for branch in _DEFAULT_BRANCH_REFS:
        merge_base = _git(toplevel, "merge-base", "HEAD", branch)
        if merge_base.returncode == 0:
            commit = merge_base.stdout.strip()
            return GitBaseline(
                toplevel, commit, f"merge-base of HEAD and {branch} ({commit[:7]})", shallow
            )
    head = _commit_of(toplevel, "HEAD")
    if head is not None:
        description = f"HEAD ({head[:7]}, no merge-base with {DEFAULT_BRANCH})"
        return GitBaseline(toplevel, head, description, shallow)
    return GitBaseline(toplevel, None, "no baseline (no commits yet)")


def _first_line(text: str) -> str:
    line = next((line for line in text.splitlines() if line.strip()), "")
    return line.removeprefix("fatal: ").strip()


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


def _show(toplevel: Path, commit: str, path: str) -> str | None:
    shown = _git(toplevel, "show", f"{commit}:{path}")
    return shown.stdout if shown.returncode == 0 else None  # None: not there at that commit


def file_history(baseline: GitBaseline, file: Path) -> FileHistory:
    """Every version of ``file`` committed up to the baseline, oldest first.

    The last one is always the file as it is at the baseline commit itself (what a
    non-transitive level compares with), even when that version was made by a merge.
    """
    if baseline.toplevel is None or baseline.commit is None:
        return FileHistory([], [baseline.description])
    try:
        relative = file.resolve().relative_to(baseline.toplevel.resolve()).as_posix()
    except ValueError as exc:
        msg = f"{file} is outside the git repository at {baseline.toplevel}"
        raise GitError(msg) from exc
    touching = _commits_touching(baseline.toplevel, baseline.commit, relative)
    # Merges are not listed with their files, so a conflict resolution would be missed:
    # the baseline commit's own version goes last unless it is the newest listed one.
    tip_path = touching[0][1] if touching else relative
    candidates = [*reversed(touching), (baseline.commit, tip_path)]
    texts: list[tuple[str, str, str]] = []  # (commit, path, text), oldest first
    for commit, path in candidates:
        text = _show(baseline.toplevel, commit, path)
        if text is None:
            continue  # the commit deleted the file
        if texts and texts[-1][2] == text:
            continue  # a rename without change, or the tip equal to the newest listed one
        texts.append((commit, path, text))
    versions: list[SchemaVersion] = []
    notes: list[str] = []
    for commit, path, text in texts:
        label = f"{commit[:7]}:{path}"
        try:
            document = parse_schema(text, SourceRef(label=label))
        except SchemaParseError as exc:
            # It could never have been registered, so no data was written with it.
            notes.append(f"skipped {label}: not a valid schema ({exc})")
            continue
        versions.append(SchemaVersion(label=commit[:7], document=document))
    if not versions:
        notes.append(f"{relative} has no committed version up to {baseline.description}")
    if baseline.shallow:
        notes.append(SHALLOW_NOTE)
    return FileHistory(versions, notes)
