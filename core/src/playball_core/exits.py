"""How every ``playball`` sub-command ends: one exit code per kind of outcome.

A script calling ``playball`` can tell "the check said no" (1) from "you gave me something
wrong" (2) and "something I need did not answer, try again later" (3) without parsing
messages. Errors that carry a kind derive from :class:`ConfigurationError` or
:class:`DependencyUnreachableError`, so the composed ``playball`` command maps them even
when a sub-command forgets to.
"""

import sys
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = 1
    BAD_INPUT = 2
    UNREACHABLE = 3


class ConfigurationError(ValueError):
    """A bad input or setting; the message names the variable, option or file. Exit 2."""


class DependencyUnreachableError(Exception):
    """A registry, broker or database did not answer; the message names its address. Exit 3."""


def exit_code_for(error: BaseException) -> ExitCode | None:
    """The exit code an error's kind calls for, or None when it has no kind."""
    if isinstance(error, ConfigurationError):
        return ExitCode.BAD_INPUT
    if isinstance(error, DependencyUnreachableError):
        return ExitCode.UNREACHABLE
    return None


def report_error(message: str) -> None:
    """Print ``error: <message>`` on stderr: how every sub-command words a failure."""
    sys.stderr.write(f"error: {message}\n")
