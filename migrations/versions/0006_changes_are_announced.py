"""changes are announced: PostgreSQL notifies listening stations of every change

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Every change to the record writes an audit row (the services' one transaction per action, and
the guards' own rows for the transitions they allow). On PostgreSQL a statement that inserts
into ``audit_log`` now also sends a notification on the channel ``monitor_changes`` (delivered
at commit, once per transaction however many rows), so that an idle station reloads only when
something changed and shows another station's save at once. SQLite has no notifications: its
stations ask for the newest audit id instead. Nothing is rebuilt and no row is touched.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION monitor_announce_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('monitor_changes', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_announce AFTER INSERT ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION monitor_announce_change()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER audit_log_announce ON audit_log")
    op.execute("DROP FUNCTION monitor_announce_change()")
