"""The stack's components; each knows how to prepare, start, probe and stop itself."""
