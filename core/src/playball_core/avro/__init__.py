"""The Avro schema rules every tool applies the same way."""
