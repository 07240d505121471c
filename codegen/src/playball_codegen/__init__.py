"""Typed Python dataclasses generated from Avro schemas (`playball codegen`)."""
