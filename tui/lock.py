"""Who may see the floor: nobody before a sign-in, nobody once the station has locked.

The station reads and draws no patient until someone has signed in with name and PIN
(:mod:`tui.signin` lists no user either). A station left without a key, a click or a paste for
its ``idle_lock_min`` minutes locks: every screen and dialog above the floor closes unsaved,
with what was typed in it, the floor forgets its data and stops reading, and the sign-in asks
again, saying why (docs/station.md, "Signing in and locking"). A browser's station
(``monitor serve``) is the same station, so the same holds there.
"""

from __future__ import annotations

import time
from typing import Any

from textual import events
from textual.widgets import Static

from monitor.views import UserView
from tui.floor.entry import EntryBar, EntryNote
from tui.floor.table import FloorTable
from tui.inputs import Input
from tui.signin import SignInScreen

#: What counts as someone at the station: each of these restarts the idle time.
ACTIVITY = (
    events.Key,
    events.MouseDown,
    events.MouseScrollDown,
    events.MouseScrollUp,
    events.Paste,
)


class Locking:
    """The station's sign-in and idle lock (the app holds one, as ``app.locking``)."""

    def __init__(self, app: Any, idle_lock_min: int) -> None:
        """``app`` is the station (:class:`tui.app.StationApp`, not imported: it imports
        this module)."""
        self.app = app
        #: Seconds without a key before the station locks (the station's ``idle_lock_min``).
        self.idle_seconds = 60.0 * idle_lock_min
        #: When the last key (or click, scroll or paste) came in (monotonic).
        self.last_input = time.monotonic()
        self._watching = False

    def touched(self, event: events.Event) -> None:
        """An event reached the app: someone is at the station if it is a key or a click."""
        if isinstance(event, ACTIVITY):
            self.last_input = time.monotonic()

    def tick(self) -> bool:
        """Every second: lock if someone is signed in and no key came for the idle time.
        Returns whether the station is locked (nothing to draw)."""
        app = self.app
        if app.user is None:
            return True
        if time.monotonic() - self.last_input < self.idle_seconds:
            return False
        minutes = round(self.idle_seconds / 60)
        self.lock(f"Locked after {minutes} min without a key: sign in to see the floor.")
        return True

    def sign_in(self, why: str | None = None) -> None:
        """Ask who is at the station: a name and a PIN, typed. With someone signed in (a
        switch of user) Esc keeps them; the first sign-in opens the floor."""
        app = self.app

        def signed_in(user: UserView | None) -> None:
            if user is None:
                return
            first = app.user is None
            if app.user is not None and app.user.name != user.name:
                self._sign_out(app.user.name)  # the one before no longer acts here
            app.user = user
            self.last_input = time.monotonic()
            if first:
                self.open_floor()
            if user.role == "supervisor" and len(app.screen_stack) == 1:
                app.action_review()  # a supervisor comes to the station to review: its
            else:  # title says who, and a notice would cover its status line
                app.notify(f"Signed in as {user.name}")

        opening = app.opening  # (the services may still be on their way: tui.opening)
        has_users = opening.has_users if app.user is None else None
        # The names as a list only at the station's own terminal, never in a browser.
        users = None if app.is_web else self._names()

        def authenticate(name: str, pin: str) -> UserView:
            return app.service.authenticate(name, pin)  # (in a worker: waits for them)

        screen = SignInScreen(
            authenticate, app.user is not None, has_users=has_users, why=why, users=users
        )
        app.push_screen(screen, signed_in)

    def lock(self, why: str | None = None) -> None:
        """Hide everything clinical and ask who is there: every screen and dialog above the
        floor closes unsaved (what was typed in it goes, patient data with it), the floor
        forgets its data and stops reading, and the sign-in asks again."""
        app = self.app
        while len(app.screen_stack) > 1:
            app.pop_screen()
        app.user = None
        self._sign_out(None)
        self.forget_floor()
        app.clear_notifications()  # a toast may name a patient ("Session started for ...")
        self.sign_in(why)

    def _names(self) -> list[UserView] | None:
        """The users to offer as a list; none when the database cannot say (they are typed)."""
        from sqlalchemy.exc import DBAPIError

        try:
            return self.app.opening.users()
        except DBAPIError:
            return None

    def _sign_out(self, name: str | None) -> None:
        """Withdraw a sign-in (``None``: every one held here) so that no action can be taken
        in that name without a PIN again (PostgreSQL: the database forgets the token). A
        database that cannot be reached now forgets it when it expires."""
        from sqlalchemy.exc import DBAPIError

        service = self.app.service
        try:
            if name is None:
                service.sign_out_all()
            else:
                service.sign_out(name)
        except DBAPIError:
            pass

    def open_floor(self) -> None:
        """Someone signed in: show the floor, read it whole, and watch the record."""
        app = self.app
        app.build_floor()  # (when the sign-in came before the first frame was drawn)
        self.show_floor(True)
        if not self._watching:
            self._watching = True
            app._collector.hold()  # until the first load is in (StationApp._loaded)
            app._watcher.start()
        app.refresh_floor()
        app.query_one(FloorTable).focus()

    def show_floor(self, shown: bool) -> None:
        """The floor's widgets, shown (signed in) or hidden (nobody signed in)."""
        app = self.app
        app.query_one(FloorTable).display = shown
        app.query_one("#empty", Static).display = shown and not app.rows
        if shown:
            app._status.show(app.fresh_at)
            app._clock_warning.show(app.clock_offset)
        else:
            app._status.display = False
            app._clock_warning.display = False

    def forget_floor(self) -> None:
        """Drop every patient's data from the station: the floor, the entry line with what
        was typed in it, and the record's mark, so that the next sign-in reads it whole."""
        app = self.app
        bar = app.query_one(EntryBar)
        bar.query_one("#entry-input", Input).value = ""
        bar.session = None
        bar.saving = False
        bar.display = False
        app.query_one(EntryNote).clear()
        table = app.query_one(FloorTable)
        table.forget(set(app.judged) | set(app.views))
        app.views, app.judged, app.rows = {}, {}, []
        app._judgements = None  # made again, with the rules, at the next load
        table.draw([])
        app._mark = None
        app._full_load_at = float("-inf")
        app.loaded_at = None
        app._watcher.confirmed_at = None
        app._select_next = None
        status = app._status
        status.stale = status.outage_since = status.last_error = None
        self.show_floor(False)


def quiet_crash(app: Any) -> None:
    """What the station shows when it crashes: the traceback without local variables (they
    may hold a PIN or a patient's data, and ``monitor serve`` copies a station's errors to the
    server's output). Textual's own shows them."""
    from rich.segment import Segments
    from rich.traceback import Traceback

    app.bell()
    traceback = Traceback(show_locals=False, width=None)
    app._exit_renderables.append(Segments(app.console.render(traceback, app.console.options)))
    app._close_messages_no_wait()
