"""The PlayBall groups service: groups of players over a local view of users fed by events.

Layers (import-linter keeps them): ``domain`` (groups, members, the user view's apply
rules) <- ``service_layer`` (unit of work port, use cases, the event handler) <-
``adapters`` (SQL, JWKS) <- ``entrypoints`` (the API, the consumer process, the CLI).
See services/groups/README.md.
"""
