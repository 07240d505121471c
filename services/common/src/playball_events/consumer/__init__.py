"""The idempotent consumer: Kafka batches decoded, applied in one transaction, then committed.

:class:`~.loop.EventConsumer` is the loop, free of Kafka and SQL: it reads batches from a
:class:`~.ports.MessageSource` (:mod:`.source_kafka`), decodes them, parks poison messages
on a :class:`~.ports.DeadLetterSink` and hands the rest to the service's
:class:`~.ports.EventHandler`, which applies them and their processed-event rows
(:mod:`.processed_sql`) in one database transaction. Offsets are committed only after that.
Design, dead-lettering and metrics: docs/consumer.md.
"""
