"""Kafka clients' errors: a refused credential is fatal, the rest is librdkafka's to retry.

librdkafka retries everything for ever, authentication included, and reports errors only
through ``error_cb``, served by ``poll()``/``consume()``/``flush()``. :func:`secured_config`
gives every client its security properties and a :class:`ClientErrors` callback that
hands ``_AUTHENTICATION`` to :func:`playball_core.credentials.refused` (raise, or end
the process: its policy). Other errors are logged; librdkafka logs its own connection
failures anyway.

A blocking ``list_topics(timeout)`` serves no callback, so a refusal would wait out the
whole timeout; :func:`await_metadata` asks in growing slices and serves the callbacks in
between.
"""

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from playball_core.credentials import refused

from playball_events.kafka_security import CA_VARIABLE, PLAINTEXT, KafkaSecurity

log = logging.getLogger(__name__)

FIRST_SLICE = 0.25  # seconds: a SCRAM refusal arrives ~0.3 s after the client starts


class ClientErrors:
    """The ``error_cb`` of one client."""

    def __init__(self, security: KafkaSecurity) -> None:
        self._security = security
        self._tls_reported = False
        self.brokers_down = False  # librdkafka said no broker is up (nothing refused us)

    def __call__(self, error: KafkaError) -> None:
        code = error.code()
        if code == KafkaError._AUTHENTICATION:
            refused(self._security.refusal(error.str()))
        text = self._security.redacted(error.str())
        if code == KafkaError._ALL_BROKERS_DOWN:
            self.brokers_down = True
        if code == KafkaError._SSL and not self._tls_reported:
            # retried like any connection failure (a certificate may be being rotated),
            # but the usual cause is a wrong CA: said once, with the setting to check
            self._tls_reported = True
            log.warning("TLS with the broker failed (check %s): %s", CA_VARIABLE, text)
            return
        log.info("Kafka client: %s", text)


def secured_config(config: Mapping[str, Any], security: KafkaSecurity | None) -> dict[str, Any]:
    """``config`` with ``security``'s properties (PLAINTEXT when None) and the error callback."""
    chosen = security or PLAINTEXT
    return {**chosen.client_config(config), "error_cb": ClientErrors(chosen)}


def await_metadata(
    client: Any,
    timeout: float,
    *,
    topic: str | None = None,
    give_up: Callable[[], bool] | None = None,
) -> Any:
    """``client.list_topics`` within ``timeout``, serving the client's callbacks meanwhile.

    Raises the last KafkaException when nothing answered by then, or sooner once
    ``give_up()`` says so. ``client`` must not be consuming (``poll`` would take a message).
    """
    deadline = time.monotonic() + timeout
    step = FIRST_SLICE
    while True:
        remaining = deadline - time.monotonic()
        try:
            return client.list_topics(topic, timeout=max(0.01, min(step, remaining)))
        except KafkaException:
            client.poll(0)  # serves error_cb: a refused credential ends here
            if time.monotonic() >= deadline or (give_up is not None and give_up()):
                raise
        # growing: a broker slower than one slice (a loaded machine) still gets to answer
        step *= 2
