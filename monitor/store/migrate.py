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
from sqlalchemy.exc import OperationalError, ProgrammingError

from monitor.errors import Refused
from monitor.store.engine import create_private_file, make_engine, sqlite_path

if TYPE_CHECKING:
    from alembic.config import Config

#: The newest migration; a test keeps it equal to the head of migrations/versions.
SCHEMA_HEAD = "0004"


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
    """The schema revision stored in the database, or ``None`` when it has none."""
    try:
        with engine.connect() as connection:
            row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    except (OperationalError, ProgrammingError):
        return None
    return row[0] if row else None


def _has_tables(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(inspect(connection).get_table_names())


def _known_revisions(url: str) -> list[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(url))
    return [rev.revision for rev in script.walk_revisions()]


def run_upgrade(url: str, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` in one transaction, foreign keys OFF (env.py)."""
    from alembic import command

    engine = make_engine(url, foreign_keys=False)
    try:
        with engine.execution_options(sqlite_write=True).connect() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
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


def upgrade(url: str) -> UpgradeResult:
    """Migrate to the newest schema; an SQLite file with data is copied aside first."""
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        has_tables = _has_tables(engine)
    finally:
        engine.dispose()
    if before == SCHEMA_HEAD:
        return UpgradeResult(before, SCHEMA_HEAD, None)
    path = sqlite_path(url)
    backup = backup_sqlite(path, before) if path is not None and has_tables else None
    run_upgrade(url)
    return UpgradeResult(before, SCHEMA_HEAD, backup)


def check(url: str) -> None:
    """Refuse when the models and the migrations disagree (Alembic's ``check``)."""
    from alembic import command
    from alembic.util.exc import AutogenerateDiffsDetected

    engine = make_engine(url)
    try:
        ensure_schema(engine)
        with engine.connect() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            try:
                command.check(config)
            except AutogenerateDiffsDetected as error:
                raise Refused(f"models and migrations disagree: {error}") from None
    finally:
        engine.dispose()
