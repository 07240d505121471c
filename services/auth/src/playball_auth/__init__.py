"""The PlayBall auth service: user accounts, publishing user events through an outbox.

Layers (import-linter keeps them): :mod:`.domain` (the User aggregate and its rules),
:mod:`.service_layer` (use cases over a unit of work and the ports they need),
:mod:`.adapters` (SQL, argon2, JWT), :mod:`.bootstrap` (wires adapters into ports) and
:mod:`.entrypoints` (the FastAPI app and the ``playball auth`` commands).
"""
