"""``playball`` commands run in the test process: the composed app, as the console script
builds it. A command run as a program costs a second of CPU importing what this process
has imported already; tests that poll a command, or that only need its result, run it
here (each command's behaviour as a program has tests of its own)."""

from collections.abc import Mapping
from dataclasses import dataclass

from playball_cli.main import build_app
from typer.testing import CliRunner


@dataclass(frozen=True)
class Ran:
    """What a command gave, shaped as :class:`subprocess.CompletedProcess` is."""

    returncode: int
    stdout: str
    stderr: str


def playball_here(words: list[str], env: Mapping[str, str]) -> Ran:
    """``playball WORDS`` with ``env`` set for its duration; an exception that is not an
    exit is raised here, as it would end the program with a traceback."""
    result = CliRunner().invoke(build_app(), words, env=dict(env))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)
