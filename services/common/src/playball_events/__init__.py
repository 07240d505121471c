"""playball_events."""
