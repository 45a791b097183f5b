"""clinical revision 3: the clinic's rules as versions, who acted, serious-event alarms

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

- ``config_versions`` (append-only): numbered versions of the clinic's rules. Version 1 is
  made here: the shipped defaults, or the clinic's TOML file given to ``monitor db upgrade``
  (``--config``) when the database already holds a clinic's record (docs/configuration.md).
- ``treatment_sessions``: the rules version a session follows (existing sessions: version 1),
  who dosed, who co-signed a dosing or discharge override, who recorded the infusion end, the
  REMS proposals at discharge. The transitions guard is rebuilt with these columns, and a
  recorded infusion end now changes only with a row of ``infusion_end_corrections`` (new,
  append-only) beside it.
- ``flags``: a flag now belongs to a reading or to an event (a serious event's alarm); it
  names its rules version, how it was raised (``reading``, ``baseline change``, ``event``)
  and when, if not with its reading. Existing flags were raised by their reading.
- ``acknowledgements``: the clinician who co-signed.
- ``rems_corrections``: every REMS answer may be corrected; ``minute`` holds the ready minute.

On SQLite the tables ``flags`` and ``rems_corrections`` are rebuilt (their triggers made
again); ``treatment_sessions`` and ``acknowledgements`` take new columns in place. No reading,
flag or acknowledgement changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import context, op

import monitor.store.types
from monitor.store.triggers import (
    create_append_only,
    create_no_replace,
    create_session_guard,
    drop_append_only,
    drop_session_guard,
)

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Moment = monitor.store.types.UTCDateTime

#: (column, referred table) added to the sessions, each a foreign key.
_SESSION_REFS = (
    ("config_version", "config_versions"),
    ("dosed_by_id", "users"),
    ("dose_cosigned_by_id", "users"),
    ("infusion_ended_by_id", "users"),
    ("discharge_cosigned_by_id", "users"),
)
_REMS_FIELDS = (
    "ready_minute",
    "vitals_ok_before",
    "vitals_ok_end",
    "sedation",
    "dissociation",
    "respiratory_depression",
    "serious_adverse_event",
)


def _add_reference(table: str, column: str, referred: str) -> None:
    """A nullable integer column referring to ``referred``; in place on SQLite."""
    name = f"fk_{table}_{column}_{referred}"
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql(
            f"ALTER TABLE {table} ADD COLUMN {column} INTEGER "
            f"CONSTRAINT {name} REFERENCES {referred} (id)"
        )
        return
    op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
    op.create_foreign_key(name, table, referred, [column], ["id"])


def _first_version() -> tuple[str, str, str]:
    """Version 1's body, source and reason: the clinic's TOML given to the upgrade, or the
    shipped defaults (``monitor.store.migrate.run_upgrade`` passes the file, checked)."""
    given = context.config.attributes.get("clinic_rules")
    if given:
        return given["body"], given["source"], "the clinic's rules file at the upgrade to versions"
    return "", "shipped defaults", "the shipped defaults"


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "config_versions",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", Moment(timezone=True), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["by_id"], ["users.id"], name=op.f("fk_config_versions_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_versions")),
    )
    body, source, reason = _first_version()
    versions = sa.table(
        "config_versions",
        sa.column("id", sa.Integer()),
        sa.column("at", Moment(timezone=True)),
        sa.column("reason", sa.Text()),
        sa.column("source", sa.String()),
        sa.column("body", sa.Text()),
    )
    op.bulk_insert(
        versions,
        [{"id": 1, "at": datetime.now(UTC), "reason": reason, "source": source, "body": body}],
    )
    op.create_table(
        "infusion_end_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("ended_at", Moment(timezone=True), nullable=False),
        sa.Column("previous", Moment(timezone=True), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.Column("at", Moment(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["by_id"], ["users.id"], name=op.f("fk_infusion_end_corrections_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_infusion_end_corrections_session_id_treatment_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_infusion_end_corrections")),
    )
    op.create_index(
        "ix_infusion_end_corrections_session",
        "infusion_end_corrections",
        ["session_id", "id"],
        unique=False,
    )

    # -- sessions: new columns, existing sessions follow version 1, the new guard -------------
    drop_session_guard(bind)
    for column, referred in _SESSION_REFS:
        _add_reference("treatment_sessions", column, referred)
    op.add_column("treatment_sessions", sa.Column("rems_at_discharge", sa.Text(), nullable=True))
    bind.exec_driver_sql("UPDATE treatment_sessions SET config_version = 1")
    create_session_guard(bind)

    # -- acknowledgements: the co-signer ------------------------------------------------------
    _add_reference("acknowledgements", "cosigned_by_id", "users")

    # -- flags: of a reading or of an event, with their version and how they were raised -------
    drop_append_only(bind, "flags")
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.alter_column("reading_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("event_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("config_version", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("raised_by", sa.String(length=20), server_default="reading", nullable=False)
        )
        batch_op.add_column(sa.Column("raised_at", Moment(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_flags_event_id"), ["event_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_flags_event_id_events"), "events", ["event_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_flags_config_version_config_versions"),
            "config_versions",
            ["config_version"],
            ["id"],
        )
        batch_op.create_check_constraint(
            "reading_or_event", "(reading_id IS NULL) <> (event_id IS NULL)"
        )
        batch_op.create_check_constraint(
            "raised_by", "raised_by IN ('reading', 'baseline change', 'event')"
        )
    create_append_only(bind, "flags")
    create_no_replace(bind, "flags", (("id",), ("event_id",)))

    # -- REMS corrections: every answer ------------------------------------------------------
    drop_append_only(bind, "rems_corrections")
    with op.batch_alter_table("rems_corrections", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_rems_corrections_field"), type_="check")
        batch_op.alter_column("value", existing_type=sa.Boolean(), nullable=True)
        batch_op.add_column(sa.Column("minute", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            "field", "field IN (" + ", ".join(f"'{f}'" for f in _REMS_FIELDS) + ")"
        )
        batch_op.create_check_constraint(
            "answer",
            "(field = 'ready_minute' AND minute IS NOT NULL AND value IS NULL) OR "
            "(field <> 'ready_minute' AND value IS NOT NULL AND minute IS NULL)",
        )
    create_append_only(bind, "rems_corrections")
    create_no_replace(bind, "rems_corrections", (("id",),))

    for table, keys in (
        ("config_versions", (("id",),)),
        ("infusion_end_corrections", (("id",),)),
    ):
        create_append_only(bind, table)
        create_no_replace(bind, table, keys)


def downgrade() -> None:
    raise NotImplementedError(
        "revision 3 keeps records (rules versions, co-signatures, event alarms) that revision 2 "
        "cannot hold: restore the backup `monitor db upgrade` made instead"
    )
