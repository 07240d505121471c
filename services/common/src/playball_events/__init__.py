"""Event plumbing both services run: generated contracts, serde, settings, the outbox table,
and the idempotent consumer (:mod:`playball_events.consumer`)."""
