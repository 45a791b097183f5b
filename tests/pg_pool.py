"""PostgreSQL test databases made ahead and emptied behind (docs/architecture.md, "Cheap
set-ups").

A test's PostgreSQL database is a ``CREATE DATABASE ... TEMPLATE`` copy: 0.1-0.5 s each on this
machine and about 0.06 s of the server's CPU, with 0.02-0.05 s more to drop it, over a thousand
times a run. Here a thread of the worker makes the next copy of each template while the test
runs, so a test does not wait for one; and after the test, when the test changed nothing but rows
and sequences, the thread puts the database back as its template was (every row deleted, the
template's rows written again, every sequence set back: about 5 ms of the server's CPU) and
hands it to a later test. Anything else a test may have changed sends the database to be
dropped instead (:meth:`Databases._unchanged`). Each test still starts from what its template
holds, used by it alone.
"""

from __future__ import annotations

import itertools
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Every table and sequence outside the system's schemas, as ``(quoted name, kind)`` with kind
#: ``'r'`` or ``'S'``, by name. A partitioned table's rows are in its partitions, listed here.
USER_RELATIONS = (
    "SELECT format('%I.%I', n.nspname, c.relname), c.relkind FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'S') "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1"
)

#: How a copy is made where the server knows the option (PostgreSQL 15 and later).
FILE_COPY = "STRATEGY FILE_COPY"

#: What a database holds besides rows that a test could change, as one row: writes to its own
#: system catalogs (every CREATE, ALTER, DROP, GRANT, REVOKE, TRUNCATE, COMMENT or ANALYZE in it
#: writes some, even when rolled back), the sizes the planner reads (VACUUM and ANALYZE write
#: them in place, uncounted), its privileges and settings, and the sessions still connected to
#: it (none after :meth:`Databases._recycle` ended them).
_STATE = """
SELECT CASE WHEN current_setting('track_counts')::bool THEN
       (SELECT sum(pg_stat_get_tuples_inserted(c.oid) + pg_stat_get_tuples_updated(c.oid)
                   + pg_stat_get_tuples_deleted(c.oid))
          FROM pg_class c
         WHERE c.relnamespace IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
           AND c.relkind = 'r' AND NOT c.relisshared) END AS catalog_writes,
       (SELECT md5(string_agg(concat_ws(':', c.oid, c.relpages, c.reltuples, c.relallvisible),
                              ',' ORDER BY c.oid))
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname NOT LIKE 'pg\\_%') AS planner_sizes,
       d.datacl::text, d.datallowconn, d.datconnlimit, d.datdba,
       (SELECT array_agg(r.setrole::text || ':' || r.setconfig::text ORDER BY r.setrole)
          FROM pg_db_role_setting r WHERE r.setdatabase = d.oid) AS settings,
       (SELECT count(*) FROM pg_stat_get_activity(NULL) a
         WHERE a.datid = d.oid AND a.pid <> pg_backend_pid()) AS others
  FROM pg_database d WHERE d.datname = current_database()
"""


@dataclass(frozen=True)
class Contents:
    """A template's rows (binary COPY data, by table) and sequences (last value, called)."""

    tables: dict[str, bytes]
    sequences: dict[str, tuple[int, bool]]


class Databases:
    """Copies of templates, made ahead by one thread; the used ones emptied or dropped by it.

    ``run(sql)`` runs one statement on an AUTOCOMMIT admin connection; ``connect(name)``, when
    given, opens an AUTOCOMMIT psycopg connection to database ``name`` (without it, a used
    database is always dropped)."""

    def __init__(
        self, run: Callable[[str], None], connect: Callable[[str], Any] | None = None
    ) -> None:
        self._run = run
        self._connect = connect
        self._ready: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        #: (order, number, kind, what): copies first (a test may wait for one), then the rest.
        self._jobs: queue.PriorityQueue[tuple[int, int, str, str]] = queue.PriorityQueue()
        self._numbers = itertools.count()
        self._pending: dict[str, int] = {}
        self._idle = threading.Condition(self._lock)
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._kept: list[str] = []
        self._file_copy = True
        #: A database handed to a test -> the template it holds the rows of.
        self._origin: dict[str, str] = {}
        #: A template -> its rows and sequences, read from its first copy.
        self._contents: dict[str, Contents] = {}
        #: A database put back -> its :data:`_STATE` then.
        self._state: dict[str, tuple] = {}
        #: A template -> the :data:`_STATE` of its first copy, before anyone used it.
        self._fresh: dict[str, tuple] = {}
        #: How the used databases went: put back, or dropped (and why).
        self.tally: dict[str, int] = {}

    def take(self, template: str) -> str:
        """A fresh copy of ``template``, or a database put back to hold what it holds: one
        made ahead, or made now."""
        with self._lock:
            ready = self._ready.setdefault(template, [])
            name = ready.pop() if ready else None
            coming = len(ready) + self._pending.get("create" + template, 0)
            coming += sum(1 for t in self._origin.values() if t == template)
        if name is None:
            name = self._create(template)
        with self._lock:
            self._origin[name] = template
        if not coming:  # none ready, being made or in use to be put back: one more ahead
            self._order("create", template)
        return name

    def give_back(self, name: str) -> None:
        """``name`` is used: put it back or drop it (in the thread)."""
        self._order("recycle", name)

    def forget(self, template: str) -> None:
        """Before ``template`` is dropped: wait for its copies in the making, drop the unused."""
        self.wait()
        with self._lock:
            unused = self._ready.pop(template, [])
            self._contents.pop(template, None)
            self._fresh.pop(template, None)
        for name in unused:
            self._drop(name)

    def keep(self, source: str) -> str | None:
        """A template copied from database ``source`` now, dropped at :meth:`close`; None when
        ``source`` is in use (PostgreSQL copies only a database no one is connected to)."""
        from sqlalchemy.exc import DBAPIError

        name = f"monitor_built_{uuid.uuid4().hex[:12]}"
        try:
            self._copy(name, source)
        except DBAPIError:
            return None
        self._kept.append(name)
        return name

    def replace(self, name: str, template: str) -> None:
        """Database ``name`` becomes a fresh copy of ``template`` under the same name (those
        connected to it are disconnected): a copy made ahead (after the first), renamed. The
        database it was goes to be put back under another name."""
        fresh = self.take(template)
        spare = f"monitor_test_{uuid.uuid4().hex[:12]}"
        self._run(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
            f"WHERE datname = '{name}'"
        )
        self._run(f'ALTER DATABASE "{name}" RENAME TO "{spare}"')
        with self._lock:
            for old, new in ((name, spare), (fresh, name)):
                if old in self._origin:
                    self._origin[new] = self._origin.pop(old)
                if old in self._state:
                    self._state[new] = self._state.pop(old)
        self._run(f'ALTER DATABASE "{fresh}" RENAME TO "{name}"')
        self._order("recycle", spare)

    def close(self) -> None:
        """Every job done, the copies made ahead and not used dropped, then the templates
        :meth:`keep` made."""
        self.wait()
        with self._lock:
            unused = [name for names in self._ready.values() for name in names]
            self._ready.clear()
        for name in unused:
            self._drop(name)
        while self._kept:
            self._drop(self._kept.pop())

    def wait(self) -> None:
        """Until every job ordered so far is done."""
        with self._idle:
            self._idle.wait_for(lambda: not self._pending)

    # -- the thread ---------------------------------------------------------------------------

    def _order(self, kind: str, what: str) -> None:
        if self._failure is not None:
            raise RuntimeError("making test databases ahead failed") from self._failure
        with self._lock:
            self._pending[kind + what] = self._pending.get(kind + what, 0) + 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="pg-pool", daemon=True)
                self._thread.start()
        self._jobs.put((kind != "create", next(self._numbers), kind, what))

    def _work(self) -> None:
        while True:
            _, _, kind, what = self._jobs.get()
            try:
                if kind == "recycle":
                    self._recycle(what)
                else:
                    name = self._create(what)
                    with self._lock:
                        self._ready.setdefault(what, []).append(name)
            except BaseException as error:  # told to the next test that asks (see _order)
                self._failure = error
            finally:
                with self._idle:
                    key = kind + what
                    self._pending[key] -= 1
                    if not self._pending[key]:
                        del self._pending[key]
                    self._idle.notify_all()

    def _create(self, template: str) -> str:
        self._count("created")
        name = f"monitor_test_{uuid.uuid4().hex[:12]}"
        self._copy(name, template)
        if self._connect is not None and template not in self._contents:
            contents, state = self._read(name)  # the first copy, before anyone used it
            if state[0] is None:  # the server counts no writes: none can be seen, none put back
                self._connect = None
                return name
            with self._lock:
                self._contents.setdefault(template, contents)
                self._fresh.setdefault(template, state)
        return name

    def _copy(self, name: str, template: str) -> None:
        """``CREATE DATABASE name`` as a copy of ``template``, file by file where the server
        can (PostgreSQL 15 and later): its default copies a template through the write-ahead
        log, 9 MB of log per test database written again at the next checkpoint. File by file,
        a run wrote a third less and took a tenth less time (docs/architecture.md)."""
        from sqlalchemy.exc import DBAPIError

        if self._file_copy:
            try:
                self._run(f'CREATE DATABASE "{name}" TEMPLATE "{template}" {FILE_COPY}')
                return
            except DBAPIError as error:
                if "strategy" not in str(error).lower():
                    raise
                self._file_copy = False  # before PostgreSQL 15: its one way
        self._run(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def _drop(self, name: str) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _count(self, how: str) -> None:
        self.tally[how] = self.tally.get(how, 0) + 1

    def _recycle(self, name: str) -> None:
        """A used database put back as its template was, and made ready again; or dropped
        (and a fresh copy made in its place) when it may hold more than rows."""
        with self._lock:
            template = self._origin.get(name)
            contents = self._contents.get(template) if template else None
            before = self._state.pop(name, None) or self._fresh.get(template)  # type: ignore[arg-type]
        if template is None or contents is None or before is None:
            with self._lock:
                self._origin.pop(name, None)
            self._count("dropped: not a copy made here")
            return self._drop(name)
        import psycopg

        state = None
        try:
            connection = self._connect(name)  # type: ignore[misc]
            try:
                why = self._unchanged(connection, before)
                if why is None:
                    self._put_back(connection, contents)
                    state = before  # the same again: putting back writes no catalog
            finally:
                connection.close()
        except psycopg.Error as error:
            why = f"error: {type(error).__name__}"
        if why is not None:
            self._count(f"dropped: {why}")
            self._drop(name)
            fresh = self._create(template)
        else:
            self._count("put back")
        with self._lock:
            self._origin.pop(name, None)
            if why is None:
                self._state[name] = state  # type: ignore[assignment]
                self._ready.setdefault(template, []).append(name)
            else:
                self._ready.setdefault(template, []).append(fresh)

    @staticmethod
    def _unchanged(connection: Any, before: tuple) -> str | None:
        """None when the test changed nothing in the database but rows and sequences, after
        every other session on it is ended (each writes its statistics as it ends); else what
        changed. ``before``: :data:`_STATE` when it was put back or, for a fresh copy, of its
        template's first copy before anyone used it."""
        connection.execute(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        state = tuple(connection.execute(_STATE).fetchone())
        if state[-1]:
            return "still in use"
        return None if state == before else "changed"

    @staticmethod
    def _put_back(connection: Any, contents: Contents) -> None:
        """Every table's rows deleted and the template's written again, every sequence set
        back, in one transaction; triggers (the database's refusals) are off in it, as for a
        replica's restore (``session_replication_role``)."""
        from psycopg import sql

        with connection.transaction():
            connection.execute("SET LOCAL session_replication_role = replica")
            for table, data in contents.tables.items():
                # ``table`` is quoted already (:data:`USER_RELATIONS`).
                connection.execute(sql.SQL("DELETE FROM {}").format(sql.SQL(table)))
                with connection.cursor().copy(
                    sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(sql.SQL(table))
                ) as copy:
                    copy.write(data)
            for sequence, (value, called) in contents.sequences.items():
                connection.execute("SELECT setval(%s::regclass, %s, %s)", (sequence, value, called))

    def _read(self, name: str) -> tuple[Contents, tuple]:
        """The rows and sequences of database ``name``, and its :data:`_STATE`."""
        connection = self._connect(name)  # type: ignore[misc]
        try:
            relations = connection.execute(USER_RELATIONS).fetchall()
            tables: dict[str, bytes] = {}
            sequences: dict[str, tuple[int, bool]] = {}
            for relation, kind in relations:
                if kind == "S":
                    row = connection.execute(f"SELECT last_value, is_called FROM {relation}")
                    sequences[relation] = tuple(row.fetchone())
                    continue
                data = bytearray()
                with connection.cursor().copy(f"COPY {relation} TO STDOUT (FORMAT binary)") as copy:
                    for chunk in copy:
                        data += chunk
                tables[relation] = bytes(data)
            return Contents(tables, sequences), tuple(connection.execute(_STATE).fetchone())
        finally:
            connection.close()


def runner(make_engine: Callable[[], Any]) -> Callable[[str], None]:
    """``run(sql)`` on an AUTOCOMMIT engine of ``make_engine()``, one per thread."""
    from sqlalchemy import text

    engines: dict[int, Any] = {}

    def run(sql: str) -> None:
        engine = engines.get(threading.get_ident())
        if engine is None:
            engine = engines[threading.get_ident()] = make_engine()
        with engine.connect() as connection:
            connection.execute(text(sql))

    return run
