"""The Avro schema rules every tool applies the same way."""

from playball_core.avro.normalise import normalise_writer

__all__ = ["normalise_writer"]
