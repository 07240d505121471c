"""Which start of a service answers: the nonce a supervisor hands it, echoed by ``/healthz``.

A 200 on a port proves only that something listens there. ``playball up`` gives each
process it starts a fresh random nonce in :data:`INSTANCE_VARIABLE`, and every service
answers ``/healthz`` with ``{"status": "ok", "instance": "<nonce>"}``; the supervisor
counts a process as its own only when the nonce it gave comes back. A service started by
hand has no nonce and leaves ``instance`` out.

The nonce is not a secret from the machine's other processes (anyone on loopback may
read ``/healthz``): it ties one answer to one start. A squatter that binds the port while
the service is down cannot know the next start's nonce.
"""

import os
from typing import Any

INSTANCE_VARIABLE = "PLAYBALL_INSTANCE_NONCE"


def instance_nonce() -> str | None:
    """This process's nonce, None when whoever started it gave none."""
    return os.environ.get(INSTANCE_VARIABLE) or None


def health_document(instance: str | None) -> dict[str, Any]:
    """The ``/healthz`` body of a healthy process: ``instance`` only when there is one."""
    return {"status": "ok"} if instance is None else {"status": "ok", "instance": instance}
