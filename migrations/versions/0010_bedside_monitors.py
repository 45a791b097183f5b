"""bedside monitors: devices bound to bays, device readings, nurses' validations

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

Clinical revision 3, "Readings from bedside monitors" (docs/devices.md):

- ``devices`` (append-only): a bedside monitor, known by the identifier it sends, added by a
  supervisor.
- ``device_bays`` (append-only): each binding of a device to a bay, and its disabling (``bay``
  NULL), by a supervisor; the newest counts.
- ``readings.device_id``: the device a reading came from (NULL: typed by a nurse). Added in
  place: no reading changes.
- ``validations`` (append-only): a nurse's word that a device reading is right; nothing is
  added to a signed session.

On PostgreSQL each new table takes rows only in the name of users who proved a PIN in the
transaction (the actor guard of migration 0009).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.store.types
from monitor.store import closed_record, identity
from monitor.store.triggers import create_append_only, create_no_replace, drop_append_only

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Moment = monitor.store.types.UTCDateTime

#: The new tables, each with the keys a REPLACE would collide on (SQLite).
_TABLES: dict[str, tuple[tuple[str, ...], ...]] = {
    "devices": (("id",), ("name",)),
    "device_bays": (("id",),),
    "validations": (("id",), ("reading_id",)),
}


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.Column("at", Moment(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_devices_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("name", name=op.f("uq_devices_name")),
    )
    op.create_table(
        "device_bays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("bay", sa.String(length=64), nullable=True),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.Column("at", Moment(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_device_bays_device_id_devices")
        ),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_device_bays_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_bays")),
    )
    op.create_index("ix_device_bays_device", "device_bays", ["device_id", "id"], unique=False)
    op.create_table(
        "validations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reading_id", sa.Integer(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.Column("at", Moment(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reading_id"], ["readings.id"], name=op.f("fk_validations_reading_id_readings")
        ),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_validations_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validations")),
        sa.UniqueConstraint("reading_id", name=op.f("uq_validations_reading_id")),
    )
    # The reading's device: a nullable reference, added in place (no reading is rewritten).
    name = "fk_readings_device_id_devices"
    if bind.dialect.name == "sqlite":
        columns = {row[1] for row in bind.exec_driver_sql("PRAGMA table_info(readings)")}
        if "device_id" not in columns:  # (left by a downgrade: see there)
            bind.exec_driver_sql(
                f"ALTER TABLE readings ADD COLUMN device_id INTEGER "
                f"CONSTRAINT {name} REFERENCES devices (id)"
            )
    else:
        op.add_column("readings", sa.Column("device_id", sa.Integer(), nullable=True))
        op.create_foreign_key(name, "readings", "devices", ["device_id"], ["id"])
    for table, keys in _TABLES.items():
        create_append_only(bind, table)
        create_no_replace(bind, table, keys)
    closed_record.add_record_rules(
        bind, closed_record.DEVICE_SIGNED_CLOSED, closed_record.DEVICE_SUPERVISOR_ONLY
    )
    if bind.dialect.name == "postgresql":
        identity.create_actor_guards(bind, identity.DEVICE_ACTOR_COLUMNS)


def downgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    closed_record.drop_rules_of(bind, list(_TABLES))
    for table in _TABLES:
        drop_append_only(bind, table)
        if sqlite:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_replace")
        else:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_guard_actor ON {table}")
    if sqlite:
        # SQLite drops a column with a reference only by rebuilding the table of readings
        # (and its guards): the column stays, NULL on every reading a nurse typed. A device's
        # readings must be exported before a downgrade: they would read as typed.
        pass
    else:
        op.drop_constraint("fk_readings_device_id_devices", "readings", type_="foreignkey")
        op.drop_column("readings", "device_id")
    op.drop_table("validations")
    op.drop_index("ix_device_bays_device", table_name="device_bays")
    op.drop_table("device_bays")
    op.drop_table("devices")
