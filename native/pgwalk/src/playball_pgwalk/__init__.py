"""The log-based relay's hot path, in C: one walk over the columns of a ``pgoutput`` insert.

Why C: the relay is one Python thread, and reading the stream was the largest share of
its CPU. The walk (a kind byte, a length and a value per column, then each value
decoded) cost 4.1 µs per outbox insert in Python, against 1.5 µs with this module
(``scripts/bench_relay.py`` and the figures in docs/outbox-relay.md). No maintained
library decodes ``pgoutput`` (see the log-based capture section there).

What it does is small on purpose. :func:`walk_binary` only walks a tuple whose columns
are all binary values and decodes the fixed set of types below; anything else (a null, a
text value, a tuple cut short, a fixed-width value of the wrong size) returns None, and
the caller reads that insert with its general, pure-Python walk, which raises what is
wrong with it. ``tests/unit/test_pgwalk.py`` holds the two walks equal on generated rows,
and this one to None on every malformed or truncated frame.
"""

from playball_pgwalk._walk import BYTEA, INT2, INT4, INT8, TEXT, walk_binary

__all__ = ["BYTEA", "INT2", "INT4", "INT8", "TEXT", "walk_binary"]
