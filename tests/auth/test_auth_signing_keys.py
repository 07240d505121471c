"""The signing-key directory: its layout, the mode checks, the development directory and
what ``rotate`` writes and deletes."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playball_auth.adapters.signing_keys import (
    SigningKeyError,
    add_key,
    ensure_development_directory,
    public_jwk,
    read_keys,
    rotate,
    stored_keys,
)
from playball_auth.settings import default_signing_keys_path

BITS = 2048  # the real 3072 bits only make these tests slower
NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    """A key directory as ``serve`` creates it in development: 0700, one key."""
    directory = tmp_path / "keys"
    assert ensure_development_directory(directory, bits=BITS)
    return directory


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_development_directory_is_created_once_0700_with_a_0600_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    directory = default_signing_keys_path()
    assert directory == tmp_path / "playball" / "auth-signing-keys"
    assert ensure_development_directory(directory, bits=BITS)
    assert _mode(directory) == 0o700
    (key,) = read_keys(directory)
    assert key.signs_from is None  # a lone first key signs from the start
    pem = directory / f"{key.kid}.pem"
    assert [p.name for p in directory.iterdir()] == [pem.name]
    assert _mode(pem) == 0o600
    assert key.kid == public_jwk(key.private.public_key())["kid"]

    assert not ensure_development_directory(directory, bits=BITS)  # never a second key
    assert [k.kid for k in read_keys(directory)] == [key.kid]
    assert [p.name for p in directory.parent.iterdir()] == [directory.name]  # no staging left


def test_an_empty_development_directory_gets_a_first_key(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o700)
    assert ensure_development_directory(directory, bits=BITS)
    assert len(read_keys(directory)) == 1


@pytest.mark.parametrize(
    ("target", "mode"),
    [
        ("directory", 0o755),
        ("directory", 0o750),
        ("directory", 0o701),
        ("key", 0o644),
        ("key", 0o640),
        ("key", 0o604),
        ("metadata", 0o644),
    ],
)
def test_a_directory_or_file_open_to_group_or_others_is_refused_naming_it(
    keys: Path, target: str, mode: int
) -> None:
    added = add_key(keys, NOW, bits=BITS)
    path = {
        "directory": keys,
        "key": keys / f"{added.kid}.pem",
        "metadata": keys / f"{added.kid}.json",
    }[target]
    path.chmod(mode)
    with pytest.raises(SigningKeyError) as refused:
        read_keys(keys)
    assert str(path) in str(refused.value)
    assert f"{mode:04o}" in str(refused.value)


def test_a_set_directory_must_exist_and_hold_a_readable_key(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="does not exist"):
        read_keys(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir(mode=0o700)
    with pytest.raises(SigningKeyError, match="holds no key"):
        read_keys(empty)
    assert stored_keys(empty) == []  # what rotate starts from

    bad = tmp_path / "bad"
    bad.mkdir(mode=0o700)
    (bad / "x.pem").write_text("not a key")
    (bad / "x.pem").chmod(0o600)
    with pytest.raises(SigningKeyError, match="cannot read"):
        read_keys(bad)


def test_a_key_must_be_named_by_its_kid(keys: Path) -> None:
    (pem,) = keys.glob("*.pem")
    renamed = pem.with_name("renamed.pem")
    pem.rename(renamed)
    with pytest.raises(SigningKeyError, match="must be named") as refused:
        read_keys(keys)
    assert str(renamed) in str(refused.value)


def test_metadata_must_say_when_the_key_signs(keys: Path) -> None:
    added = add_key(keys, NOW, bits=BITS)
    metadata = keys / f"{added.kid}.json"
    assert json.loads(metadata.read_text()) == {"signs_from": NOW.isoformat()}
    assert {k.kid: k.signs_from for k in read_keys(keys)}[added.kid] == NOW
    metadata.write_text('{"signs_from": "2030-01-01T00:00:00"}')  # no offset
    with pytest.raises(SigningKeyError, match="UTC offset"):
        read_keys(keys)
    metadata.write_text("{}")
    with pytest.raises(SigningKeyError, match=str(metadata)):
        read_keys(keys)


def test_rotate_adds_the_next_key_and_deletes_only_long_retired_ones(keys: Path) -> None:
    (first,) = read_keys(keys)
    second = add_key(keys, NOW - timedelta(days=2), bits=BITS)  # took over 2 days ago
    third = add_key(keys, NOW - timedelta(hours=1), bits=BITS)  # took over an hour ago

    rotated = rotate(
        keys,
        now=NOW,
        signs_from=NOW + timedelta(seconds=330),
        keep_retired=timedelta(days=1, seconds=30),
        bits=BITS,
    )

    # the first stopped 2 days ago: gone; the second stopped an hour ago: kept
    assert rotated.removed == [first.kid]
    assert rotated.signs_from == NOW + timedelta(seconds=330)
    after = {k.kid: k.signs_from for k in read_keys(keys)}
    assert after == {
        second.kid: second.signs_from,
        third.kid: third.signs_from,
        rotated.kid: rotated.signs_from,
    }
    assert not list(keys.glob(f"{first.kid}.*"))
    assert {_mode(p) for p in keys.iterdir()} == {0o600}


def test_rotate_refuses_an_open_directory(keys: Path) -> None:
    keys.chmod(0o755)
    with pytest.raises(SigningKeyError, match=str(keys)):
        rotate(keys, now=NOW, signs_from=NOW, keep_retired=timedelta(days=1), bits=BITS)
    assert len(list(keys.iterdir())) == 1  # nothing added
