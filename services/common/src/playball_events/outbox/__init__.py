"""The transactional outbox: events written in the same transaction as the change they
describe (:mod:`.writer_sql`), delivered to Kafka later by the relay.

The table (:mod:`.table_sql`) is shared plumbing: a service adds it to its own metadata,
so its migrations create it next to the service's own tables.
"""
