"""Has anything changed? The cheap question an idle station asks instead of reloading.

Every change anyone saves is one transaction with its audit row (:mod:`monitor.services.base`),
and the database's own guards write audit rows for the transitions they allow. So the newest
audit id is a version of the whole record: a station reloads only when it moved. On PostgreSQL
an insert into the audit trail also sends a notification on :data:`CHANNEL` (migration 0006),
which :meth:`ChangeServices.listen` waits for, so that another station's save shows at once.
On SQLite, a file, nothing is pushed: :meth:`ChangeServices.commits` gives SQLite's own counter of
commits by other connections (``PRAGMA data_version``), a read of the file's shared memory that
costs a few microseconds, and on Linux a notification (inotify) when the file or its log is
written, so that a station looks the moment something may have been saved and asks the question
only when the counter moved (docs/station.md, "Keeping up to date").
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from select import select as readable
from typing import Any

from sqlalchemy import func, select

from monitor.services.base import ServiceBase
from monitor.store import tables as t
from monitor.store.engine import sqlite_path
from monitor.store.writelock import lock_path

#: The PostgreSQL notification channel of changes to the record.
CHANNEL = "monitor_changes"

_NEWEST = select(func.max(t.audit_log.c.id))


class ChangeServices(ServiceBase):
    """The record's version, and notifications of new versions."""

    def change_mark(self) -> int:
        """The newest audit row's id (0 for an empty trail): it grows with every change."""
        with self.engine.connect() as connection:
            return int(connection.execute(_NEWEST).scalar() or 0)

    def can_listen(self) -> bool:
        """Whether the database pushes changes (PostgreSQL) or must be asked (SQLite)."""
        return self.engine.dialect.name == "postgresql"

    def listen(
        self,
        on_change: Callable[[], None],
        stop: threading.Event,
        ready: Callable[[], None] | None = None,
    ) -> None:
        """PostgreSQL: call ``on_change`` for each notification of a change until ``stop`` is
        set (checked every 5 s), on a connection of its own; ``ready`` once listening.
        Blocks: run it in a thread. A lost connection raises; the caller keeps asking
        :meth:`change_mark` meanwhile."""
        import psycopg

        # The engine's own connection parameters, its forced settings (``options``) included
        # (monitor.store.engine.PG_SETTINGS): a libpq URI would read their "+" literally.
        _, params = self.engine.dialect.create_connect_args(self.engine.url)
        with psycopg.connect(**params, autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            if ready is not None:
                ready()
            while not stop.is_set():
                for _ in conn.notifies(timeout=5.0, stop_after=1):
                    on_change()

    @contextmanager
    def commits(self) -> Iterator[Commits | None]:
        """SQLite: the file's commits as they happen (:class:`Commits`), read on one
        connection held until the block ends: use it from one thread. ``None`` where there is
        no such counter (PostgreSQL notifies instead; an in-memory database)."""
        path = None
        if self.engine.dialect.name == "sqlite":
            path = sqlite_path(self.engine.url.render_as_string(hide_password=False))
        if path is None:
            yield None
            return
        held = self.engine.raw_connection()
        try:
            driver = held.driver_connection
            assert driver is not None  # (a connection just checked out of the pool)
            with Commits(driver.cursor(), path) as commits:
                yield commits
        finally:
            held.close()


#: inotify's events (linux/inotify.h): a file written, closed after writing, made, or moved
#: into the folder.
_IN_MODIFY, _IN_CLOSE_WRITE, _IN_CREATE, _IN_MOVED_TO = 0x2, 0x8, 0x100, 0x80
_EVENT = struct.Struct("iIII")


def _notifier(folder: Path) -> int | None:
    """An inotify descriptor that hears the files of ``folder`` being written (Linux), or
    ``None`` where there is none (another system, no descriptor left)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fd = int(libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC))
        if fd < 0:
            return None
        mask = _IN_MODIFY | _IN_CLOSE_WRITE | _IN_CREATE | _IN_MOVED_TO
        if libc.inotify_add_watch(fd, os.fsencode(folder), mask) < 0:
            os.close(fd)
            return None
        return fd
    except (OSError, AttributeError):
        return None


class Commits:
    """An SQLite file's commits, as one thread watching it sees them.

    :meth:`count` is SQLite's counter of commits made by other connections than the one it is
    read on (``PRAGMA data_version``: a read of the file's shared memory, a few microseconds;
    this process's own other connections count as others). :meth:`wait` returns when the
    file, its write-ahead log or its write lock file may have been written (Linux: inotify on
    the folder, so an idle watcher wakes only when something happens) or after the given
    seconds; without a notifier (:attr:`notified` false) it only sleeps, and the caller looks
    more often. A commit shows in :meth:`count` only once SQLite has synced its log: a write
    to the log is heard a moment before; the write lock file (:mod:`monitor.store.writelock`)
    is closed once the commit has returned."""

    def __init__(self, cursor: Any, path: Path) -> None:
        self._cursor = cursor
        self._names = {path.name, f"{path.name}-wal", f"{path.name}-journal", lock_path(path).name}
        self._fd = _notifier(path.parent)
        #: Whether :meth:`wait` hears the file being written (else it only sleeps).
        self.notified = self._fd is not None
        # Written by :meth:`interrupt`: ends a wait at once (closed under the lock, so that
        # a late interrupt never writes to a descriptor number reused meanwhile).
        self._closing = threading.Lock()
        self._open = True
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    def __enter__(self) -> Commits:
        return self

    def __exit__(self, *exc: object) -> None:
        with self._closing:
            self._open = False
            for fd in (self._fd, self._wake_r, self._wake_w):
                if fd is not None:
                    os.close(fd)
            self._fd = None

    def interrupt(self) -> None:
        """End the current or next :meth:`wait` at once (from another thread)."""
        with self._closing, contextlib.suppress(OSError):
            if self._open:
                os.write(self._wake_w, b"!")

    def count(self) -> int:
        """A number that moves whenever another connection has committed to the file."""
        return int(self._cursor.execute("PRAGMA data_version").fetchone()[0])

    def wait(self, seconds: float) -> bool:
        """Wait until one of the database's files has been written (True) or ``seconds``
        have passed (False)."""
        watched = [self._wake_r] if self._fd is None else [self._wake_r, self._fd]
        ready, _, _ = readable(watched, [], [], seconds)
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_r, 64)
            return False
        if not ready or self._fd is None:
            return False
        written = False
        with contextlib.suppress(BlockingIOError):
            while data := os.read(self._fd, 65536):
                offset = 0
                while offset < len(data):
                    _, _, _, size = _EVENT.unpack_from(data, offset)
                    start = offset + _EVENT.size
                    name = data[start : start + size].rstrip(b"\0")
                    written = written or os.fsdecode(name) in self._names
                    offset = start + size
        return written
