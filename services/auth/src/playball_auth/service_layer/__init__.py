"""Use cases over a unit of work, and the ports (abstract classes) the adapters implement."""
