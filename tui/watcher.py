"""The watcher: background threads that tell the station when the floor must reload.

One thread asks the database the cheap question every ``interval`` seconds (has the newest
audit id moved?) and posts :class:`FloorStale` to the app only when the floor must reload: a
change, a failure or the end of one, or a periodic reload that is due. While nothing changes the
event loop hears nothing: the data is marked fresh by a plain attribute (:attr:`confirmed_at`).

On SQLite the thread looks ten times an interval (every 100 ms) at SQLite's counter of commits
by other connections (:meth:`monitor.services.changes.ChangeServices.commits`, read on the one
connection it holds) and asks the question only when the counter moved, or once an interval
while the floor is not known to be current: a reading saved at another station shows within a
quarter of a second, and an idle station reads a few bytes of shared memory.
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

#: How many times an interval the SQLite commit counter is looked at (every 100 ms: the
#: floor's reload after a change takes about as long again).
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

    def _stale(self) -> None:
        """From a watcher thread: ask for a reload on the event loop, without waiting."""
        if self._stop.is_set():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self.target.post_message(FloorStale())

    def _ask(self, service: Service) -> None:
        with contextlib.ExitStack() as held:
            try:
                count = held.enter_context(service.commits())
            except Exception:  # the file cannot be opened now: the question alone, each interval
                count = None
            if count is None:
                self._ask_each_interval(service)
            else:
                self._look_at_commits(service, count)

    def _ask_each_interval(self, service: Service) -> None:
        # With the database's notifications heard, the question is only the fallback.
        while not self._stop.wait(self.interval * (5 if self.listening.is_set() else 1)):
            self._question(service)

    def _look_at_commits(self, service: Service, count: Callable[[], int]) -> None:
        """SQLite: ask only when another connection has committed, or once an interval while
        the floor is not known to be current (a failure, a reload asked for and not yet in);
        otherwise, once an interval, mark it fresh and see whether a reload is due."""
        looked: int | None = None
        asked = time.monotonic()
        current = True  # the first load is on its way (the floor opens with it)
        try:
            looked = count()
        except Exception:
            current = False
        while not self._stop.wait(self.interval / LOOKS_PER_INTERVAL):
            try:
                seen: int | None = count()
            except Exception:
                seen = None
            now = time.monotonic()
            moved = seen is None or seen != looked
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
            looked, asked = seen, now
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
