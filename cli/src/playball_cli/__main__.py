"""``python -m playball_cli``: the ``playball`` command, for callers that hold an interpreter."""

from playball_cli.main import main

main()
