"""The watcher: background threads that tell the station when the floor must reload.

One thread asks the database the cheap question every ``interval`` seconds (has the newest
audit id moved?) and posts :class:`FloorStale` to the app only when the floor must reload: a
change, a failure or the end of one, or a periodic reload that is due. While nothing changes the
event loop hears nothing: the data is marked fresh by a plain attribute (:attr:`confirmed_at`).
On PostgreSQL a second thread waits for the database's notification of a change and posts at
once (another station's save shows within a second); the question stays as the fallback, asked
five times less often while the notifications are heard (docs/station.md)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from textual.message import Message
from textual.message_pump import MessagePump

from monitor.services import Service


@dataclass
class FloorStale(Message):
    """The floor must reload (posted from the watcher's threads)."""


class Watcher:
    """The threads that watch the record for the station ``target``."""

    def __init__(
        self,
        target: MessagePump,
        service: Service,
        clock: Callable[[], datetime],
        interval: float,
        *,
        known: Callable[[], int | None],
        due: Callable[[], bool],
    ) -> None:
        """``known`` says the record's version on screen; ``due``, whether a reload is due
        anyway (the periodic full reload, the database clock's check)."""
        self.target = target
        self.service = service
        self.clock = clock
        self.interval = interval
        self.known = known
        self.due = due
        self._stop = threading.Event()
        #: Set while this station hears the database's notifications (PostgreSQL).
        self.listening = threading.Event()
        #: When the watcher last found the data on screen still current (set from its thread).
        self.confirmed_at: datetime | None = None

    def start(self) -> None:
        """Start asking, and on PostgreSQL listening."""
        threading.Thread(target=self._ask, name="monitor-watch", daemon=True).start()
        if self.service.can_listen():
            threading.Thread(target=self._listen, name="monitor-listen", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _stale(self) -> None:
        """From a watcher thread: ask for a reload on the event loop, without waiting."""
        if self._stop.is_set():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self.target.post_message(FloorStale())

    def _ask(self) -> None:
        failing = False
        # With the database's notifications heard, the question is only the fallback.
        while not self._stop.wait(self.interval * (5 if self.listening.is_set() else 1)):
            try:
                mark = self.service.change_mark()
            except Exception:  # the reload it asks for says what went wrong, once
                if not failing:
                    failing = True
                    self._stale()
                continue
            if failing or mark != self.known() or self.due():
                failing = False
                self._stale()
            else:
                self.confirmed_at = self.clock()

    def _listen(self) -> None:
        try:
            self.service.listen(self._stale, self._stop, ready=self.listening.set)
        except Exception:  # a lost connection: the watcher's question remains, each second
            self.listening.clear()
