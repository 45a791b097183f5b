"""Triggers that make the append-only tables refuse UPDATE and DELETE in the database itself.

Called by the migrations. A batch migration on SQLite rebuilds a table and loses its triggers:
such a migration must call :func:`create_append_only` again for that table.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

#: Every PostgreSQL trigger function pins its search path (a temporary table or function
#: named like one of ours must never be found first) and names tables with their schema.
PG_PINNED = "SET search_path = pg_catalog, pg_temp"
#: A trigger function that writes the audit trail runs with the owner's rights: the station
#: role may add audit rows only in the name of a user who proved a PIN (monitor.store.identity).
PG_DEFINER = f"SECURITY DEFINER {PG_PINNED}"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION public.monitor_append_only() RETURNS trigger LANGUAGE plpgsql
{PG_PINNED} AS $$
BEGIN
    RAISE EXCEPTION 'monitor: %% on %% refused: the record is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""
PG_NEVER_DELETED = (
    "CREATE OR REPLACE FUNCTION public.monitor_never_deleted() RETURNS trigger LANGUAGE plpgsql "
    f"{PG_PINNED} AS $$ BEGIN RAISE EXCEPTION 'monitor: %% on %% refused: the record is never "
    "deleted', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$"
)


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


# -- revision 0004: a record no one can rewrite ------------------------------------------------
#
# Every table refuses DELETE. The append-only tables and patients refuse UPDATE. Sessions and
# users change only by the legal transitions below, and each such change writes its own audit
# row in the same statement. On SQLite an insert that would replace a row (REPLACE, INSERT OR
# REPLACE) is refused before SQLite deletes the old row, which it does without DELETE triggers.

#: Keys an insert could collide on, per table (SQLite's REPLACE deletes the row it collides with).
UNIQUE_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "users": (("id",), ("name",)),
    "patients": (("id",), ("identifier",)),
    "treatment_sessions": (("id",),),
    "readings": (("id",), ("corrects_id",), ("client_key",)),
    "flags": (("id",),),
    "acknowledgements": (("id",), ("flag_id",)),
    "sign_offs": (("id",),),
    "reopenings": (("id",),),
    "audit_log": (("id",),),
    "voids": (("id",), ("reading_id",)),
    "check_skips": (("id",), ("session_id", "label")),
    "events": (("id",),),
}
#: Tables that refuse every UPDATE.
FROZEN = ("patients",)

#: The session columns and their legal transitions as migration 0004 made them (frozen: the
#: migration must build the same guard whatever later revisions add).
SESSION_RULES_0004 = {
    "immutable": (
        "id",
        "patient_id",
        "protocol",
        "dose_mg",
        "weight_kg",
        "lot",
        "age",
        "bay",
        "started_at",
        "started_by_id",
        "first_treatment",
        "dose_number",
        "meds",
    ),
    "dosing": ("dosed_at", "dose_override_reason"),
    "infusion": ("infusion_ended_at",),
    "discharge": (
        "discharged_at",
        "discharged_by_id",
        "override_reason",
        "escort",
        "instructions_given",
        "ready_minute_proposed",
        "ready_minute",
        "ready_minute_by_id",
        "gate_at_discharge",
    ),
}
#: Revision 3 (migration 0008): the rules version a session follows never changes; who dosed
#: and who co-signed the override are set with the dose; who recorded the infusion end with
#: it; the co-signer of a discharge override and the REMS proposals at discharge with the
#: discharge. A recorded infusion end changes only with its correction row beside it.
SESSION_RULES = {
    "immutable": (*SESSION_RULES_0004["immutable"], "config_version"),
    "dosing": (*SESSION_RULES_0004["dosing"], "dosed_by_id", "dose_cosigned_by_id"),
    "infusion": ("infusion_ended_at", "infusion_ended_by_id"),
    "discharge": (
        *SESSION_RULES_0004["discharge"],
        "discharge_cosigned_by_id",
        "rems_at_discharge",
    ),
}
SESSION_IMMUTABLE = SESSION_RULES["immutable"]
SESSION_DISCHARGE = SESSION_RULES["discharge"]
#: Every session column a station may update (the PostgreSQL role's column grants).
SESSION_TRANSITIONS = (
    *SESSION_RULES["dosing"],
    *SESSION_RULES["infusion"],
    *SESSION_RULES["discharge"],
)
USER_IMMUTABLE = ("id", "name", "created_at")
USER_TRANSITIONS = ("pin_hash", "role", "failed_pins", "locked_until", "disabled_at")


def _table(dialect: str, table: str) -> str:
    """A table as trigger bodies name it: with its schema on PostgreSQL (SQLite refuses a
    qualified name in a trigger)."""
    return table if dialect == "sqlite" else f"public.{table}"


def _changed(dialect: str, column: str) -> str:
    op = "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"
    return f"NEW.{column} {op} OLD.{column}"


def _any(parts: list[str]) -> str:
    return "(" + " OR ".join(parts) + ")"


def session_refusal(dialect: str, rules: dict[str, tuple[str, ...]] = SESSION_RULES) -> str:
    """True (SQL) for an UPDATE of a session that is not a legal transition."""
    c = lambda column: _changed(dialect, column)  # noqa: E731 - a local shorthand
    dosing, infusion, discharge = rules["dosing"], rules["infusion"], rules["discharge"]
    first, *dosing_rest = dosing
    infusion_end = [
        # the end of an infusion is set once, after dosing ...
        f"(OLD.infusion_ended_at IS NOT NULL AND {c('infusion_ended_at')})",
        "(NEW.infusion_ended_at IS NOT NULL AND NEW.dosed_at IS NULL)",
    ]
    if "infusion_ended_by_id" in infusion:
        # ... and later changed only with its correction row, written first in the same
        # transaction (revision 3); who recorded it first never changes.
        infusion_end = [
            f"(OLD.infusion_ended_at IS NOT NULL AND {c('infusion_ended_at')} AND NOT EXISTS "
            f"(SELECT 1 FROM {_table(dialect, 'infusion_end_corrections')} x WHERE "
            "x.session_id = NEW.id AND "
            "x.ended_at = NEW.infusion_ended_at AND x.previous = OLD.infusion_ended_at))",
            f"(OLD.infusion_ended_at IS NOT NULL AND {c('infusion_ended_by_id')})",
            "(NEW.infusion_ended_at IS NOT NULL AND NEW.dosed_at IS NULL)",
            "(NEW.infusion_ended_at IS NULL AND NEW.infusion_ended_by_id IS NOT NULL)",
        ]
    everything = (*dosing, *infusion, *discharge)
    rules_sql = [
        # identity and what was given at the start never change
        _any([c(col) for col in rules["immutable"]]),
        # dosing is set once, with who dosed and the override reason
        f"(OLD.{first} IS NOT NULL AND {_any([c(col) for col in dosing])})",
        f"(NEW.{first} IS NULL AND {_any([c(col) for col in dosing_rest])})",
        *infusion_end,
        # discharge is set once, all its fields in the same statement, and then closed
        f"(OLD.discharged_at IS NOT NULL AND {_any([c(col) for col in everything])})",
        f"(NEW.discharged_at IS NULL AND {_any([c(col) for col in discharge])})",
    ]
    return _any(rules_sql)


def user_refusal(dialect: str) -> str:
    """True (SQL) for an UPDATE of a user that is not a legal transition."""
    c = lambda column: _changed(dialect, column)  # noqa: E731
    return _any(
        [
            _any([c(col) for col in USER_IMMUTABLE]),
            f"(OLD.disabled_at IS NOT NULL AND {c('disabled_at')})",
            "NEW.role NOT IN ('nurse', 'supervisor')",
        ]
    )


def _json(dialect: str, prefix: str, columns: tuple[str, ...]) -> str:
    function = "json_object" if dialect == "sqlite" else "json_build_object"
    pairs = ", ".join(f"'{col}', {prefix}.{col}" for col in columns)
    return f"{function}({pairs})"


def _sqlite_now() -> str:
    # The UTC column's SQLite text form, microseconds included.
    return "strftime('%Y-%m-%d %H:%M:%f000', 'now')"


def _audit_insert(
    dialect: str, action: str, entity: str, session_id: str, columns: tuple[str, ...]
) -> str:
    at = _sqlite_now() if dialect == "sqlite" else "clock_timestamp()"
    before = _json(dialect, "OLD", columns)
    after = _json(dialect, "NEW", columns)
    if dialect == "postgresql":
        before, after = f"{before}::text", f"{after}::text"
    return (
        f"INSERT INTO {_table(dialect, 'audit_log')} (at, user_name, action, session_id, "
        "entity, entity_id, before, "
        f"after) VALUES ({at}, NULL, '{action}', {session_id}, '{entity}', NEW.id, {before}, "
        f"{after})"
    )


USER_AUDITED_0004 = ("role", "failed_pins", "locked_until", "disabled_at")
_USER_AUDITED = USER_AUDITED_0004
#: Revision 0009 adds the count of locks in a row (lock escalation).
USER_AUDITED = (*USER_AUDITED_0004, "locks")


def user_audit_insert(dialect: str, columns: tuple[str, ...]) -> str:
    """The audit row a change to a user writes, naming ``columns`` before and after."""
    return _audit_insert(dialect, "db.user.update", "user", "NULL", columns)


def create_guards(
    connection: Connection, session_rules: dict[str, tuple[str, ...]] = SESSION_RULES_0004
) -> None:
    """Every table's guards (revision 0004), on SQLite or PostgreSQL."""
    dialect = connection.dialect.name
    run = connection.exec_driver_sql
    if dialect == "sqlite":
        for table, keys in UNIQUE_KEYS.items():
            collide = " OR ".join(
                "EXISTS (SELECT 1 FROM {t} WHERE {w})".format(
                    t=table,
                    w=" AND ".join(f"{col} = NEW.{col}" for col in key),
                )
                for key in keys
            )
            run(
                f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} WHEN {collide} "
                f"BEGIN SELECT RAISE(ABORT, 'monitor: an insert that would replace a row of "
                f"{table} is refused: the record is never rewritten'); END"
            )
        # One active session per patient: a REPLACE on that partial index would delete it.
        run(
            "CREATE TRIGGER treatment_sessions_no_replace_active BEFORE INSERT ON "
            "treatment_sessions WHEN NEW.discharged_at IS NULL AND EXISTS (SELECT 1 FROM "
            "treatment_sessions WHERE patient_id = NEW.patient_id AND discharged_at IS NULL) "
            "BEGIN SELECT RAISE(ABORT, 'monitor: the patient already has an active session'); END"
        )
        for table in ("users", "patients", "treatment_sessions"):
            run(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} BEGIN SELECT "
                f"RAISE(ABORT, 'monitor: DELETE on {table} refused: the record is never "
                "deleted'); END"
            )
        for table in FROZEN:
            run(
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN SELECT "
                f"RAISE(ABORT, 'monitor: UPDATE on {table} refused'); END"
            )
        create_session_guard(connection, session_rules)
        run(
            f"CREATE TRIGGER users_transitions BEFORE UPDATE ON users WHEN {user_refusal(dialect)} "
            "BEGIN SELECT RAISE(ABORT, 'monitor: this change to a user is refused: only the PIN, "
            "role, lock and disabling change'); END"
        )
        run(
            "CREATE TRIGGER users_audit AFTER UPDATE ON users BEGIN "
            + _audit_insert(dialect, "db.user.update", "user", "NULL", _USER_AUDITED)
            + "; END"
        )
        return
    if dialect != "postgresql":  # pragma: no cover - only the two supported backends
        raise RuntimeError(f"no guards for {dialect}")
    run(PG_FUNCTION)
    run(PG_NEVER_DELETED)
    for table in ("users", "patients", "treatment_sessions"):
        run(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} FOR EACH ROW EXECUTE "
            "FUNCTION monitor_never_deleted()"
        )
        run(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT "
            "EXECUTE FUNCTION monitor_never_deleted()"
        )
    for table in FROZEN:
        run(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE "
            "FUNCTION monitor_append_only()"
        )
    create_session_guard(connection, session_rules)
    refusal = user_refusal(dialect)
    audit = _audit_insert(dialect, "db.user.update", "user", "NULL", _USER_AUDITED)
    _pg_transitions(
        connection, "users", refusal, audit, "only the PIN, role, lock and disabling change"
    )


def _pg_transitions(
    connection: Connection,
    table: str,
    refusal: str,
    audit: str,
    what: str,
    *,
    trigger: bool = True,
) -> None:
    run = connection.exec_driver_sql
    run(
        f"CREATE OR REPLACE FUNCTION public.monitor_{table}_transitions() RETURNS trigger "
        f"LANGUAGE plpgsql {PG_DEFINER} AS $$ BEGIN IF {refusal} THEN RAISE EXCEPTION "
        f"'monitor: this change to %% is refused: {what}', TG_TABLE_NAME USING ERRCODE = "
        f"'insufficient_privilege'; END IF; {audit}; RETURN NEW; END $$"
    )
    if trigger:
        run(
            f"CREATE TRIGGER {table}_transitions BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE "
            f"FUNCTION monitor_{table}_transitions()"
        )


_SESSION_WHAT = "dosing, infusion end and discharge are set once, the rest never changes"


def create_session_guard(
    connection: Connection, rules: dict[str, tuple[str, ...]] = SESSION_RULES
) -> None:
    """The legal transitions of a session under ``rules``, each change writing its own audit
    row (migration 0004 with its rules, 0008 with revision 3's)."""
    dialect = connection.dialect.name
    transitions = (*rules["dosing"], *rules["infusion"], *rules["discharge"])
    refusal = session_refusal(dialect, rules)
    audit = _audit_insert(dialect, "db.session.update", "session", "NEW.id", transitions)
    if dialect == "postgresql":
        _pg_transitions(connection, "treatment_sessions", refusal, audit, _SESSION_WHAT)
        return
    run = connection.exec_driver_sql
    run(
        "CREATE TRIGGER treatment_sessions_transitions BEFORE UPDATE ON treatment_sessions "
        f"WHEN {refusal} BEGIN SELECT RAISE(ABORT, 'monitor: this change to a session is "
        f"refused: {_SESSION_WHAT}'); END"
    )
    run(
        "CREATE TRIGGER treatment_sessions_audit AFTER UPDATE ON treatment_sessions BEGIN "
        + audit
        + "; END"
    )


def drop_session_guard(connection: Connection) -> None:
    """Remove the session transitions guard (before a migration installs another)."""
    run = connection.exec_driver_sql
    if connection.dialect.name == "sqlite":
        run("DROP TRIGGER IF EXISTS treatment_sessions_transitions")
        run("DROP TRIGGER IF EXISTS treatment_sessions_audit")
        return
    run("DROP TRIGGER IF EXISTS treatment_sessions_transitions ON treatment_sessions")
    run("DROP FUNCTION IF EXISTS monitor_treatment_sessions_transitions()")


def drop_guards(connection: Connection) -> None:
    """Remove the revision-0004 guards (for a downgrade)."""
    run = connection.exec_driver_sql
    if connection.dialect.name == "sqlite":
        names = [f"{t}_no_replace" for t in UNIQUE_KEYS] + [
            "treatment_sessions_no_replace_active",
            "users_no_delete",
            "patients_no_delete",
            "treatment_sessions_no_delete",
            "patients_no_update",
            "treatment_sessions_transitions",
            "treatment_sessions_audit",
            "users_transitions",
            "users_audit",
        ]
        for name in names:
            run(f"DROP TRIGGER IF EXISTS {name}")
        return
    for table in ("users", "patients", "treatment_sessions"):
        run(f"DROP TRIGGER IF EXISTS {table}_no_delete ON {table}")
        run(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    run("DROP TRIGGER IF EXISTS patients_no_update ON patients")
    for table in ("treatment_sessions", "users"):
        run(f"DROP TRIGGER IF EXISTS {table}_transitions ON {table}")
        run(f"DROP FUNCTION IF EXISTS monitor_{table}_transitions()")
    run("DROP FUNCTION IF EXISTS monitor_never_deleted()")


def create_no_replace(
    connection: Connection, table: str, keys: tuple[tuple[str, ...], ...]
) -> None:
    """On SQLite, refuse an insert into ``table`` that would replace a row colliding on one of
    ``keys`` (REPLACE deletes that row without DELETE triggers); nothing to do on PostgreSQL."""
    if connection.dialect.name != "sqlite":
        return
    collide = " OR ".join(
        f"EXISTS (SELECT 1 FROM {table} WHERE "
        + " AND ".join(f"{col} = NEW.{col}" for col in key)
        + ")"
        for key in keys
    )
    connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_replace")
    connection.exec_driver_sql(
        f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} WHEN {collide} "
        f"BEGIN SELECT RAISE(ABORT, 'monitor: an insert that would replace a row of "
        f"{table} is refused: the record is never rewritten'); END"
    )


#: Migration 0006's announcement, with its search path pinned (revision 0009).
PG_ANNOUNCE = (
    "CREATE OR REPLACE FUNCTION public.monitor_announce_change() RETURNS trigger "
    f"LANGUAGE plpgsql {PG_PINNED} AS $$ BEGIN PERFORM pg_catalog.pg_notify('monitor_changes', "
    "''); RETURN NULL; END $$"
)


def harden(connection: Connection) -> None:
    """Revision 0009: every PostgreSQL trigger function made again with its search path pinned,
    its tables named with their schema, and the audit writers with the owner's rights; the
    users' audit row names the count of locks in a row. SQLite: that audit row only."""
    run = connection.exec_driver_sql
    user_audit = _audit_insert(
        connection.dialect.name, "db.user.update", "user", "NULL", USER_AUDITED
    )
    if connection.dialect.name == "sqlite":
        run("DROP TRIGGER IF EXISTS users_audit")
        run("CREATE TRIGGER users_audit AFTER UPDATE ON users BEGIN " + user_audit + "; END")
        return
    run(PG_FUNCTION)
    run(PG_NEVER_DELETED)
    run(PG_ANNOUNCE)
    what = "only the PIN, role, lock and disabling change"
    _pg_transitions(
        connection, "users", user_refusal("postgresql"), user_audit, what, trigger=False
    )
    transitions = (
        *SESSION_RULES["dosing"],
        *SESSION_RULES["infusion"],
        *SESSION_RULES["discharge"],
    )
    session_audit = _audit_insert(
        "postgresql", "db.session.update", "session", "NEW.id", transitions
    )
    _pg_transitions(
        connection,
        "treatment_sessions",
        session_refusal("postgresql", SESSION_RULES),
        session_audit,
        _SESSION_WHAT,
        trigger=False,
    )
