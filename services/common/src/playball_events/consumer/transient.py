"""Which failures of decoding are worth a retry, and which make the message poison.

Only a dependency that did not answer, or answered "not now", is transient: a connection
error or a timeout (:class:`~playball_core.registry.RegistryUnreachableError` wraps
both), and a registry answering HTTP 429 or 5xx. Anything else the registry says (a 404
without its own error code, an answer that is not JSON) is as permanent as a corrupt
message, so it is poison too; a fault of ours that makes every message poison is what
the stop rule (:mod:`.poison_runs`) is for.
"""

from playball_core.registry import RegistryResponseError, RegistryUnreachableError

from playball_events.consumer.ports import TRANSIENT_BUILTINS

TOO_MANY_REQUESTS = 429


def is_transient_status(status: int | None) -> bool:
    """An HTTP status that says "try again later": 429, or any 5xx."""
    return status is not None and (status == TOO_MANY_REQUESTS or 500 <= status <= 599)


def is_transient_decode_error(error: BaseException) -> bool:
    if isinstance(error, (RegistryUnreachableError, *TRANSIENT_BUILTINS)):
        return True
    return isinstance(error, RegistryResponseError) and is_transient_status(error.status_code)
