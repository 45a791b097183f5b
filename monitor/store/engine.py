"""The engine factory: SQLite by default, PostgreSQL by URL (docs/storage.md, "Databases").

An engine is made at start-up by the caller, never at import.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from monitor.errors import Refused
from monitor.store import writelock

DB_ENV = "MONITOR_DB"
APP_NAME = "monitor"
#: SQLite's busy timeout: how long a statement waits for a lock another connection holds.
BUSY_TIMEOUT_MS = 30_000

#: How long a PostgreSQL statement waits for a lock another connection holds before it gives
#: up with "the database is busy: try again" (a station holding ``SELECT ... FOR UPDATE`` must
#: not hang every other one).
LOCK_TIMEOUT = "5s"
#: The longest one PostgreSQL statement may run. Exports and the history stream in batches,
#: each a statement of its own; the slowest statement of a 10,000-session export took well
#: under a second (docs/storage.md, "Timeouts, read-only files and db check").
STATEMENT_TIMEOUT = "60s"
#: A transaction left open and idle this long is ended by the server (a stuck client must not
#: keep its row locks); a reader that pauses a stream longer loses its connection.
IDLE_IN_TRANSACTION_TIMEOUT = "10min"
#: Seconds a new PostgreSQL connection may take to be made: a server that cannot be reached
#: (its packets dropped) is an error in this long, not in the system's TCP timeout of minutes
#: (docs/storage.md, "Timeouts, read-only files and db check").
CONNECT_TIMEOUT = "10"

#: Settings every PostgreSQL connection sends in its startup packet (libpq ``options``). A
#: setting given there takes precedence over ``ALTER ROLE ... SET`` and ``ALTER DATABASE ...
#: SET``, so a station role that sets itself read-only, a one-millisecond timeout or another
#: date style cannot stop the other stations (docs/storage.md, "Timeouts, read-only files and
#: db check"). A setting the URL's own ``options`` or ``PGOPTIONS`` gives is kept instead: the
#: operator's word is the last.
PG_SETTINGS: dict[str, str] = {
    "lock_timeout": LOCK_TIMEOUT,
    "statement_timeout": STATEMENT_TIMEOUT,
    "idle_in_transaction_session_timeout": IDLE_IN_TRANSACTION_TIMEOUT,
    "idle_session_timeout": "0",
    "default_transaction_read_only": "off",
    "default_transaction_isolation": "read committed",
    "default_transaction_deferrable": "off",
    "search_path": "public",
    "synchronous_commit": "on",
    "row_security": "on",
    "standard_conforming_strings": "on",
    "client_encoding": "UTF8",
    "datestyle": "ISO",
    "intervalstyle": "postgres",
    "bytea_output": "hex",
}


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


class DatabaseUnusable(Exception):  # noqa: N818 - says what the database is
    """A database file this process cannot use as it stands (its message says why and what
    to do). The command line exits 1, as for any database that cannot be used."""


class DatabaseReadOnly(DatabaseUnusable):
    """A write to a database this process can only read (an SQLite file or folder without
    write permission): nothing was saved."""


def _split_options(options: str) -> list[str]:
    """libpq's ``options`` as the server splits them: on spaces, a backslash escaping the
    next character (PostgreSQL's ``pg_split_opts``)."""
    words: list[str] = []
    word: list[str] = []
    escaped = False
    for char in options:
        if escaped:
            word.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char.isspace():
            if word:
                words.append("".join(word))
            word = []
        else:
            word.append(char)
    if word:
        words.append("".join(word))
    return words


def _named_settings(options: str) -> set[str]:
    """The settings ``options`` gives (``-c name=value``, ``-cname=value``, ``--name=value``),
    as the server names them (lower case, ``-`` read as ``_``)."""
    names = set()
    words = _split_options(options)
    for index, word in enumerate(words):
        setting = None
        if word == "-c" and index + 1 < len(words):
            setting = words[index + 1]
        elif word.startswith(("-c", "--")) and len(word) > 2:
            setting = word[2:]  # "-cname=value" or "--name=value"
        if setting and "=" in setting:
            names.add(setting.split("=", 1)[0].strip().lower().replace("-", "_"))
    return names


def pg_options(given: str = "") -> str:
    """libpq ``options`` with every :data:`PG_SETTINGS` that ``given`` does not name, then
    ``given`` itself; applying it twice changes nothing (the URL carries it along)."""
    named = _named_settings(given)
    ours = [
        "-c " + f"{name}={value}".replace("\\", "\\\\").replace(" ", "\\ ")
        for name, value in PG_SETTINGS.items()
        if name not in named
    ]
    return " ".join([*ours, given.strip()]).strip()


def _with_pg_settings(url: URL) -> URL:
    """The URL with :func:`pg_options` in its ``options``, so that every connection made from
    it (the engine's, the listener of :mod:`monitor.services.changes`, Alembic's) sends them;
    ``PGOPTIONS``, which libpq ignores once ``options`` is given, is kept in them; and
    :data:`CONNECT_TIMEOUT` unless the URL or ``PGCONNECT_TIMEOUT`` gives one."""
    given = url.query.get("options", "")
    if not isinstance(given, str):
        given = " ".join(given)
    environment = os.environ.get("PGOPTIONS", "")
    if environment and environment not in given:
        given = f"{environment} {given}".strip()
    query = {"options": pg_options(given)}
    if "connect_timeout" not in url.query and not os.environ.get("PGCONNECT_TIMEOUT"):
        query["connect_timeout"] = CONNECT_TIMEOUT
    return url.update_query_dict(query)


def side_files(path: Path) -> tuple[Path, Path]:
    """SQLite's write-ahead log and its shared-memory index beside ``path``."""
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def read_only_reason(path: Path) -> str | None:
    """Why this process can only read the SQLite file ``path`` (``None``: it can write it).

    SQLite in WAL mode writes two side files beside the database even to read it: a reader
    needs them present and writable, or a folder where it can create them."""
    if not os.access(path, os.W_OK):
        return f"no write permission on {path}"
    folder_writable = os.access(path.parent, os.W_OK | os.X_OK)
    for side in side_files(path):
        if side.exists():
            if not os.access(side, os.R_OK | os.W_OK):
                return f"no write permission on {side}"
        elif not folder_writable:
            return f"no write permission on its folder {path.parent}"
    return None


def _sqlite_read_only_uri(path: Path) -> str:
    """The URI that opens ``path`` read-only: ``mode=ro`` where SQLite can use or create the
    side files; ``immutable=1`` (no locks, no side files) where it can do neither and there is
    no write-ahead log to read, since then no writer can be at work either. A log holding
    changes that cannot be read is refused rather than left out silently."""
    wal, shm = side_files(path)
    query = "mode=ro"
    folder_writable = os.access(path.parent, os.W_OK | os.X_OK)
    for side in (wal, shm):
        if side.exists() and not os.access(side, os.R_OK):
            raise DatabaseUnusable(
                f"the database {path} cannot be read here: its side file {side.name} (kept "
                "while a station has it open) cannot be read by this user; ask its owner for "
                "read permission on it, or read it as its owner"
            )
    if not shm.exists() and not folder_writable:
        if wal.exists() and wal.stat().st_size > 0:
            raise DatabaseUnusable(
                f"the database {path} can only be read, and its write-ahead log {wal.name} "
                "holds changes that need a side file its folder cannot take: open it once "
                "as a user who can write its folder"
            )
        query += "&immutable=1"
    return f"file:{quote(str(path))}?{query}"


def _sqlite_connect(path: Path, record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
    # Decided at each connection: the file's permissions may change while a station runs.
    reason = read_only_reason(path)
    record.info["read_only"] = reason
    if reason is not None:
        cargs[:] = [_sqlite_read_only_uri(path)]
        cparams["uri"] = True


def _wal_wanted(cursor: Any) -> bool:
    """Whether to switch this file to WAL: a new (empty) file or a monitor database not in
    WAL yet; never another application's database, which opening it must leave as it is."""
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return False
    if cursor.execute("PRAGMA page_count").fetchone()[0] == 0:
        return True
    found = cursor.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    return found is not None


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
    if _record.info.get("read_only") is None and _wal_wanted(cursor):
        cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A write takes the write lock at BEGIN, so two writers queue instead of deadlocking when
    # both try to upgrade a read lock; they queue on the lock file first where there is one
    # (writelock), else on SQLite's busy timeout.
    if connection.get_execution_options().get("sqlite_write"):
        reason = connection.connection.info.get("read_only")
        if reason is not None:
            raise DatabaseReadOnly(
                f"the database is read-only here ({reason}): nothing was saved; ask for write "
                "permission, or work on a station that has it"
            )
        writelock.begin_immediate(
            connection.connection.dbapi_connection, connection.exec_driver_sql, BUSY_TIMEOUT_MS
        )
    else:
        connection.exec_driver_sql("BEGIN DEFERRED")


def file_state(path: Path) -> os.stat_result | None:
    """The status of the file at ``path``, ``None`` when there is none; refused in one line
    when it cannot even be looked at (a folder on the way this user may not enter)."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        raise Refused(
            f"cannot reach the database file {path}: {error.strerror}; check the permissions "
            "of the folders on its path"
        ) from None


def file_warnings(db: str | None) -> list[str]:
    """What a user should hear about an SQLite file: readable by others."""
    path = sqlite_path(resolve_url(db))
    state = None if path is None else file_state(path)
    if path is None or state is None or not stat.S_ISREG(state.st_mode):
        return []
    mode = state.st_mode & 0o777
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
        state = file_state(path)
        if state is not None and stat.S_ISDIR(state.st_mode):
            raise Refused(f"--db {path} is a folder: name a file")
        if state is not None and not stat.S_ISREG(state.st_mode):
            raise Refused(f"--db {path} is not a regular file (a device, FIFO or socket)")
        if state is not None and state.st_size == 0:
            raise Refused(f"database file {path} is empty (0 bytes): remove it or name a new path")
        if state is None and not create and path != default_db_path().resolve():
            raise Refused(
                f"no database at {path}: check the path, or create one there with "
                "`monitor db upgrade`"
            )
        if state is None:
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
    target: str | URL = url
    if backend == "postgresql":
        target = _with_pg_settings(parsed)
    try:
        engine = create_engine(target, **kwargs)
    except ModuleNotFoundError as error:
        raise Refused(f"--db needs the Python package {error.name}") from None
    if path is not None:
        event.listen(
            engine,
            "do_connect",
            lambda dialect, record, cargs, cparams: _sqlite_connect(path, record, cargs, cparams),
        )
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


# -- what a database failure means ---------------------------------------------------------

#: SQLite's primary result codes (``sqlite3.Error.sqlite_errorcode & 0xFF``) that say what
#: happened to the file.
_SQLITE_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_SQLITE_READONLY = 8
_SQLITE_CORRUPT = 11
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26
#: PostgreSQL's SQLSTATEs of a statement that gave up on another connection: "try again".
_PG_BUSY = {
    "55P03": "another connection holds a lock it needs",  # lock_not_available: lock_timeout
    "57014": "a statement ran past the statement timeout",  # query_canceled
    "40P01": "a deadlock with another connection",
    "40001": "a conflicting change by another connection",  # serialization_failure
}
#: ... and of a connection the server ended (terminated, shut down, idle in a transaction,
#: lost); a connection never made (08001) is "cannot be used" with the driver's reason.
_PG_ENDED = {"57P01", "57P02", "57P03", "25P03", "08003", "08006"}


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0].strip() if lines else type(error).__name__


def failure_message(error: BaseException) -> str | None:
    """What a database failure means, as one line a user can act on, or ``None`` when
    ``error`` is not one. Each is "the database cannot be used" in the contract's terms
    (docs/interface.md: exit status 1): busy (a lock or statement timeout: try again), the
    connection ended, read-only, not a database, damaged, or unreachable."""
    if isinstance(error, DatabaseUnusable):
        return str(error)
    if not isinstance(error, DBAPIError):
        return None
    cause = error.orig if error.orig is not None else error
    detail = _first_line(cause)
    sqlstate = getattr(cause, "sqlstate", None) or ""
    code = getattr(cause, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if sqlstate in _PG_BUSY:
        return f"the database is busy ({_PG_BUSY[sqlstate]}: {detail}): try again"
    if primary in _SQLITE_BUSY:
        return f"the database is busy (another station is writing: {detail}): try again"
    if sqlstate in _PG_ENDED or error.connection_invalidated:
        return f"the database cannot be used: the connection was ended ({detail}): try again"
    if sqlstate == "25006" or primary == _SQLITE_READONLY:
        return f"the database is read-only here ({detail}): nothing was saved"
    if primary == _SQLITE_NOTADB:
        return f"the database cannot be used: the file is not an SQLite database ({detail})"
    if primary == _SQLITE_CANTOPEN:
        return (
            f"the database cannot be used: the file or its side files (-wal, -shm) cannot be "
            f"opened ({detail}): check that this user may read them"
        )
    if primary == _SQLITE_CORRUPT:
        return (
            f"the database cannot be used: the file is damaged ({detail}): restore it from a "
            "backup (`monitor db upgrade` leaves one beside it)"
        )
    if isinstance(error, OperationalError) and "timeout expired" in detail:
        return (
            f"the database cannot be used: the server did not answer in time ({detail}): "
            "check that it runs and can be reached from here, then try again"
        )
    if isinstance(error, OperationalError):
        return f"the database cannot be used: {detail}"
    return f"the database refused: {detail}"
