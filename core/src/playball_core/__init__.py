"""What the tools (codegen, the gate, the stack) and the runtime (``playball_events``) share.

Kept free of heavy dependencies (no Kafka client, no database driver) so that a schema
tool installs light: Avro naming rules (:mod:`playball_core.avro`), the contracts
manifest (:mod:`playball_core.manifest`) and the Confluent schema-registry client
(:mod:`playball_core.registry`).
"""
