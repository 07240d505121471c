"""The ways in: the HTTP API (:mod:`.api`) and the ``playball auth`` commands (:mod:`.cli`)."""
