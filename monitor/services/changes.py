"""Has anything changed? The cheap question an idle station asks instead of reloading.

Every change anyone saves is one transaction with its audit row (:mod:`monitor.services.base`),
and the database's own guards write audit rows for the transitions they allow. So the newest
audit id is a version of the whole record: a station reloads only when it moved. On PostgreSQL
an insert into the audit trail also sends a notification on :data:`CHANNEL` (migration 0006),
which :meth:`ChangeServices.listen` waits for, so that another station's save shows at once.
On SQLite, a file, nothing is pushed: :meth:`ChangeServices.commits` gives SQLite's own counter of
commits by other connections (``PRAGMA data_version``), a read of the file's shared memory that
costs a few microseconds, so that a station may look ten times a second and ask the question
only when it moved (docs/station.md, "Keeping up to date").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import func, select

from monitor.services.base import ServiceBase
from monitor.store import tables as t

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
    def commits(self) -> Iterator[Callable[[], int] | None]:
        """SQLite: a function that reads a number that moves whenever another connection has
        committed to the file (``PRAGMA data_version``; this process's own other connections
        count as others). The number is each connection's own, so it is read on one
        connection, held until the block ends: use it from one thread. ``None`` where there
        is no such counter (PostgreSQL notifies instead; an in-memory database)."""
        if self.engine.dialect.name != "sqlite" or self.engine.url.database in (
            None,
            "",
            ":memory:",
        ):
            yield None
            return
        held = self.engine.raw_connection()
        try:
            driver = held.driver_connection
            assert driver is not None  # (a connection just checked out of the pool)
            cursor = driver.cursor()

            def count() -> int:
                return int(cursor.execute("PRAGMA data_version").fetchone()[0])

            yield count
        finally:
            held.close()
