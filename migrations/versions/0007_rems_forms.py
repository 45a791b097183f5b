"""REMS forms: "mark submitted" and a supervisor's corrections of the proposals

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

Two new append-only tables. ``rems_submissions``: an esketamine session's REMS Patient
Monitoring Form marked submitted (who, when, the answers as they stood), at most one per
session. ``rems_corrections``: a supervisor's answer replacing a sedation, dissociation or
respiratory-depression proposal, with the reason, kept beside the proposal. Both refuse UPDATE,
DELETE and TRUNCATE, and on SQLite an insert that would replace a row. The PostgreSQL station
role reads and inserts them (``monitor db upgrade`` grants it on every table). No existing
table is rebuilt and no row is touched.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.store.types
from monitor.store.triggers import create_append_only, drop_append_only

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Keys an insert could collide on (SQLite's REPLACE deletes the row it collides with).
_KEYS = {
    "rems_submissions": (("id",), ("session_id",)),
    "rems_corrections": (("id",),),
}


def upgrade() -> None:
    op.create_table(
        "rems_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.Column("at", monitor.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["by_id"], ["users.id"], name=op.f("fk_rems_submissions_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_rems_submissions_session_id_treatment_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rems_submissions")),
        sa.UniqueConstraint("session_id", name=op.f("uq_rems_submissions_session_id")),
    )
    op.create_table(
        "rems_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=30), nullable=False),
        sa.Column("value", sa.Boolean(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.Column("at", monitor.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "field IN ('sedation', 'dissociation', 'respiratory_depression')",
            name=op.f("ck_rems_corrections_field"),
        ),
        sa.ForeignKeyConstraint(
            ["by_id"], ["users.id"], name=op.f("fk_rems_corrections_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_rems_corrections_session_id_treatment_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rems_corrections")),
    )
    op.create_index(
        "ix_rems_corrections_session", "rems_corrections", ["session_id", "id"], unique=False
    )
    bind = op.get_bind()
    for table, keys in _KEYS.items():
        create_append_only(bind, table)
        if bind.dialect.name == "sqlite":
            collide = " OR ".join(
                f"EXISTS (SELECT 1 FROM {table} WHERE "
                + " AND ".join(f"{col} = NEW.{col}" for col in key)
                + ")"
                for key in keys
            )
            bind.exec_driver_sql(
                f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} WHEN {collide} "
                f"BEGIN SELECT RAISE(ABORT, 'monitor: an insert that would replace a row of "
                f"{table} is refused: the record is never rewritten'); END"
            )


def downgrade() -> None:
    bind = op.get_bind()
    for table in _KEYS:
        drop_append_only(bind, table)
        if bind.dialect.name == "sqlite":
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_replace")
    op.drop_index("ix_rems_corrections_session", table_name="rems_corrections")
    op.drop_table("rems_corrections")
    op.drop_table("rems_submissions")
