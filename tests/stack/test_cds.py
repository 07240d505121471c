"""Class data sharing for the Kafka JVMs: one writer per archive, an archive adopted only
once its writer has exited, and a writer killed before writing does not block the next."""

import subprocess
import sys
from pathlib import Path

from playball_stack import cds


def _archive(tmp_path: Path) -> Path:
    return cds.archive_for(tmp_path, Path(sys.executable), "kafka.Kafka")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_one_writer_then_adopted_once_it_exited(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    (first,) = cds.cds_options(archive)
    assert first.startswith("-XX:ArchiveClassesAtExit=")
    written = Path(first.split("=", 1)[1])
    assert written != archive  # written aside: nobody maps a half-written archive
    assert cds.cds_options(archive) == []  # claimed: a concurrent start runs without

    cds.record_writer(archive, _dead_pid())
    written.write_bytes(b"archive")  # what the JVM leaves at its exit
    assert cds.cds_options(archive) == [f"-XX:SharedArchiveFile={archive}"]
    assert archive.read_bytes() == b"archive"


def test_an_archive_is_not_adopted_while_its_writer_runs(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    (first,) = cds.cds_options(archive)
    written = Path(first.split("=", 1)[1])
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as writer:
        try:
            cds.record_writer(archive, writer.pid)
            written.write_bytes(b"half")
            assert cds.cds_options(archive) == []
            assert not archive.exists()
        finally:
            writer.kill()


def test_a_writer_killed_before_writing_leaves_the_claim_to_the_next_start(
    tmp_path: Path,
) -> None:
    archive = _archive(tmp_path)
    assert cds.cds_options(archive)
    cds.record_writer(archive, _dead_pid())  # died without writing anything
    (again,) = cds.cds_options(archive)
    assert again.startswith("-XX:ArchiveClassesAtExit=")


def test_a_tool_run_to_its_end_is_adopted_at_once(tmp_path: Path) -> None:
    archive = cds.archive_for(tmp_path, Path(sys.executable), "kafka.tools.StorageTool")
    (first,) = cds.cds_options(archive)
    Path(first.split("=", 1)[1]).write_bytes(b"archive")
    cds.adopt_after_exit(archive)
    assert cds.cds_options(archive) == [f"-XX:SharedArchiveFile={archive}"]


def test_each_jdk_build_and_main_class_has_its_own_archive(tmp_path: Path) -> None:
    other_jdk = tmp_path / "java"
    other_jdk.write_text("")
    names = {
        cds.archive_for(tmp_path, Path(sys.executable), "kafka.Kafka"),
        cds.archive_for(tmp_path, Path(sys.executable), "kafka.tools.StorageTool"),
        cds.archive_for(tmp_path, other_jdk, "kafka.Kafka"),
    }
    assert len(names) == 3
