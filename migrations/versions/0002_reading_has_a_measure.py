"""readings: the database also refuses a reading with no measure at all

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

A CHECK constraint needs the table rebuilt on SQLite (batch mode copies ``readings`` and drops
the old one). env.py runs this with foreign keys OFF, so the flags that point at readings are
kept, and checks them before commit. The rebuild drops the table's triggers: they are made
again here.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from monitor.store.triggers import create_append_only, drop_append_only

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANY_MEASURE = (
    "systolic IS NOT NULL OR diastolic IS NOT NULL OR heart_rate IS NOT NULL OR "
    "spo2 IS NOT NULL OR resp_rate IS NOT NULL OR moaas IS NOT NULL OR cadss IS NOT NULL"
)


def upgrade() -> None:
    bind = op.get_bind()
    drop_append_only(bind, "readings")
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.create_check_constraint("any_measure", ANY_MEASURE)
    create_append_only(bind, "readings")


def downgrade() -> None:
    bind = op.get_bind()
    drop_append_only(bind, "readings")
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_readings_any_measure"), type_="check")
    create_append_only(bind, "readings")
