"""the database knows who acts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

- ``users.locks``: locks in a row, for the lockout's escalation (monitor.core.lockout).
- Both backends: nothing is added to a signed session (readings, flags, acknowledgements,
  voids, events, check skips, infusion-end corrections) until a supervisor reopens it, and only
  an active supervisor signs, reopens, loads rules or corrects a REMS answer, whoever writes.
- PostgreSQL (monitor.store.identity): the PIN hashes move to the private schema (``users``
  keeps ``*``); sign-in, PINs, locks and disabling go through definer functions; every table
  of the record takes rows only in the name of users who proved a PIN to the database in the
  transaction; every trigger function pins its search path and names its tables with their
  schema. Existing scrypt hashes cannot be checked by the database: those users sign in again
  after `monitor user recover` (a supervisor, by the owner) or a supervisor's `user set-pin`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.store import closed_record, identity, triggers

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("users", recreate="never") as batch:
        batch.add_column(sa.Column("locks", sa.Integer(), server_default="0", nullable=False))
    triggers.harden(bind)
    if bind.dialect.name == "postgresql":
        identity.create_pg_identity(bind, _lockout_in_force(bind))
    closed_record.create_record_rules(bind)


def _lockout_in_force(bind: sa.Connection) -> tuple[int, int]:
    """The PIN lockout of the newest version of the clinic's rules, which the database now
    applies itself."""
    from monitor.core.config import rules_from_text

    body = bind.exec_driver_sql(
        "SELECT body FROM config_versions ORDER BY id DESC LIMIT 1"
    ).scalar()
    try:
        security = rules_from_text(body or "", "the rules in force", stored=True).security
    except Exception:  # an unreadable version: the shipped lockout
        return (5, 15)
    return (security.lockout_after, security.lockout_min)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        identity.drop_pg_identity(bind)
    closed_record.drop_record_rules(bind)
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS users_audit")
        bind.exec_driver_sql(
            "CREATE TRIGGER users_audit AFTER UPDATE ON users BEGIN "
            + triggers.user_audit_insert("sqlite", triggers.USER_AUDITED_0004)
            + "; END"
        )
    with op.batch_alter_table("users", recreate="never") as batch:
        batch.drop_column("locks")
