"""The gate's own "bad input": the CLI turns it into a message and exit 2.

An invalid schema is the core parser's :class:`playball_core.avro.parser.SchemaParseError`,
which the CLI reports the same way.
"""


class GateInputError(Exception):
    """Unreadable schema file or git ref, a bad breaking-changes declaration, bad config.

    The message names what is wrong and where; it is shown to the user as it is.
    """
