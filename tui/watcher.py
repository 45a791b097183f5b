"""The watcher: background threads that tell the station when the floor must reload.

One thread asks the database the cheap question every ``interval`` seconds (has the newest
audit id moved?) and posts :class:`FloorStale` to the app only when the floor must reload: a
change, a failure or the end of one, or a periodic reload that is due. While nothing changes the
event loop hears nothing: the data is marked fresh by a plain attribute (:attr:`confirmed_at`).

On SQLite the thread looks at SQLite's counter of commits by other connections
(:class:`monitor.services.changes.Commits`, read on the one connection it holds) whenever the
file or its log is written (Linux's inotify; elsewhere ten times an interval, every 100 ms) and
once an interval, and asks the question only when the counter moved, or once an interval while
the floor is not known to be current: a reading saved at another station shows as soon as the
floor has reloaded, and an idle station wakes once a second.
On PostgreSQL a second thread waits for the database's notification of a change and posts at
once (another station's save shows within a second); the question stays as the fallback, asked
five times less often while the notifications are heard (docs/station.md)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from textual.message import Message
from textual.message_pump import MessagePump

if TYPE_CHECKING:
    from monitor.services import Service
    from monitor.services.changes import Commits

#: How many times an interval the SQLite commit counter is looked at where no notification
#: says the file was written (every 100 ms), and the shortest time between two questions.
LOOKS_PER_INTERVAL = 10


@dataclass
class FloorStale(Message):
    """The floor must reload (posted from the watcher's threads)."""


class Watcher:
    """The threads that watch the record for the station ``target``."""

    def __init__(
        self,
        target: MessagePump,
        services: Callable[[], Service],
        clock: Callable[[], datetime],
        interval: float,
        *,
        known: Callable[[], int | None],
        due: Callable[[], bool],
    ) -> None:
        """``services`` gives the services (asked once the watcher starts: the station's are
        imported after its first frame); ``known`` says the record's version on screen;
        ``due``, whether a reload is due anyway (the periodic full reload, the database
        clock's check)."""
        self.target = target
        self.services = services
        self.clock = clock
        self.interval = interval
        self.known = known
        self.due = due
        self._stop = threading.Event()
        #: Set while this station hears the database's notifications (PostgreSQL).
        self.listening = threading.Event()
        #: When the watcher last found the data on screen still current (set from its thread).
        self.confirmed_at: datetime | None = None
        self._failing = False
        #: The SQLite file's commits, while the thread watches them.
        self._commits: Commits | None = None

    def start(self) -> None:
        """Start asking, and on PostgreSQL listening."""
        service = self.services()
        threading.Thread(
            target=self._ask, args=(service,), name="monitor-watch", daemon=True
        ).start()
        if service.can_listen():
            threading.Thread(
                target=self._listen, args=(service,), name="monitor-listen", daemon=True
            ).start()

    def stop(self) -> None:
        self._stop.set()
        commits = self._commits
        if commits is not None:
            commits.interrupt()  # the thread may be waiting for the file to be written

    def _stale(self) -> None:
        """From a watcher thread: ask for a reload on the event loop, without waiting."""
        if self._stop.is_set():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self.target.post_message(FloorStale())

    def _ask(self, service: Service) -> None:
        with contextlib.ExitStack() as held:
            try:
                commits = held.enter_context(service.commits())
            except Exception:  # the file cannot be opened now: the question alone, each interval
                commits = None
            if commits is None:
                self._ask_each_interval(service)
                return
            self._commits = commits
            try:
                self._look_at_commits(service, commits)
            finally:
                self._commits = None

    def _ask_each_interval(self, service: Service) -> None:
        # With the database's notifications heard, the question is only the fallback.
        while not self._stop.wait(self.interval * (5 if self.listening.is_set() else 1)):
            self._question(service)

    def _look_at_commits(self, service: Service, commits: Commits) -> None:
        """SQLite: ask only when another connection has committed, or once an interval while
        the floor is not known to be current (a failure, a reload asked for and not yet in);
        otherwise, once an interval, mark it fresh and see whether a reload is due.

        The counter (a few microseconds) is looked at as soon as the file is written, and
        once an interval; without notifications, and for an interval after a write that did
        not commit yet, ten times an interval. The question, and so a reload, comes at most
        once a tenth of an interval: a station told to watch once an hour is not reloaded
        behind a dialog by every save elsewhere."""
        looked: int | None = None
        asked = questioned = time.monotonic()
        current = True  # the first load is on its way (the floor opens with it)
        try:
            looked = commits.count()
        except Exception:
            current = False
        look = self.interval / LOOKS_PER_INTERVAL
        eager_until = float("-inf")
        due = asked + (self.interval if commits.notified else look)
        while not self._stop.is_set():
            written = commits.wait(max(0.0, due - time.monotonic()))
            if self._stop.is_set():
                return
            now = time.monotonic()
            if not written and now < due:
                continue  # another file of the folder
            try:
                seen: int | None = commits.count()
            except Exception:
                seen = None
            moved = seen is None or seen != looked
            if written and not moved:
                # Written, not yet committed (SQLite syncs its log first, or a long
                # transaction): ten looks an interval for an interval.
                eager_until = now + self.interval
            eager = not commits.notified or now < eager_until
            due = now + (look if eager else self.interval)
            if not moved and current:
                if now - asked >= self.interval:
                    asked = now
                    if self.due():
                        current = False
                        self._stale()
                    else:
                        self.confirmed_at = self.clock()
                continue
            if (seen is None or not moved) and now - asked < self.interval:
                continue  # not known current, or the counter unreadable: once an interval
            if now - questioned < look:
                due = min(due, questioned + look)  # moved again this soon: a moment later
                continue
            looked, asked, questioned = seen, now, now
            current = self._question(service)

    def _question(self, service: Service) -> bool:
        """Ask whether the record moved; post :class:`FloorStale` when the floor must reload.
        Returns whether the floor is current (found unchanged, no reload due)."""
        try:
            mark = service.change_mark()
        except Exception:  # the reload it asks for says what went wrong, once
            if not self._failing:
                self._failing = True
                self._stale()
            return False
        if self._failing or mark != self.known() or self.due():
            self._failing = False
            self._stale()
            return False
        self.confirmed_at = self.clock()
        return True

    def _listen(self, service: Service) -> None:
        try:
            service.listen(self._stale, self._stop, ready=self.listening.set)
        except Exception:  # a lost connection: the watcher's question remains, each second
            self.listening.clear()
