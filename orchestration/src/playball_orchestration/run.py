"""``python -m playball_orchestration.run RUNTIME_DIR ARGS…``: one ``playball`` command.

The runtime directory stays on the process's command line. ``down`` and ``status`` count
a pid as ours only while it carries that marker, so a reused pid is never signalled.
"""

import sys

from playball_core.exits import ExitCode
from playball_core.startup import tune_collector


def main() -> None:
    tune_collector()  # before the command imports what it needs
    if len(sys.argv) < 3:
        sys.stderr.write("usage: python -m playball_orchestration.run RUNTIME_DIR ARGS...\n")
        raise SystemExit(ExitCode.BAD_INPUT)
    from playball_cli.main import build_app  # noqa: PLC0415 - only in the child process

    build_app()(args=sys.argv[2:], prog_name="playball")


if __name__ == "__main__":
    main()
