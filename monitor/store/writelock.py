"""SQLite writers queue on a lock file beside the database (``monitor.db-writelock``).

SQLite's busy handler is unfair: a writer that finds the file locked sleeps and polls, its
sleeps growing to 100 ms, so a writer that has waited long keeps missing the moments the lock
is free while newcomers take it (with 8 writers the worst save waited 2.2-2.7 s). Here a
write transaction first takes an exclusive ``flock()`` on the lock file and only then runs
``BEGIN IMMEDIATE``; the lock is released once COMMIT or ROLLBACK has returned. A writer
waiting in ``flock()`` is woken by the kernel the moment the lock is released, and SQLite's
own lock is then free, so the busy handler is not needed between monitor writers.

- Each transaction opens the lock file anew: ``flock()`` treats every open file description as
  its own owner, so threads of one process queue on the same kernel lock as other processes.
- The lock is released on every path: commit, rollback and close of the connection (each
  releases after SQLite has finished), the connection being garbage collected, and the
  process dying (the kernel drops a dead process's locks).
- The wait is bounded (:data:`WAIT_S`, SQLite's busy timeout): a writer stuck while holding
  the lock cannot hang the others. After it, the writer tries SQLite's lock once, without
  waiting, and reports "database is locked" as before if that fails.
- The lock only orders monitor's writers; SQLite's lock still protects the file. Where the
  lock file cannot be used (no ``fcntl`` on this system, a folder that cannot be written),
  writes fall back to SQLite's busy handler alone.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not a POSIX system: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

#: How long a writer waits for the lock file, in seconds (SQLite's busy timeout).
WAIT_S = 30.0

SUFFIX = "-writelock"


def available() -> bool:
    """True where ``flock()`` exists (POSIX)."""
    return fcntl is not None


def lock_path(database: Path) -> Path:
    """The lock file of an SQLite database file."""
    return database.with_name(database.name + SUFFIX)


class _Wait:
    """A blocking ``flock()`` in a helper thread, so that the waiter can give up in time.

    A waiter that gives up leaves the descriptor to the helper, which closes it (and so
    releases the lock) once it gets the lock.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.done = threading.Event()
        self.mutex = threading.Lock()
        self.abandoned = False
        self.failed = False

    def run(self) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError:
            self.failed = True
        with self.mutex:
            if self.abandoned:
                WriteLock.release(self.fd)
                return
            self.done.set()

    def result(self, timeout: float) -> bool | None:
        """True: locked; False: the lock cannot be used; None: not within ``timeout``."""
        if self.done.wait(timeout):
            return not self.failed
        with self.mutex:
            if self.done.is_set():
                return not self.failed
            self.abandoned = True
            return None

    def give_up(self) -> None:
        """The waiter was interrupted: release the lock if it came, else leave it to the
        helper."""
        with self.mutex:
            if not self.done.is_set():
                self.abandoned = True
                return
        WriteLock.release(self.fd)


class WriteLock:
    """The lock file of one SQLite database."""

    def __init__(self, database: Path, wait_s: float | None = None) -> None:
        self.path = lock_path(database)
        self.wait_s = WAIT_S if wait_s is None else wait_s

    def acquire(self) -> tuple[int | None, bool]:
        """Wait for the lock: ``(fd, waited_out)``. ``fd`` is the held descriptor, or ``None``
        when the lock file cannot be used or the wait ran out (``waited_out``)."""
        if fcntl is None:
            return None, False
        try:
            # Created 0600 like the database, on the first write (a reader never makes it).
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            return None, False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd, False
        except BlockingIOError:
            pass
        except OSError:
            os.close(fd)
            return None, False
        wait = _Wait(fd)
        threading.Thread(target=wait.run, name="monitor-writelock", daemon=True).start()
        try:
            locked = wait.result(self.wait_s)
        except BaseException:  # interrupted (Ctrl-C): nobody may be left holding the lock
            wait.give_up()
            raise
        if locked is None:  # the helper owns the descriptor now
            return None, True
        if not locked:
            os.close(fd)
            return None, False
        return fd, False

    @staticmethod
    def release(fd: int) -> None:
        """Release the lock and close its descriptor.

        Unlocked before closing: a child forked meanwhile shares the open file description,
        and closing alone would leave the lock held until the child closes it too.
        """
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


class Connection(sqlite3.Connection):
    """An SQLite connection that holds the write lock from before BEGIN IMMEDIATE until its
    COMMIT or ROLLBACK has returned (or it closes)."""

    #: The database's write lock, set when the engine connects (``None``: no queue).
    write_lock: WriteLock | None = None
    _held: int | None = None

    def queue_for_write(self) -> bool:
        """Wait for the write lock; False only when the wait ran out (the caller then tries
        SQLite's lock without waiting)."""
        if self.write_lock is None:
            return True
        self.release_write_lock()  # a lock left from a transaction that never ended
        fd, waited_out = self.write_lock.acquire()
        self._held = fd
        return not waited_out

    def release_write_lock(self) -> None:
        """Release the write lock if this connection holds it."""
        fd, self._held = self._held, None
        if fd is not None:
            WriteLock.release(fd)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_write_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_write_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_write_lock()

    def __del__(self) -> None:
        # Garbage collected mid-transaction; at interpreter exit the kernel releases anyway.
        with contextlib.suppress(Exception):
            self.release_write_lock()


def begin_immediate(dbapi_connection: Any, execute: Any, busy_timeout_ms: int) -> None:
    """``BEGIN IMMEDIATE`` through ``execute`` once this connection holds the write lock;
    the lock is released again if BEGIN fails."""
    if not isinstance(dbapi_connection, Connection) or dbapi_connection.write_lock is None:
        execute("BEGIN IMMEDIATE")
        return
    try:
        if dbapi_connection.queue_for_write():
            execute("BEGIN IMMEDIATE")
            return
        # The holder has kept the lock for the whole wait: try SQLite's lock once, at once.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 0")
        try:
            execute("BEGIN IMMEDIATE")
        finally:
            cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            cursor.close()
    except BaseException:
        dbapi_connection.release_write_lock()
        raise
