"""The engine factory: SQLite by default, PostgreSQL by URL (docs/storage.md, "Databases").

An engine is made at start-up by the caller, never at import.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from monitor.errors import Refused
from monitor.store import writelock

DB_ENV = "MONITOR_DB"
APP_NAME = "monitor"
#: SQLite's busy timeout: how long a statement waits for a lock another connection holds.
BUSY_TIMEOUT_MS = 30_000


def default_db_path() -> Path:
    """The SQLite file in the user's data directory."""
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False)) / "monitor.db"


def resolve_url(db: str | None) -> str:
    """An SQLAlchemy URL from ``--db``: a URL, a plain file path (SQLite), or the default."""
    if not db:
        db = str(default_db_path())
    if "://" not in db:
        return f"sqlite:///{Path(db).expanduser().resolve()}"
    if db.startswith("postgresql://") or db.startswith("postgres://"):
        # Plain postgresql:// would ask for psycopg2; this product ships psycopg 3.
        db = "postgresql+psycopg://" + db.split("://", 1)[1]
    return db


def sqlite_path(url: str) -> Path | None:
    """The file behind an SQLite URL, or ``None`` (another backend, or in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def private_folder(folder: Path) -> None:
    """Create ``folder`` and any missing parents with mode 0700 (only the user can enter)."""
    missing = []
    for parent in (folder, *folder.parents):
        if parent.exists():
            break
        missing.append(parent)
    for parent in reversed(missing):
        parent.mkdir(mode=0o700, exist_ok=True)
        os.chmod(parent, 0o700)


def create_private_file(path: Path) -> None:
    """Create ``path`` with mode 0600 if it does not exist (a new SQLite file or an export),
    in folders of mode 0700 where they are created."""
    private_folder(path.parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _sqlite_pragmas(
    dbapi_connection: Any,
    _record: Any,
    *,
    foreign_keys: bool,
    write_lock: writelock.WriteLock | None = None,
) -> None:
    # The driver must not open transactions itself: the "begin" hook below does it, so that
    # PRAGMAs run outside a transaction and reads see one consistent snapshot.
    dbapi_connection.isolation_level = None
    if isinstance(dbapi_connection, writelock.Connection):
        dbapi_connection.write_lock = write_lock
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A write takes the write lock at BEGIN, so two writers queue instead of deadlocking when
    # both try to upgrade a read lock; they queue on the lock file first where there is one
    # (writelock), else on SQLite's busy timeout.
    if connection.get_execution_options().get("sqlite_write"):
        writelock.begin_immediate(
            connection.connection.dbapi_connection, connection.exec_driver_sql, BUSY_TIMEOUT_MS
        )
    else:
        connection.exec_driver_sql("BEGIN DEFERRED")


def file_warnings(db: str | None) -> list[str]:
    """What a user should hear about an SQLite file: readable by others."""
    path = sqlite_path(resolve_url(db))
    if path is None or not path.exists():
        return []
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        return [f"database file {path} can be read by others (mode {mode:04o}): chmod 600 {path}"]
    return []


def make_engine(
    db: str | None = None,
    *,
    foreign_keys: bool = True,
    create: bool = True,
    fair_writes: bool = True,
    **kwargs: Any,
) -> Engine:
    """An engine for ``--db`` (URL, file path or the default SQLite file).

    A new SQLite file is created with mode 0600 (in folders of mode 0700), in WAL mode with
    ``synchronous=FULL``, foreign keys on and a busy timeout. With ``create=False`` a missing
    file is refused unless it is the default file (a mistyped path must not open an empty
    station); an empty (0-byte) file is always refused. Write transactions on an SQLite file
    queue on its lock file (:mod:`monitor.store.writelock`); ``fair_writes=False`` leaves them
    to SQLite's busy handler alone (the write path before, for the benchmark).
    """
    url = resolve_url(db)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise Refused(f"--db {db!r} is not a database URL or a file path") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise Refused(f"--db: {backend} is not supported; use an SQLite file or PostgreSQL")
    path = sqlite_path(url)
    if path is not None:
        if path.is_dir():
            raise Refused(f"--db {path} is a folder: name a file")
        if path.exists() and path.stat().st_size == 0:
            raise Refused(f"database file {path} is empty (0 bytes): remove it or name a new path")
        if not path.exists() and not create and path != default_db_path().resolve():
            raise Refused(
                f"no database at {path}: check the path, or create one there with "
                "`monitor db upgrade`"
            )
        try:
            create_private_file(path)
        except OSError as error:
            raise Refused(f"cannot create database file {path}: {error.strerror}") from None
    write_lock = None
    if (
        fair_writes
        and path is not None
        and parsed.get_driver_name() == "pysqlite"
        and writelock.available()
    ):
        write_lock = writelock.WriteLock(path)
        kwargs["connect_args"] = {"factory": writelock.Connection, **kwargs.get("connect_args", {})}
    try:
        engine = create_engine(url, **kwargs)
    except ModuleNotFoundError as error:
        raise Refused(f"--db needs the Python package {error.name}") from None
    if backend == "sqlite":
        event.listen(
            engine,
            "connect",
            lambda conn, record: _sqlite_pragmas(
                conn, record, foreign_keys=foreign_keys, write_lock=write_lock
            ),
        )
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def writer(engine: Engine) -> Engine:
    """The same engine, marked so that SQLite transactions take the write lock at BEGIN."""
    return engine.execution_options(sqlite_write=True)
