"""Alembic environment, shipped inside the wheel (``monitor db upgrade`` runs it).

Two traps handled here (docs/storage.md, "Migrations"): SQLite batch migrations copy and drop
tables, and with foreign keys ON the drop would cascade and silently delete child rows, so
migrations run with foreign keys OFF and ``PRAGMA foreign_key_check`` must come back empty before
commit; and two processes upgrading one new database at once must not both create the schema, so the
migration transaction takes a lock before Alembic reads the current version.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context

from monitor.store.engine import make_engine
from monitor.store.tables import add_partial_indexes, metadata

config = context.config
if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

add_partial_indexes()  # compared with the database's, as every other index
target_metadata = metadata  # the schema's one definition (monitor.store.tables)
PG_MIGRATION_LOCK = 815_001


def run_with(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})")
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    url = os.environ.get("MONITOR_DB") or config.get_main_option("sqlalchemy.url")
    engine = make_engine(url, foreign_keys=False)
    with engine.execution_options(sqlite_write=True).connect() as connection:
        run_with(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them online")
run_online()
