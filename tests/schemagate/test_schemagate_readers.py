"""`playball schemas check --readers|--readers-file`: candidates against deployed readers.

Each case is a change the subject's own level accepts (the plain check passes) that a
deployed reader cannot read: the readers check fails, naming the reader, the field path
and the place in the candidate file.
"""

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from playball_core.exits import ExitCode
from playball_schemagate import readers_live
from playball_schemagate.readers import snapshot_json
from schemagate.test_schemagate_check_git import Repo, manifest
from typer.testing import CliRunner

runner = CliRunner()
TOPIC = "test.orders.v1"
RECORD = "test.orders.v1.Order"
SUBJECT = f"{TOPIC}-{RECORD}"
NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


def order(*fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "record",
        "name": "Order",
        "namespace": "test.orders.v1",
        "fields": list(fields),
    }


ID = {"name": "id", "type": "string", "confluent:tags": ["NOT_PII"], "doc": "id"}
NOTE = {"name": "note", "type": "string", "confluent:tags": ["NOT_PII"], "doc": "a note"}


def status(*symbols: str) -> dict[str, Any]:
    enum = {"type": "enum", "name": "Status", "symbols": list(symbols), "doc": "s"}
    return {"name": "status", "type": enum, "doc": "status"}


STATUS_AB = status("A", "B")
STATUS_ABC = status("A", "B", "C")


def text(schema: dict[str, Any]) -> str:
    # one field per line, so file:line:col points at the field
    fields = ",\n".join(f"    {json.dumps(field)}" for field in schema["fields"])
    head = json.dumps({k: v for k, v in schema.items() if k != "fields"})[:-1]
    return f'{head}, "fields": [\n{fields}\n  ]}}\n'


def reader_entry(
    schema: dict[str, Any],
    *,
    instance: str = "11111111-1111-4111-8111-111111111111",
    last_seen: dt.datetime = NOW,
    stopped_at: dt.datetime | None = None,
    version: str = "1.4.0",
) -> dict[str, Any]:
    return {
        "key": f"groups-consumer/playball-groups/{TOPIC}/{instance}",
        "service": "groups-consumer",
        "version": version,
        "git_sha": "abc123",
        "consumer_group": "playball-groups",
        "topic": TOPIC,
        "instance_id": instance,
        "host": "h1",
        "started_at": (last_seen - dt.timedelta(hours=1)).isoformat(),
        "last_seen": last_seen.isoformat(),
        "stopped_at": stopped_at.isoformat() if stopped_at else None,
        "readers": [{"record_name": RECORD, "fingerprint": "f", "schema": schema}],
    }


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """A fixture manifest at BACKWARD: v1 committed on main."""
    repo = Repo(tmp_path / "repo")
    repo.write("manifest.toml", manifest(("Order.avsc", TOPIC, SUBJECT, "BACKWARD")))
    repo.write("Order.avsc", text(order(ID, NOTE, STATUS_AB)))
    repo.commit("v1")
    return repo


def readers_file(repo: Repo, *entries: dict[str, Any], taken_at: dt.datetime = NOW) -> Path:
    path = repo.root / "readers.json"
    path.write_text(snapshot_json(list(entries), taken_at), encoding="utf-8")
    return path


def check_with(repo: Repo, path: Path, *args: str) -> Any:
    return repo.check("--against", "main", "--readers-file", str(path), *args)


def test_a_reader_pinned_to_an_older_generated_package_fails_the_check(repo: Repo) -> None:
    # a new enum symbol: BACKWARD accepts it (new readers read old data), but a consumer
    # still on the v1 generated package has no 'C' and no enum default
    repo.write("Order.avsc", text(order(ID, NOTE, STATUS_ABC)))
    assert repo.check("--against", "main").exit_code == ExitCode.OK
    result = check_with(repo, readers_file(repo, reader_entry(order(ID, NOTE, STATUS_AB))))
    assert result.exit_code == ExitCode.CHECK_FAILED, result.output
    assert "groups-consumer 1.4.0+abc123, group playball-groups, instance 11111111" in result.output
    assert "fields[status].type" in result.output
    assert "Order.avsc:4:" in result.output  # the status field's line in the candidate
    assert "checked 1 deployed reader(s)" in result.output


def test_a_removed_field_an_old_reader_requires_without_default_fails(repo: Repo) -> None:
    repo.write("Order.avsc", text(order(ID, STATUS_AB)))
    assert repo.check("--against", "main").exit_code == ExitCode.OK
    path = readers_file(repo, reader_entry(order(ID, NOTE, STATUS_AB)))
    result = check_with(repo, path, "--json")
    assert result.exit_code == ExitCode.CHECK_FAILED, result.output
    payload = json.loads(result.stdout)
    assert payload["readers_checked"] == 1
    failed = [s for s in payload["subjects"] if not s["passed"]]
    [finding] = failed[0]["findings"]
    assert finding["path"] == "fields[note]"
    assert "instance 11111111-1111-4111-8111-111111111111" in failed[0]["baseline"]


def test_an_unregistered_reader_with_a_stricter_type_fails(repo: Repo) -> None:
    # the candidate keeps a long the registry accepted long ago; a reader schema that was
    # never registered decodes it as an int, which cannot hold every long
    count = {"name": "count", "type": "long", "doc": "how many"}
    repo.write("Order.avsc", text(order(ID, NOTE, STATUS_AB, {**count, "default": 0})))
    repo.commit("v2: count")
    strict = order(ID, NOTE, STATUS_AB, {**count, "type": "int", "default": 0})
    assert repo.check("--against", "main").exit_code == ExitCode.OK
    result = check_with(repo, readers_file(repo, reader_entry(strict)))
    assert result.exit_code == ExitCode.CHECK_FAILED, result.output
    assert "fields[count].type" in result.output
    assert "Order.avsc:5:" in result.output


def test_a_reader_that_can_read_the_candidate_passes(repo: Repo) -> None:
    repo.write("Order.avsc", text(order(ID, NOTE, STATUS_ABC)))
    result = check_with(repo, readers_file(repo, reader_entry(order(ID, NOTE, STATUS_ABC))))
    assert result.exit_code == ExitCode.OK, result.output
    assert "checked 1 deployed reader(s)" in result.output


def test_old_readers_are_skipped_but_stopped_ones_count(repo: Repo) -> None:
    repo.write("Order.avsc", text(order(ID, STATUS_AB)))
    old = reader_entry(order(ID, NOTE, STATUS_AB), last_seen=NOW - dt.timedelta(days=8))
    assert check_with(repo, readers_file(repo, old)).exit_code == ExitCode.OK
    assert (
        check_with(repo, readers_file(repo, old), "--readers-max-age", "9").exit_code
        == ExitCode.CHECK_FAILED
    )
    stopped = reader_entry(order(ID, NOTE, STATUS_AB), stopped_at=NOW)
    assert check_with(repo, readers_file(repo, stopped)).exit_code == ExitCode.CHECK_FAILED


def test_no_reader_warns_and_passes_unless_required(repo: Repo) -> None:
    path = readers_file(repo)
    result = check_with(repo, path)
    assert result.exit_code == ExitCode.OK
    assert "warning: no deployed reader" in result.output
    assert check_with(repo, path, "--require-readers").exit_code == ExitCode.CHECK_FAILED


def test_readers_from_the_topic_are_checked_the_same_way(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = reader_entry(order(ID, NOTE, STATUS_AB), last_seen=dt.datetime.now(dt.UTC))
    monkeypatch.setattr(readers_live, "live_readers", lambda: ("_playball.readers", [fresh]))
    repo.write("Order.avsc", text(order(ID, STATUS_AB)))
    result = repo.check("--against", "main", "--readers")
    assert result.exit_code == ExitCode.CHECK_FAILED, result.output
    assert "group playball-groups" in result.output


def test_an_unreadable_readers_topic_exits_3(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    def unreadable() -> None:
        raise readers_live.ReadersUnreadableError("readers topic '_playball.readers': no broker")

    monkeypatch.setattr(readers_live, "live_readers", unreadable)
    result = repo.check("--against", "main", "--readers")
    assert result.exit_code == ExitCode.UNREACHABLE
    assert "error: readers topic" in result.output


def test_a_malformed_readers_file_is_bad_input(repo: Repo) -> None:
    path = repo.root / "readers.json"
    path.write_text('{"readers": [{"service": "x"}]}', encoding="utf-8")
    result = check_with(repo, path)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "not a reader record" in result.output


def test_readers_and_readers_file_are_exclusive(repo: Repo) -> None:
    result = check_with(repo, readers_file(repo), "--readers")
    assert result.exit_code == ExitCode.BAD_INPUT


def test_readers_check_reads_every_registered_writer_version_with_each_reader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A consumer replaying a compacted topic from the start meets v1 too: a reader that
    needs a field v1 lacks (no default) fails against v1 alone."""
    from contextlib import nullcontext  # noqa: PLC0415

    from playball_core.registry.memory import InMemoryRegistry  # noqa: PLC0415
    from playball_schemagate import readers_cli  # noqa: PLC0415

    registry = InMemoryRegistry()
    registry.register(SUBJECT, json.dumps(order(ID, NOTE)))
    registry.register(SUBJECT, json.dumps(order(ID, NOTE, {**STATUS_AB, "default": "A"})))
    reader = reader_entry(order(ID, NOTE, STATUS_AB))
    monkeypatch.setattr(readers_live, "live_readers", lambda: ("_playball.readers", [reader]))
    monkeypatch.setattr(readers_cli, "_registry", lambda _url: nullcontext(registry))
    result = runner.invoke(readers_cli.app, ["check", "--json"])
    assert result.exit_code == ExitCode.CHECK_FAILED, result.output
    payload = json.loads(result.stdout)
    assert payload["readers_checked"] == 1
    verdicts = {s["candidate"]: s["passed"] for s in payload["subjects"]}
    assert verdicts == {"v1": False, "v2": True}


def test_control_characters_in_a_reader_record_are_shown_escaped(repo: Repo) -> None:
    forged = {**reader_entry(order(ID, NOTE, STATUS_AB)), "service": "evil\x1b[2J\u202e"}
    repo.write("Order.avsc", text(order(ID, STATUS_AB)))
    result = check_with(repo, readers_file(repo, forged))
    assert result.exit_code == ExitCode.CHECK_FAILED
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert "evil\\x1b[2J\\u202e" in result.output


def test_many_instances_of_one_version_each_get_their_verdict(repo: Repo) -> None:
    # a week of rolling deploys: instances sharing schemas are checked once per schema,
    # yet each instance is reported, and a failing schema's findings name each reader
    repo.write("Order.avsc", text(order(ID, STATUS_AB)))
    old = [f"{n:08d}-1111-4111-8111-111111111111" for n in range(3)]
    new = [f"{n:08d}-2222-4222-8222-222222222222" for n in range(3)]
    path = readers_file(
        repo,
        *(reader_entry(order(ID, NOTE, STATUS_AB), instance=i) for i in old),
        *(reader_entry(order(ID, STATUS_AB), instance=i, version="1.5.0") for i in new),
    )
    payload = json.loads(check_with(repo, path, "--json").stdout)
    assert payload["readers_checked"] == 6
    verdicts = {
        s["baseline"].rsplit("instance ", 1)[1]: [f["path"] for f in s["findings"]]
        for s in payload["subjects"]
        if "deployed reader" in s["baseline"]
    }
    assert verdicts == {i: ["fields[note]"] for i in old} | {i: [] for i in new}
