"""Rules that hold for whoever writes, the database's owner included, on both backends
(docs/storage.md, "Who acts"): nothing is added to a signed session until a supervisor reopens
it, and only an active supervisor signs, reopens, loads rules or corrects a REMS answer.
Migration 0009 makes them.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from monitor.store.identity import PRIVATE, pg_run

#: Rows that may not be added to a signed session (until a supervisor reopens it), with the
#: SQL that finds a new row's session.
SIGNED_CLOSED: dict[str, str] = {
    "readings": "NEW.session_id",
    "events": "NEW.session_id",
    "check_skips": "NEW.session_id",
    "voids": "(SELECT r.session_id FROM {s}.readings r WHERE r.id = NEW.reading_id)",
    "flags": (
        "COALESCE((SELECT r.session_id FROM {s}.readings r WHERE r.id = NEW.reading_id), "
        "(SELECT e.session_id FROM {s}.events e WHERE e.id = NEW.event_id))"
    ),
    "acknowledgements": (
        "(SELECT COALESCE(r.session_id, e.session_id) FROM {s}.flags f "
        "LEFT JOIN {s}.readings r ON r.id = f.reading_id "
        "LEFT JOIN {s}.events e ON e.id = f.event_id WHERE f.id = NEW.flag_id)"
    ),
    "infusion_end_corrections": "NEW.session_id",
}
#: Rows only an active supervisor adds (the ``by_id`` column).
SUPERVISOR_ONLY = ("sign_offs", "reopenings", "config_versions", "rems_corrections")

#: Migration 0010 (bedside monitors): a validation is not added to a signed session; devices
#: are added, moved and disabled by a supervisor.
DEVICE_SIGNED_CLOSED: dict[str, str] = {
    "validations": "(SELECT r.session_id FROM {s}.readings r WHERE r.id = NEW.reading_id)",
}
DEVICE_SUPERVISOR_ONLY = ("devices", "device_bays")


def _signed_sql(session: str, schema: str) -> str:
    return (
        f"(SELECT count(*) FROM {schema}.sign_offs s WHERE s.session_id = {session}) > "
        f"(SELECT count(*) FROM {schema}.reopenings o WHERE o.session_id = {session})"
    )


def _supervisor_sql(user: str, schema: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM {schema}.users u WHERE u.id = {user} AND u.role = 'supervisor' "
        "AND u.disabled_at IS NULL)"
    )


# -- rules for every connection, both backends ---------------------------------------------


def create_record_rules(connection: Connection) -> None:
    """Rules that hold for everyone, owner included: nothing is added to a signed session,
    and only a supervisor signs, reopens, loads rules or corrects a REMS answer."""
    if connection.dialect.name == "postgresql":
        pg_run(
            connection,
            f"""
            CREATE FUNCTION {PRIVATE}.signed_closed() RETURNS trigger LANGUAGE plpgsql
            SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
            DECLARE sid integer;
            BEGIN
                EXECUTE 'SELECT ' || TG_ARGV[0] INTO sid USING NEW;
                IF sid IS NOT NULL AND {_signed_sql("sid", "public")} THEN
                    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE =
                        'monitor: session ' || sid || ' is signed: nothing is added to it ('
                        || TG_TABLE_NAME || ') until a supervisor reopens it';
                END IF;
                RETURN NEW;
            END $$;
            CREATE FUNCTION {PRIVATE}.by_supervisor() RETURNS trigger LANGUAGE plpgsql
            SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
            BEGIN
                IF NEW.by_id IS NOT NULL AND NOT {_supervisor_sql("NEW.by_id", "public")} THEN
                    RAISE EXCEPTION 'monitor: only an active supervisor adds %', TG_TABLE_NAME
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                RETURN NEW;
            END $$;
            """,
        )
    add_record_rules(connection, SIGNED_CLOSED, SUPERVISOR_ONLY)


def add_record_rules(
    connection: Connection, closed: dict[str, str], supervisor_only: tuple[str, ...]
) -> None:
    """The triggers of :func:`create_record_rules` on more tables: ``closed`` (each with the
    SQL that finds a new row's session) take nothing once their session is signed;
    ``supervisor_only`` take rows only from an active supervisor (their ``by_id``)."""
    run = connection.exec_driver_sql
    if connection.dialect.name == "sqlite":
        for table, session in closed.items():
            found = session.format(s="main")
            run(
                f"CREATE TRIGGER {table}_signed_closed BEFORE INSERT ON {table} "
                f"WHEN {_signed_sql(found, 'main')} BEGIN SELECT RAISE(ABORT, 'monitor: the "
                f"session is signed: nothing is added to it ({table}) until a supervisor "
                "reopens it'); END"
            )
        for table in supervisor_only:
            run(
                f"CREATE TRIGGER {table}_by_supervisor BEFORE INSERT ON {table} "
                f"WHEN NEW.by_id IS NOT NULL AND NOT {_supervisor_sql('NEW.by_id', 'main')} "
                f"BEGIN SELECT RAISE(ABORT, 'monitor: only an active supervisor adds "
                f"{table}'); END"
            )
        return
    for table, session in closed.items():
        # The session's expression, with NEW as $1 inside EXECUTE.
        expression = session.format(s="public").replace("NEW.", "($1).")
        quoted = expression.replace("'", "''")
        run(
            f"CREATE TRIGGER {table}_signed_closed BEFORE INSERT ON public.{table} FOR EACH ROW "
            f"EXECUTE FUNCTION {PRIVATE}.signed_closed('{quoted}')"
        )
    for table in supervisor_only:
        run(
            f"CREATE TRIGGER {table}_by_supervisor BEFORE INSERT ON public.{table} FOR EACH ROW "
            f"EXECUTE FUNCTION {PRIVATE}.by_supervisor()"
        )


def drop_rules_of(connection: Connection, tables: tuple[str, ...] | list[str]) -> None:
    """Remove :func:`add_record_rules`' triggers from ``tables`` (a downgrade)."""
    run = connection.exec_driver_sql
    sqlite = connection.dialect.name == "sqlite"
    for table in tables:
        for rule in ("signed_closed", "by_supervisor"):
            run(f"DROP TRIGGER IF EXISTS {table}_{rule}" + ("" if sqlite else f" ON {table}"))


def drop_record_rules(connection: Connection) -> None:
    """Remove :func:`create_record_rules` (a downgrade)."""
    run = connection.exec_driver_sql
    sqlite = connection.dialect.name == "sqlite"
    for table in SIGNED_CLOSED:
        run(f"DROP TRIGGER IF EXISTS {table}_signed_closed" + ("" if sqlite else f" ON {table}"))
    for table in SUPERVISOR_ONLY:
        run(f"DROP TRIGGER IF EXISTS {table}_by_supervisor" + ("" if sqlite else f" ON {table}"))
    if not sqlite:
        run(f"DROP FUNCTION IF EXISTS {PRIVATE}.signed_closed()")
        run(f"DROP FUNCTION IF EXISTS {PRIVATE}.by_supervisor()")
