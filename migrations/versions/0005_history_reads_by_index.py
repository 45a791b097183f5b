"""history reads by index: the audit trail and the sessions by time

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

`audit --from/--to` and `session list --from/--to` read a period of the history through an
index on the audit row's time and on the session's start, so their cost follows the period, not
the length of the history. Plain CREATE INDEX on both backends: no table is rebuilt, no row or
trigger is touched.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)
    op.create_index("ix_treatment_sessions_started", "treatment_sessions", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_treatment_sessions_started", table_name="treatment_sessions")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
