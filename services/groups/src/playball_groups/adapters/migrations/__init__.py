"""Alembic migrations of the groups database (run by ``playball groups migrate``)."""
