"""`playball schemas check` against git history, in throwaway repositories."""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playball_schemagate.breaking import load_declarations
from playball_schemagate.cli import app
from typer.testing import CliRunner

REPO_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
USER_REGISTERED = (REPO_SCHEMAS / "UserRegistered.avsc").read_text(encoding="utf-8")
SUBJECT = "test.users.v1-playball.auth.v1.UserRegistered"
EMAIL_LINE = (
    '    {"name": "email", "type": ["null", "string"], "default": null, '
    '"confluent:tags": ["PII"], '
    '"doc": "Contact address, if any."},\n'
)

runner = CliRunner()


def manifest(*entries: tuple[str, str, str, str]) -> str:
    return "\n".join(
        f'[[schema]]\nfile = "{file}"\ntopic = "{topic}"\nsubject = "{subject}"\n'
        f'compatibility = "{level}"\n'
        for file, topic, subject, level in entries
    )


def with_email(text: str) -> str:
    anchor = '    {"name": "username"'
    return text.replace(anchor, EMAIL_LINE + anchor)


def without_display_name(text: str) -> str:
    lines = [line for line in text.splitlines(keepends=True) if '"display_name"' not in line]
    lines[-3] = lines[-3].rstrip().rstrip(",") + "\n"
    return "".join(lines)


class Repo:
    def __init__(self, root: Path, branch: str = "main") -> None:
        self.root = root
        self.schemas = root / "schemas"
        self.schemas.mkdir(parents=True)
        self.git("init", "-q", "-b", branch)

    def git(self, *args: str, check_ok: bool = True) -> str:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.org",
            "GIT_CONFIG_GLOBAL": os.devnull,
        }
        done = subprocess.run(
            ["git", "-C", str(self.root), *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 0 or not check_ok, done.stderr
        return done.stdout

    def write(self, name: str, text: str) -> None:
        (self.schemas / name).write_text(text, encoding="utf-8")

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def check(self, *args: str) -> Any:
        return runner.invoke(app, ["check", "--schemas", str(self.schemas), *args])


def user_repo(tmp_path: Path, level: str = "FULL_TRANSITIVE", branch: str = "main") -> Repo:
    repo = Repo(tmp_path / "repo", branch)
    repo.write("manifest.toml", manifest(("UserRegistered.avsc", "test.users.v1", SUBJECT, level)))
    repo.write("UserRegistered.avsc", USER_REGISTERED)
    repo.commit("v1")
    return repo


def findings(result: Any) -> list[dict[str, Any]]:
    return [f for s in json.loads(result.stdout)["subjects"] for f in s["findings"]]


def test_worked_example_at_manifest_level(tmp_path: Path) -> None:
    repo = user_repo(tmp_path)
    repo.write("UserRegistered.avsc", with_email(USER_REGISTERED))
    passed = repo.check("--json")
    assert passed.exit_code == 0, passed.output
    report = json.loads(passed.stdout)["subjects"][0]
    assert report["subject"] == SUBJECT
    assert report["level"] == "FULL_TRANSITIVE"
    assert report["baseline"].startswith("git merge-base of HEAD and main")
    assert len(report["compared"]) == 1

    repo.commit("v2: email")
    broken = without_display_name(with_email(USER_REGISTERED))
    repo.write("UserRegistered.avsc", broken)
    failed = repo.check("--json")
    assert failed.exit_code == 1
    found = findings(failed)
    assert {f["rule"] for f in found} == {"READER_FIELD_MISSING_DEFAULT"}
    assert {f["path"] for f in found} == {"fields[display_name]"}
    assert len(found) == 2  # against v1 and v2: FULL_TRANSITIVE checks every version
    line = broken[: broken.index('"fields": [')].count("\n") + 1
    assert {(f["location"]["line"], f["location"]["col"]) for f in found} == {(line, 13)}
    assert all(f["location"]["file"].endswith("UserRegistered.avsc") for f in found)
    assert all("keep field 'display_name'" in f["hint"] for f in found)
    advice = json.loads(failed.stdout)["subjects"][0]["advice"]
    assert "playball.auth.v2" in advice
    assert "test.users.v2" in advice


def test_default_baseline_is_the_merge_base_with_main(tmp_path: Path) -> None:
    repo = user_repo(tmp_path, level="BACKWARD")
    repo.git("checkout", "-q", "-b", "feature")
    incompatible = USER_REGISTERED.replace('"type": "long", "doc"', '"type": "int", "doc"', 1)
    repo.write("UserRegistered.avsc", incompatible)
    repo.commit("narrow user_version to int")
    # Against main's history the branch's own commit is not a baseline: long -> int fails.
    assert repo.check().exit_code == 1
    # Against HEAD the latest version is the branch's own, so BACKWARD passes.
    assert repo.check("--against", "HEAD").exit_code == 0


def test_without_main_the_baseline_is_head(tmp_path: Path) -> None:
    repo = user_repo(tmp_path, branch="trunk")
    repo.write("UserRegistered.avsc", without_display_name(USER_REGISTERED))
    result = repo.check("--json")
    assert result.exit_code == 1
    assert "no merge-base with main" in json.loads(result.stdout)["subjects"][0]["baseline"]


def test_no_history_means_no_baseline_and_a_pass(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "empty")
    repo.write("manifest.toml", manifest(("U.avsc", "test.users.v1", SUBJECT, "FULL")))
    repo.write("U.avsc", USER_REGISTERED)
    result = repo.check()
    assert result.exit_code == 0
    assert "no baseline" in result.stdout


def clone(source: Repo, target: Path, *options: str) -> Repo:
    """``git clone`` of ``source`` (file:// so that --depth is honoured)."""
    source.git("clone", "-q", *options, f"file://{source.root}", str(target))
    cloned = Repo.__new__(Repo)
    cloned.root, cloned.schemas = target, target / "schemas"
    return cloned


def test_a_clean_clone_on_main_compares_with_heads_history(tmp_path: Path) -> None:
    # The CI case on a push to main: main is checked out and HEAD == main, so the
    # merge-base is HEAD and the working tree is checked against HEAD's whole history.
    origin = user_repo(tmp_path)
    origin.write("UserRegistered.avsc", with_email(USER_REGISTERED))
    origin.commit("v2: email")
    ci = clone(origin, tmp_path / "ci")
    assert ci.git("rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    unchanged = ci.check("--json")
    assert unchanged.exit_code == 0, unchanged.output
    report = json.loads(unchanged.stdout)["subjects"][0]
    head = ci.git("rev-parse", "HEAD").strip()
    assert report["baseline"] == f"git merge-base of HEAD and main ({head[:7]})"
    assert len(report["compared"]) == 2
    assert report["notes"] == []
    ci.write("UserRegistered.avsc", without_display_name(with_email(USER_REGISTERED)))
    assert ci.check().exit_code == 1


def test_a_clone_without_a_local_main_uses_origin_main(tmp_path: Path) -> None:
    origin = user_repo(tmp_path)
    ci = clone(origin, tmp_path / "ci")
    ci.git("checkout", "-q", "-b", "feature")
    ci.git("branch", "-q", "-D", "main")
    ci.write("UserRegistered.avsc", without_display_name(USER_REGISTERED))
    result = ci.check("--json")
    assert result.exit_code == 1
    baseline = json.loads(result.stdout)["subjects"][0]["baseline"]
    assert baseline.startswith("git merge-base of HEAD and origin/main")


def test_a_shallow_clone_checks_what_it_has_and_says_so(tmp_path: Path) -> None:
    origin = user_repo(tmp_path)
    origin.write("UserRegistered.avsc", with_email(USER_REGISTERED))
    origin.commit("v2: email")
    shallow = clone(origin, tmp_path / "shallow", "--depth", "1")
    result = shallow.check("--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["subjects"][0]
    assert len(report["compared"]) == 1  # v1 is beyond the shallow boundary
    assert any(note.startswith("shallow clone:") for note in report["notes"])
    human = shallow.check()
    assert "shallow clone" in human.stdout and "fetch-depth: 0" in human.stdout
    github = shallow.check("--github")
    assert any(
        line.startswith("::notice title=") and "shallow clone" in line
        for line in github.stdout.splitlines()
    )


def test_a_checkout_without_git_passes_with_a_note(tmp_path: Path) -> None:
    plain = tmp_path / "plain" / "schemas"
    plain.mkdir(parents=True)
    (plain / "manifest.toml").write_text(
        manifest(("U.avsc", "test.users.v1", SUBJECT, "FULL")), encoding="utf-8"
    )
    (plain / "U.avsc").write_text(USER_REGISTERED, encoding="utf-8")
    result = runner.invoke(app, ["check", "--schemas", str(plain), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["subjects"][0]
    assert report["baseline"].startswith("git no baseline (")
    assert "not a git repository" in report["baseline"]
    assert report["compared"] == []
    against = runner.invoke(app, ["check", "--schemas", str(plain), "--against", "main"])
    assert against.exit_code == 2
    assert "--against main:" in against.stderr and "not a git repository" in against.stderr


def test_git_not_installed_degrades_unless_a_ref_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = user_repo(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-binaries-here"))
    result = repo.check("--json")
    assert result.exit_code == 0, result.output
    assert "git is not installed" in json.loads(result.stdout)["subjects"][0]["baseline"]
    against = repo.check("--against", "HEAD")
    assert against.exit_code == 2
    assert "--against HEAD: git is not installed" in against.stderr


def test_a_version_made_by_a_merge_is_the_latest(tmp_path: Path) -> None:
    # A conflict resolved in the merge commit makes a version no other commit has; git log
    # does not list a merge's files, yet that version is what BACKWARD compares with.
    repo = user_repo(tmp_path, level="BACKWARD")
    x = '    {"name": "x", "type": "int", "default": 0, "doc": "x"},\n'
    y = '    {"name": "y", "type": "int", "default": 0, "doc": "y"},\n'
    anchor = '    {"name": "username"'
    repo.git("checkout", "-q", "-b", "side")
    repo.write("UserRegistered.avsc", USER_REGISTERED.replace(anchor, x + anchor))
    repo.commit("side: x")
    repo.git("checkout", "-q", "main")
    repo.write("UserRegistered.avsc", USER_REGISTERED.replace(anchor, y + anchor))
    repo.commit("main: y")
    repo.git("merge", "-q", "side", "-m", "merge", check_ok=False)
    merged = USER_REGISTERED.replace(anchor, x.replace('"int"', '"long"') + y + anchor)
    repo.write("UserRegistered.avsc", merged)
    repo.commit("merge side, x becomes long")
    # long -> int is not BACKWARD: caught only if the merge's own version is the latest.
    narrowed = merged.replace('"x", "type": "long"', '"x", "type": "int"')
    repo.write("UserRegistered.avsc", narrowed)
    result = repo.check("--json")
    assert result.exit_code == 1, result.output
    (finding,) = findings(result)
    assert (finding["rule"], finding["path"]) == ("TYPE_MISMATCH", "fields[x].type")


def test_an_unreadable_ref_is_exit_2(tmp_path: Path) -> None:
    repo = user_repo(tmp_path)
    result = repo.check("--against", "no-such-branch")
    assert result.exit_code == 2
    assert "--against no-such-branch: not a commit" in result.stderr


def test_history_follows_renames(tmp_path: Path) -> None:
    x = '{"name": "x", "type": "string", "doc": "x"}'
    y_default = '{"name": "y", "type": "int", "default": 0, "doc": "y"}'
    y_required = '{"name": "y", "type": "int", "doc": "y"}'

    def text(*fields: str) -> str:
        body = ",\n".join(f"  {field}" for field in fields)
        return f'{{"type": "record", "name": "R", "namespace": "t", "fields": [\n{body}\n]}}\n'

    repo = Repo(tmp_path / "renames")
    entry = ("Old.avsc", "test.r.v1", "test.r.v1-t.R", "BACKWARD_TRANSITIVE")
    repo.write("manifest.toml", manifest(entry))
    repo.write("Old.avsc", text(x))
    repo.commit("v1")
    repo.git("mv", "schemas/Old.avsc", "schemas/New.avsc")
    repo.write("manifest.toml", manifest(("New.avsc", *entry[1:])))
    repo.commit("rename")
    repo.write("New.avsc", text(x, y_default))
    repo.commit("v2")
    repo.write("New.avsc", text(x, y_required))
    result = repo.check("--json")
    report = json.loads(result.stdout)["subjects"][0]
    assert len(report["compared"]) == 2  # v1 under its old name, and v2
    assert result.exit_code == 1  # y has no default, and v1 data has no y
    (finding,) = report["findings"]
    assert finding["rule"] == "READER_FIELD_MISSING_DEFAULT"
    assert finding["counterpart"]["source"].endswith(":schemas/Old.avsc")


def test_an_invalid_committed_version_is_skipped_with_a_note(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "skips")
    repo.write("manifest.toml", manifest(("U.avsc", "test.users.v1", SUBJECT, "FULL")))
    repo.write("U.avsc", "{ not json")
    repo.commit("broken")
    repo.write("U.avsc", USER_REGISTERED)
    repo.commit("fixed")
    result = repo.check("--json")
    assert result.exit_code == 0
    (note,) = json.loads(result.stdout)["subjects"][0]["notes"]
    assert note.startswith("skipped ") and "not a valid schema" in note


def test_an_invalid_working_tree_schema_is_exit_2(tmp_path: Path) -> None:
    repo = user_repo(tmp_path)
    repo.write("UserRegistered.avsc", USER_REGISTERED.replace('"long"', '"lnog"'))
    result = repo.check()
    assert result.exit_code == 2
    assert "UserRegistered.avsc:" in result.stderr
    assert "undefined name 'lnog'" in result.stderr


# -- new major versions and breaking-changes.toml ----------------------------------------

V2_SUBJECT = "test.users.v2-playball.auth.v2.UserRegistered"


def major_repo(tmp_path: Path) -> Repo:
    repo = user_repo(tmp_path)
    v2 = without_display_name(USER_REGISTERED).replace("playball.auth.v1", "playball.auth.v2")
    repo.write("UserRegistered.v2.avsc", v2)
    repo.write(
        "manifest.toml",
        manifest(
            ("UserRegistered.avsc", "test.users.v1", SUBJECT, "FULL_TRANSITIVE"),
            ("UserRegistered.v2.avsc", "test.users.v2", V2_SUBJECT, "FULL_TRANSITIVE"),
        ),
    )
    return repo


def test_a_new_major_version_must_be_declared(tmp_path: Path) -> None:
    repo = major_repo(tmp_path)
    result = repo.check("--json")
    assert result.exit_code == 1
    # Errors only: the new subject's first version also warns (its user_id, copied from
    # v1 where it is not new, carries no PII classification).
    rules = {
        (s["subject"], f["rule"])
        for s in json.loads(result.stdout)["subjects"]
        for f in s["findings"]
        if f["severity"] == "error"
    }
    assert rules == {
        (SUBJECT, "UNDECLARED_MAJOR_VERSION"),
        (V2_SUBJECT, "UNDECLARED_MAJOR_VERSION"),
    }


def test_a_declared_major_version_passes_and_the_old_subject_keeps_its_history(
    tmp_path: Path,
) -> None:
    repo = major_repo(tmp_path)
    repo.write(
        "breaking-changes.toml",
        f'[[break]]\nsubject = "{SUBJECT}"\nsuccessor = "{V2_SUBJECT}"\n'
        'reason = "display_name moved to the profile service"\napprover = "lead"\n',
    )
    assert repo.check().exit_code == 0
    # The declaration never lets the old subject itself change incompatibly.
    repo.write("UserRegistered.avsc", without_display_name(USER_REGISTERED))
    assert repo.check().exit_code == 1


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        (
            f'subject = "{SUBJECT}"\nsuccessor = "nope"\nreason = "r"\napprover = "a"',
            "is not a subject",
        ),
        (f'subject = "{SUBJECT}"\nsuccessor = "{V2_SUBJECT}"\nreason = "r"', "'approver' must be"),
        ("subject = [", "cannot read"),
    ],
)
def test_an_invalid_declaration_is_exit_2(tmp_path: Path, declaration: str, message: str) -> None:
    repo = major_repo(tmp_path)
    repo.write("breaking-changes.toml", f"[[break]]\n{declaration}\n")
    result = repo.check()
    assert result.exit_code == 2
    assert message in result.stderr


def test_the_repositorys_own_breaking_changes_file_is_valid_and_empty() -> None:
    assert load_declarations(REPO_SCHEMAS) == []
    assert "[[break]]" in (REPO_SCHEMAS / "breaking-changes.toml").read_text(encoding="utf-8")


def test_an_unknown_level_in_the_manifest_is_exit_2_naming_the_manifest(tmp_path: Path) -> None:
    repo = user_repo(tmp_path)
    repo.write("manifest.toml", manifest(("UserRegistered.avsc", "t.v1", SUBJECT, "SIDEWAYS")))
    result = repo.check()
    assert result.exit_code == 2
    assert "manifest.toml" in result.stderr
    assert "SIDEWAYS" in result.stderr
