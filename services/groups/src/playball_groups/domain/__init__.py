"""Groups, members and the user view, free of I/O."""
