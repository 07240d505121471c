"""The one error type that means "bad input": the CLI turns it into a message and exit 2."""


class GateInputError(Exception):
    """Invalid schema, unknown level, unreadable git ref, unreachable registry, bad config.

    The message names what is wrong and where; it is shown to the user as it is.
    """
