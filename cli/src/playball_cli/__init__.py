"""The ``playball`` command line."""
