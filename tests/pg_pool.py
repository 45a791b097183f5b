"""PostgreSQL test databases made ahead and dropped behind (docs/architecture.md, "Cheap
set-ups").

A test's PostgreSQL database is a ``CREATE DATABASE ... TEMPLATE`` copy, dropped after the test:
0.1-0.5 s each on this machine, several hundred times a run. Here a thread of the worker makes
the next copy of each template while the test runs, and drops the used ones after it, so a test
waits for neither. Each copy is still a fresh copy of the template, used by one test only.
"""

from __future__ import annotations

import itertools
import queue
import threading
import uuid
from collections.abc import Callable
from typing import Any

#: How a copy is made where the server knows the option (PostgreSQL 15 and later).
FILE_COPY = "STRATEGY FILE_COPY"


class Databases:
    """Copies of templates, made ahead by one thread; the used ones dropped by it.

    ``run(sql)`` runs one statement on an AUTOCOMMIT admin connection."""

    def __init__(self, run: Callable[[str], None]) -> None:
        self._run = run
        self._ready: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        #: (order, number, kind, what): copies first (a test may wait for one), then drops.
        self._jobs: queue.PriorityQueue[tuple[int, int, str, str]] = queue.PriorityQueue()
        self._numbers = itertools.count()
        self._pending: dict[str, int] = {}
        self._idle = threading.Condition(self._lock)
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._kept: list[str] = []
        self._file_copy = True

    def take(self, template: str) -> str:
        """A fresh copy of ``template``: one made ahead, or made now."""
        with self._lock:
            ready = self._ready.setdefault(template, [])
            name = ready.pop() if ready else None
        if name is None:
            name = self._create(template)
        self._order("create", template)
        return name

    def give_back(self, name: str) -> None:
        """``name`` is used: drop it (in the thread)."""
        self._order("drop", name)

    def forget(self, template: str) -> None:
        """Before ``template`` is dropped: wait for its copies in the making, drop the unused."""
        self.wait()
        with self._lock:
            unused = self._ready.pop(template, [])
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
        connected to it are disconnected): a copy made ahead (after the first), renamed."""
        fresh = self.take(template)
        self._drop(name)
        self._run(f'ALTER DATABASE "{fresh}" RENAME TO "{name}"')

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
        self._jobs.put((kind == "drop", next(self._numbers), kind, what))

    def _work(self) -> None:
        while True:
            _, _, kind, what = self._jobs.get()
            try:
                if kind == "drop":
                    self._drop(what)
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
        name = f"monitor_test_{uuid.uuid4().hex[:12]}"
        self._copy(name, template)
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
