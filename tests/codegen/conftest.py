"""Generates the corpus (and the evolution pairs) once per session into a tmp dir."""

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from playball_codegen.generate import plan, write

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"
EVOLUTION = HERE / "evolution"


def generate_and_import(schema_dir: Path, out: Path, package: str) -> ModuleType:
    write(plan(schema_dir, out, package))
    return importlib.import_module(package)


@pytest.fixture(scope="session")
def generated_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory on sys.path holding the corpus and evolution packages."""
    root = tmp_path_factory.mktemp("generated")
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))


@pytest.fixture(scope="session")
def corpus(generated_root: Path) -> ModuleType:
    return generate_and_import(CORPUS, generated_root, "corpus_contracts")


@pytest.fixture(scope="session")
def evolution(generated_root: Path) -> tuple[ModuleType, ModuleType]:
    v1 = generate_and_import(EVOLUTION / "v1", generated_root, "evolution_v1")
    v2 = generate_and_import(EVOLUTION / "v2", generated_root, "evolution_v2")
    return v1, v2
