"""The idempotent consumer: Kafka batches decoded, applied in one transaction, then committed.

:class:`~.loop.EventConsumer` is the loop, free of Kafka and SQL: it reads batches from a
:class:`~.ports.MessageSource` (:mod:`.source_kafka`), decodes them, parks poison messages
on a :class:`~.ports.DeadLetterSink`, claims the rest's event ids
(:class:`~.ports.ProcessedEvents`, :mod:`.processed_sql`) and hands the fresh ones to the
service's :class:`~.ports.EventHandler` in the same database transaction
(:func:`~.idempotent.apply_once`). Offsets are committed only after that. A run of
consecutive poison messages at the limit stops the loop instead (:mod:`.poison_runs`).
Design, dead-lettering and metrics: docs/consumer.md.
"""
