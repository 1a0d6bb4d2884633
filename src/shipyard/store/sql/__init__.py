"""The SQL metadata store (SQLite embedded, PostgreSQL for teams).

Rule: rows never leave this package (the store returns domain entities), and the schema changes
only through the Alembic migrations in ``migrations/``.
"""
