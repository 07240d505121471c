"""Pinned downloads: fetch through Maven, verify every file's sha256, cache outside the repo.

A file already in the cache is re-verified before each use, so a corrupted or tampered
cache is caught rather than run. A mismatch deletes the file and stops with the file's
name and both hashes: running an unverified jar is never an option.
"""

import hashlib
import tarfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

from playball_stack.errors import ChecksumError, StackError
from playball_stack.maven import Maven

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class KafkaPins:
    version: str
    coordinates: tuple[str, ...]
    jars: dict[str, str]  # file name -> sha256


@dataclass(frozen=True, slots=True)
class RegistryPins:
    version: str
    coordinates: str
    file: str
    sha256: str
    java_min: int


@dataclass(frozen=True, slots=True)
class Pins:
    kafka: KafkaPins
    registry: RegistryPins


@cache
def load_pins() -> Pins:
    data = tomllib.loads(files("playball_stack").joinpath("artifacts.toml").read_text("utf-8"))
    kafka, registry = data["kafka"], data["registry"]
    return Pins(
        kafka=KafkaPins(
            version=kafka["version"],
            coordinates=tuple(kafka["coordinates"]),
            jars=dict(kafka["jars"]),
        ),
        registry=RegistryPins(
            version=registry["version"],
            coordinates=registry["coordinates"],
            file=registry["file"],
            sha256=registry["sha256"],
            java_min=int(registry["java_min"]),
        ),
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_or_delete(path: Path, expected: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        path.unlink()
        msg = (
            f"{path}: sha256 {actual} does not match the pinned {expected}; the file was "
            "deleted. Run the command again to download it afresh; if it fails again, the "
            "download is being altered on the way."
        )
        raise ChecksumError(msg)


def _all_verified(directory: Path, pins: dict[str, str]) -> bool:
    present = {p.name for p in directory.glob("*.jar")} if directory.is_dir() else set()
    if present != set(pins):
        return False
    for name, expected in sorted(pins.items()):
        verify_or_delete(directory / name, expected)
    return True


def ensure_kafka_jars(cache_dir: Path, maven: Maven, progress: Progress) -> Path:
    """The directory of Kafka's runtime jars, every one verified."""
    pins = load_pins().kafka
    target = cache_dir / f"kafka-{pins.version}" / "libs"
    if _all_verified(target, pins.jars):
        return target
    progress(f"downloading Kafka {pins.version} and its dependencies (Maven)")
    maven.copy_dependencies(pins.coordinates, target)
    extra = {p.name for p in target.glob("*.jar")} - set(pins.jars)
    for name in sorted(extra):  # a jar nobody pinned is not put on the classpath
        (target / name).unlink()
    missing = set(pins.jars) - {p.name for p in target.glob("*.jar")}
    if missing:
        msg = f"Maven did not produce pinned jars: {', '.join(sorted(missing))}"
        raise StackError(msg)
    for name, expected in sorted(pins.jars.items()):
        verify_or_delete(target / name, expected)
    return target


def ensure_registry_app(cache_dir: Path, maven: Maven, progress: Progress) -> Path:
    """The unpacked Apicurio Registry (directory holding quarkus-run.jar), verified."""
    pins = load_pins().registry
    root = cache_dir / f"apicurio-registry-{pins.version}"
    archive = root / pins.file
    unpacked = root / "app"
    marker = unpacked / ".unpacked"
    # The app runs from the unpacked tree, so the archive is verified once, before it
    # is unpacked; re-hashing 160 MB on every `up` would protect nothing that runs.
    if not (marker.is_file() and marker.read_text(encoding="utf-8") == pins.sha256):
        if not archive.is_file():
            progress(f"downloading Apicurio Registry {pins.version} (Maven)")
            maven.copy_artifact(pins.coordinates, root)
        verify_or_delete(archive, pins.sha256)
        progress("unpacking Apicurio Registry")
        with tarfile.open(archive) as tar:
            tar.extractall(unpacked, filter="data")
        marker.write_text(pins.sha256, encoding="utf-8")
    if not (unpacked / "quarkus-run.jar").is_file():
        msg = f"{unpacked}: no quarkus-run.jar after unpacking {archive.name}"
        raise StackError(msg)
    return unpacked
