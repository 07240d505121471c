"""Reader records: each consumer reports which reader schemas it decodes with.

A consumer publishes a :class:`~playball_events.runtime_records.ReaderRecord` on the
readers topic (``PLAYBALL_READERS_TOPIC``, default ``_playball.readers``, compacted, one
partition) when it starts, refreshes ``last_seen`` at most once a minute and writes
``stopped_at`` on a clean stop. The consumer-aware gate (``playball schemas check
--readers``) and ``playball readers`` read them back.
"""
