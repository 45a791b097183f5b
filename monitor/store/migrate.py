"""The migration runner behind ``monitor db upgrade | current | check``.

Any command that touches a database calls :func:`ensure_schema`: a new, empty database is
brought to the newest schema; one behind the code is refused with a message naming
``monitor db upgrade``, which copies an SQLite file aside before it migrates.
Alembic is imported only on those paths, not on every start.
"""

from __future__ import annotations

import io
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from monitor.errors import Refused
from monitor.store.engine import (
    DatabaseReadOnly,
    create_private_file,
    file_state,
    make_engine,
    read_only_reason,
    sqlite_path,
)
from monitor.store.identity import grant_pg_identity
from monitor.store.triggers import SESSION_TRANSITIONS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from alembic.config import Config

#: The newest migration; a test keeps it equal to the head of migrations/versions.
SCHEMA_HEAD = "0010"


def _migrations_dir() -> Path:
    import migrations

    return Path(migrations.__file__).resolve().parent


def alembic_config(url: str) -> Config:
    """An Alembic configuration without an ini file (the wheel carries the scripts)."""
    from alembic.config import Config

    # Alembic's own messages are not the product's: the caller says what happened.
    config = Config(stdout=io.StringIO())
    config.set_main_option("script_location", str(_migrations_dir()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def current_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database, or ``None`` when it has none.

    Only a missing version table means "none": any other failure (a connection ended during
    the check, a lock timeout) propagates, so that it is said as what it is (exit 1), not as
    "not a monitor database" (docs/storage.md, "Timeouts, read-only files and db check")."""
    with engine.connect() as connection:
        try:  # one statement on every command's start: the table is asked about only if it fails
            row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
        except DBAPIError:
            connection.rollback()
            if inspect(connection).has_table("alembic_version"):
                raise
            return None
    return row[0] if row else None


def _has_tables(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(inspect(connection).get_table_names())


def _known_revisions(url: str) -> list[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(url))
    return [rev.revision for rev in script.walk_revisions()]


def run_upgrade(
    url: str, revision: str = "head", clinic_rules: Mapping[str, str] | None = None
) -> None:
    """Run the migrations up to ``revision`` in one transaction, foreign keys OFF (env.py).
    ``clinic_rules`` ({"body", "source"}, checked by the caller) becomes version 1 of the
    clinic's rules when the migration that introduces versions runs."""
    from alembic import command

    engine = make_engine(url, foreign_keys=False)
    try:
        with engine.execution_options(sqlite_write=True).connect() as connection:
            if connection.dialect.name == "postgresql":
                # A migration may rewrite a large table: no statement timeout (engine.py);
                # the lock timeout stays, so it gives up instead of stopping every station.
                connection.exec_driver_sql("SET statement_timeout = 0")
            config = alembic_config(url)
            config.attributes["connection"] = connection
            if clinic_rules is not None:
                config.attributes["clinic_rules"] = dict(clinic_rules)
            command.upgrade(config, revision)
            connection.commit()
    finally:
        engine.dispose()


def ensure_schema(engine: Engine) -> None:
    """Bring a new, empty database to the newest schema; refuse one that is behind or ahead."""
    revision = current_revision(engine)
    if revision == SCHEMA_HEAD:
        return
    url = engine.url.render_as_string(hide_password=False)
    if revision is None:
        if _has_tables(engine):
            raise Refused(
                "this database has tables but no monitor schema version: "
                "point --db at a monitor database or an empty one"
            )
        run_upgrade(url)
        return
    if revision in _known_revisions(url):
        raise Refused(
            f"the database schema is at revision {revision}, this monitor needs {SCHEMA_HEAD}: "
            "run `monitor db upgrade` (it backs up an SQLite file first)"
        )
    raise Refused(
        f"the database schema revision {revision} is newer than this monitor knows: upgrade monitor"
    )


@dataclass(frozen=True)
class UpgradeResult:
    """What ``db upgrade`` did."""

    before: str | None
    after: str
    backup: Path | None
    #: Statements only a superuser can run, for the owner to have run (PostgreSQL).
    left_to_superuser: tuple[str, ...] = ()


def backup_sqlite(path: Path, revision: str | None) -> Path:
    """A consistent copy of an SQLite file beside it (mode 0600), via SQLite's backup API."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.{stamp}.rev-{revision or 'none'}.bak")
    create_private_file(target)
    source = sqlite3.connect(path)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()
    return target


#: The migration that keeps the clinic's rules as versions in the database.
RULES_VERSIONS = "0008"


def upgrade(url: str, clinic_rules: Mapping[str, str] | None = None) -> UpgradeResult:
    """Migrate to the newest schema; an SQLite file with data is copied aside first.

    Refused, with nothing changed and no backup, for a database newer than this monitor and
    for one that holds tables but is not monitor's. On PostgreSQL the station role is
    (re)granted each time (:func:`grant_station_role`). ``clinic_rules`` (a clinic's TOML
    given with ``--config``, checked by the caller) becomes version 1 of the clinic's rules;
    refused, with nothing changed, unless the database holds a record from before versions
    (docs/configuration.md, "Upgrading from a TOML file").
    """
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        has_tables = _has_tables(engine)
    finally:
        engine.dispose()
    if before is not None and before != SCHEMA_HEAD and before not in _known_revisions(url):
        raise Refused(
            f"this database is at schema revision {before}, newer than this monitor knows "
            f"({SCHEMA_HEAD}): upgrade monitor; nothing was changed"
        )
    if before is None and has_tables:
        raise Refused(
            "this database holds tables but is not a monitor database: nothing was changed; "
            "name a monitor database or a new, empty one"
        )
    if clinic_rules is not None:
        _refuse_rules_at(before)
    backup = None
    if before != SCHEMA_HEAD:
        path = sqlite_path(url)
        backup = _backup_first(path, before) if path is not None and has_tables else None
        run_upgrade(url, clinic_rules=clinic_rules)
    left: list[str] = []
    if url.startswith("postgresql"):
        left = grant_station_role(url)
    elif sqlite_path(url) is not None:
        from monitor.pins import load_secret

        load_secret(create=True)  # the clinic's secret for PINs, outside the file
    return UpgradeResult(before, SCHEMA_HEAD, backup, tuple(left))


def _backup_first(path: Path, before: str | None) -> Path:
    """The copy :func:`upgrade` makes before it migrates; refused, with nothing changed, where
    the file is read-only here or the copy cannot be made beside it (docs/storage.md,
    "Timeouts, read-only files and db check")."""
    reason = read_only_reason(path)
    if reason is not None:
        raise DatabaseReadOnly(
            f"the database is read-only here ({reason}): nothing was changed; run `monitor db "
            "upgrade` as a user who can write the file and its folder"
        )
    try:
        return backup_sqlite(path, before)
    except OSError as error:
        raise Refused(
            f"cannot copy the database aside before migrating it ({error.strerror}: "
            f"{error.filename}): nothing was changed"
        ) from None


def refuse_rules_file(url: str) -> None:
    """Refuse a clinic's rules file given to ``db upgrade`` unless the database holds a record
    from before rules versions (docs/configuration.md, "Upgrading from a TOML file")."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        _refuse_rules_at(None)  # a new file: refused before it is made
    engine = make_engine(url)
    try:
        before = current_revision(engine)
    finally:
        engine.dispose()
    _refuse_rules_at(before)


def _refuse_rules_at(before: str | None) -> None:
    """Refuse a clinic's rules file at an upgrade that will not make version 1 from it."""
    load = "monitor config load FILE --by SUPERVISOR --reason TEXT"
    if before is None:
        raise Refused(
            "a new database starts at version 1 of the clinic's rules, the shipped defaults: "
            f"nothing was changed; create it without clinical rules in --config, then `{load}`"
        )
    if int(before) >= int(RULES_VERSIONS):
        raise Refused(
            "this database keeps the clinic's rules as versions already: nothing was changed; "
            f"a supervisor loads the file's rules with `{load}`, and --config keeps only "
            "clinic_name and bays"
        )


#: The PostgreSQL role stations and the command line connect as: it reads and inserts, and
#: updates only the columns whose transitions the triggers check. It owns nothing, so it can
#: neither disable a trigger nor alter a table.
STATION_ROLE = "monitor_station"
_STATION_UPDATES = {
    # Exactly the columns whose transitions the triggers check (monitor.store.triggers);
    # users change only through the database's own functions (monitor.store.identity).
    "treatment_sessions": SESSION_TRANSITIONS,
}


def grant_station_role(url: str, role: str = STATION_ROLE) -> list[str]:
    """Create (if need be) the station role and grant it exactly what stations need; returns
    the statements a superuser must still run (the connecting owner is not one)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            database = connection.exec_driver_sql("SELECT current_database()").scalar_one()
            exists = connection.exec_driver_sql(
                "SELECT 1 FROM pg_roles WHERE rolname = %(role)s", {"role": role}
            ).first()
            if exists is None:
                try:
                    connection.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
                except ProgrammingError:
                    raise Refused(
                        f"cannot create the station role {role}: run `monitor db upgrade` as a "
                        f"user with CREATEROLE, or create it: CREATE ROLE {role} LOGIN PASSWORD ..."
                    ) from None
            run = connection.exec_driver_sql
            run(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"')
            run(f'GRANT USAGE ON SCHEMA public TO "{role}"')
            run(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"')
            run(f'GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO "{role}"')
            run(f'REVOKE INSERT ON alembic_version FROM "{role}"')
            run(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
            for table, columns in _STATION_UPDATES.items():
                run(f'GRANT UPDATE ({", ".join(columns)}) ON {table} TO "{role}"')
            left = grant_pg_identity(connection, role)
    finally:
        engine.dispose()
    return left


def check(url: str) -> list[str]:
    """``monitor db check``: refuse a missing file, a database without monitor's schema or not
    at the newest revision, and models that disagree with the migrations (Alembic's
    ``check``); then compare the database's triggers, functions, views, rules, policies and
    grants with those of a database freshly migrated here (:mod:`monitor.store.inspect`).

    Returns each difference as one line (empty when there is none). Nothing is created or
    migrated in the database checked (docs/storage.md, "Timeouts, read-only files and db
    check")."""
    from alembic import command
    from alembic.util.exc import AutogenerateDiffsDetected

    from monitor.store import inspect as schema

    path = sqlite_path(url)
    if path is not None and file_state(path) is None:
        raise Refused(f"no database at {path}: nothing to check; check the path")
    engine = make_engine(url, create=False)
    try:
        revision = current_revision(engine)
        if revision is None:
            raise Refused(
                "this database has no monitor schema: nothing to check; create it with "
                "`monitor db upgrade`"
            )
        if revision != SCHEMA_HEAD:
            raise Refused(
                f"the database schema is at revision {revision}, this monitor's newest is "
                f"{SCHEMA_HEAD}: run `monitor db upgrade` first"
            )
        disagree: list[str] = []
        with engine.connect() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            try:
                command.check(config)
            except AutogenerateDiffsDetected as error:
                # Said, and the comparison goes on: one change must not hide the others.
                disagree.append(f"models and migrations disagree: {error}")
        actual = schema.snapshot(engine)
    finally:
        engine.dispose()
    with schema.scratch_database(url) as fresh_url:
        upgrade(fresh_url)
        fresh = make_engine(fresh_url)
        try:
            expected = schema.snapshot(fresh)
        finally:
            fresh.dispose()
    return disagree + [difference.line() for difference in schema.compare(actual, expected)]
