"""What a dependency refusing our credentials does: fail now, never retry, never guess.

A broker or a registry that refuses the configured credentials will refuse them on every
retry, yet librdkafka retries authentication for ever, and the loops of the relay and the
consumer treat most failures as transient (retried) or as the message's fault (parked).
So the place that notices a refusal calls :func:`refused`, and what happens then is the
process's policy, set once by its entry point:

- by default (a library call, a test) the error is raised to the caller;
- :func:`end_process_on_refusal` (the ``playball`` command and its services) ends the
  process at once with exit code 3 and one ``error:`` line naming the setting. Ending at
  once is deliberate: the refusal may surface inside a loop's catch-all (a relay's send,
  a consumer's decode), where it would be retried or taken for a poison message, and
  without credentials no work can be done, so nothing is lost by stopping: leases
  expire and uncommitted offsets are redelivered, as after a SIGKILL, which the relay
  and the consumer are built to survive.

Messages name the setting to fix, never its value.
"""

import os
import sys
from collections.abc import Callable
from typing import NoReturn

from playball_core.exits import DependencyUnreachableError, ExitCode, report_error


class CredentialsRefusedError(DependencyUnreachableError):
    """A broker or the registry refused the configured credentials (exit 3); the message
    names the settings that hold them."""


_policy: list[Callable[[CredentialsRefusedError], None]] = []


def refused(error: CredentialsRefusedError) -> NoReturn:
    """Apply the process's policy to ``error``; raises it unless the policy ends the process."""
    for handle in _policy:
        handle(error)
    raise error


def _end_process(error: CredentialsRefusedError) -> None:
    report_error(str(error))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(ExitCode.UNREACHABLE)


def end_process_on_refusal() -> None:
    """From now on a refused credential ends this process with exit code 3."""
    _policy[:] = [_end_process]


def raise_on_refusal() -> None:
    """Back to the default: a refused credential raises :class:`CredentialsRefusedError`."""
    _policy.clear()
