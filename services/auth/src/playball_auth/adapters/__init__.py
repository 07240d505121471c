"""Adapters behind the service layer's ports: SQL (``*_sql.py``), argon2, JWT."""
