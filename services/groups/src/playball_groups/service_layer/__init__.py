"""Use cases over a unit of work: group commands, and applying user events."""
