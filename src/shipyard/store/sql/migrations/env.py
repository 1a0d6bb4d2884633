"""Alembic environment for the Shipyard schema.

Run through :mod:`shipyard.store.sql.migrate` (``shipyard db upgrade``), which hands over an open
connection in ``config.attributes["connection"]``; a plain ``sqlalchemy.url`` option works too, and
offline mode (``--sql``) renders the DDL as a script.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from shipyard.store.sql.engine import create_engine, writer
from shipyard.store.sql.models import Base

target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        # Our SQLite connections issue BEGIN themselves, so DDL there is transactional too.
        transactional_ddl=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Render the migrations as SQL for the URL's dialect, without connecting."""
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate over the given connection, or over a new one to ``sqlalchemy.url``."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url given to the Shipyard migrations")
    engine = create_engine(url)
    try:
        with writer(engine).connect() as new_connection:
            _configure(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
