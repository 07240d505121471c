"""The log-based relay's hot path, in C: one walk over the columns of a ``pgoutput`` insert.

Why C: the relay is one Python thread, and reading the stream was the largest share of
its CPU. The walk (a kind byte, a length and a value per column, then each value
decoded) cost 4.1 µs per outbox insert in Python, against 1.5 µs with this module; the
relay's drain of a backlog went from 1.3 to 1.56 times the polling relay's to 1.56 to
2.0 times (``scripts/bench_relay.py``; the figures are in docs/outbox-relay.md, "The
column walk in C"). No maintained library decodes ``pgoutput``.

What it does is small on purpose. :func:`walk_binary` only walks a tuple whose columns
are all binary values. It decodes its own types (its constants: INT8, INT4, INT2, TEXT
for text, varchar and json, BYTEA) and calls the decoder it is given for any other.
Anything else (a null, a text value, a tuple cut short, a fixed-width value of the wrong
size) returns None, and the caller reads that insert with its general, pure-Python
walk, which raises what is wrong with it. ``tests/unit/test_pgoutput.py`` holds the two
walks equal on generated rows, and this one to None on every malformed or cut frame.
"""

from playball_pgwalk._walk import BYTEA, INT2, INT4, INT8, TEXT, walk_binary

__all__ = ["BYTEA", "INT2", "INT4", "INT8", "TEXT", "walk_binary"]
