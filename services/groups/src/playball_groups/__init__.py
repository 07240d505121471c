"""playball_groups."""
