"""Triggers that make the append-only tables refuse UPDATE and DELETE in the database itself.

Called by the migrations. A batch migration on SQLite rebuilds a table and loses its triggers:
such a migration must call :func:`create_append_only` again for that table.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION monitor_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'monitor: %% on %% refused: the record is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def create_append_only(connection: Connection, table: str) -> None:
    """Make ``table`` refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL)."""
    if connection.dialect.name == "sqlite":
        for op in ("UPDATE", "DELETE"):
            connection.exec_driver_sql(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'monitor: {op} on {table} refused: "
                "the record is append-only'); END"
            )
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(PG_FUNCTION)
        connection.exec_driver_sql(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION monitor_append_only()"
        )
        connection.exec_driver_sql(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION monitor_append_only()"
        )
    else:  # pragma: no cover - only the two supported backends
        raise RuntimeError(f"no append-only triggers for {connection.dialect.name}")


def drop_append_only(connection: Connection, table: str) -> None:
    """Remove the triggers of ``table`` (for a downgrade)."""
    if connection.dialect.name == "sqlite":
        for op in ("update", "delete"):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
    else:
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
