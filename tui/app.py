"""The observation station: every patient in observation, one typed line per set of vitals.

No database call runs on the event loop: reads and writes run in thread workers that return
plain dataclasses, and one ``Worker.StateChanged`` handler turns their failures into a visible
error while the screen stays alive. Refreshes are exclusive (a newer one replaces an older
one); saves never are. Dialogs that save run their own worker and close once it succeeded.

The floor is judged again from the clock every second (statuses and countdowns advance while
the database cannot be reached); after 10 s without a successful load the station says, in
red, how old its data is, and a station clock more than 30 s off the database's is flagged.
The screens and dialogs live in their own packages (docs/station.md): :mod:`tui.floor`,
:mod:`tui.detail`, :mod:`tui.dialogs`, :mod:`tui.review`, :mod:`tui.reports`.
Nothing clinical is read or drawn before a sign-in, nor after the idle lock (:mod:`tui.lock`).
The first frame (the sign-in over an empty floor) imports none of them, nor the services: they
come in a thread right after it (:mod:`tui.opening`), each screen's module imported where it
opens (already in by then).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import DataTable, Header, Static
from textual.worker import Worker, WorkerState

from monitor.core.config import ClinicConfig
from monitor.judge import rejudge
from monitor.present.floor import FloorRow, floor
from monitor.services.base import unreachable, utc_now
from monitor.views import SessionView, UserView
from tui.collector import Collector
from tui.failures import error_message
from tui.floor.actions import FloorDialogs
from tui.floor.entry import EntryBar, EntryNote
from tui.floor.judgements import Judgements
from tui.floor.load import Handover, Loaded, load_floor
from tui.floor.pacing import ReloadPacing
from tui.floor.status import ClockWarning, StatusLine, stale_text
from tui.floor.table import FloorTable
from tui.footer import LISTED, ScreenFooter, listed_for_some, lists
from tui.inputs import Input, take_early_key
from tui.key_order import KeysInOrder
from tui.lock import Locking, quiet_crash
from tui.opening import Opening
from tui.watcher import FloorStale, Watcher

if TYPE_CHECKING:
    from monitor.services import Service
    from monitor.services.readings import Recorded
    from tui.floor.saves import PendingSave

#: Even with nothing saved, the floor is read whole this often (a change made behind the
#: services' back, such as a restored backup, shows within five minutes).
FULL_RELOAD_SECONDS = 300.0
BELL_EVERY_SECONDS = 5.0
#: How often the refresh also asks the database for its clock.
CLOCK_CHECK_EVERY_SECONDS = 30.0
HERE = Path(__file__).parent
Form = TypeVar("Form")


class StationApp(FloorDialogs, KeysInOrder, App[None]):
    """The nurses' station."""

    # No Ctrl+P command palette: its theme switch changed the alarm colours of the floor, and
    # its screenshot wrote patient data to a file (a newcomer's trial found both).
    ENABLE_COMMAND_PALETTE = False

    # Absolute, so that subclasses defined elsewhere (benchmarks, tests) find them too. Every
    # screen's sheet is read here, at start-up: a sheet read when its screen first opened made
    # Textual parse every sheet again and restyle the whole app, a 40-100 ms pause of the
    # station. (Each screen names its own sheet too; Textual reads a sheet once.)
    CSS_PATH = [
        HERE / "station.tcss",
        HERE / "dialogs" / "dialogs.tcss",
        HERE / "detail" / "detail.tcss",
        HERE / "review" / "review.tcss",
        HERE / "reports" / "desk.tcss",
        HERE / "signin.tcss",
    ]
    TITLE = "monitor"
    BINDINGS = [
        Binding("r", "record", "Record", id="record"),
        Binding("a", "acknowledge", "Ack", id="acknowledge"),
        Binding("e", "event", "Event", id="event"),
        Binding("n", "new_session", "New", id="new_session"),
        Binding("d", "dose", "Dose", id="dose"),
        *listed_for_some("i", "infusion_end", "IV end", id="infusion_end"),
        Binding("x", "discharge", "Disch", id="discharge"),
        Binding("u", "switch_user", "User", id="switch_user"),
        # Not listed (the footer is full at 80 columns): `?` lists it, the floor marks `m?`.
        Binding("m", "monitor", "Monitor", id="monitor", show=False),
        # The footer is full at 80 columns: `v` in place of `i` for a supervisor (tui/footer.py).
        *listed_for_some("v", "review", "Review", id="review"),
        Binding("question_mark", "help", "Keys", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]
    #: The floor's keys work on the floor only (check_action): all of the above but q, and the
    #: table's Enter (the detail); Home and End are the table's own.
    FLOOR_ACTIONS = frozenset(
        {b.action.split("(")[0] for b in BINDINGS if isinstance(b, Binding) and b.action != "quit"}
    ) | {"detail"}

    user: reactive[UserView | None] = reactive(None)
    """Who is recording; everything saved carries this user."""

    def __init__(
        self,
        service: Service | Opening,
        *,
        clock: Callable[[], datetime] = utc_now,
        refresh_seconds: float = 1.0,
        flash: bool = True,
        bell: bool = True,
    ) -> None:
        """``service``: the services, or the database opened for them (:mod:`tui.opening`,
        the station's start); ``flash=False`` shows alarms steady (snapshots); ``bell=False``
        keeps quiet (tests)."""
        super().__init__()
        self.opening = service if isinstance(service, Opening) else Opening.of(service)
        self.clock = clock
        self.refresh_seconds = refresh_seconds
        self.flash = flash
        self.ring_bell = bell
        #: The latest data from the database: active sessions by id.
        self.views: dict[int, SessionView] = {}
        #: The same sessions judged again at the last redraw (what the floor shows).
        self.judged: dict[int, SessionView] = {}
        self._judgements: Judgements | None = None  # made with the rules, once they are in
        self.rows: list[FloorRow] = []
        self._collector = Collector()
        #: The station clock when the data on screen was read (None: nothing loaded yet).
        self.loaded_at: datetime | None = None
        self._opened_at = clock()
        #: How far the database clock is ahead of the station's, in seconds (None: unknown).
        self.clock_offset: float | None = None
        self._clock_checked_at = float("-inf")
        self._status = StatusLine()
        self._clock_warning = ClockWarning()
        #: The record's version the views on screen were read at, and when (monotonic).
        self._mark: int | None = None
        self._full_load_at = float("-inf")
        self._watcher = Watcher(
            self,
            lambda: self.service,
            clock,
            refresh_seconds,
            known=lambda: self._mark,
            due=self._reload_due,
        )
        #: The watcher asked for a reload while one was on its way: another follows it.
        self._stale_again = False
        #: How often a reload may start (tui/floor/pacing.py), and the wait for the next one.
        self.pacing = ReloadPacing()
        self._stale_timer: Timer | None = None
        self._floor_table: FloorTable | None = None
        self._last_bell = 0.0
        self._saves: dict[Worker[Any], PendingSave] = {}
        #: A session to put the cursor on once it appears (one just started).
        self._select_next: int | None = None
        #: Where `p` writes a session's PDF record (None: the export package's default folder).
        self.export_folder: Path | None = None
        self.locking = Locking(self, self.opening.local.idle_lock_min)

    @property
    def service(self) -> Service:
        """The services (waited for if their import, right after the first frame, is not
        done: only a worker or a signed-in user asks, and a sign-in needs them in)."""
        return self.opening.service()

    @property
    def config(self) -> ClinicConfig:
        """The clinic's rules in force with this station's settings, read once."""
        return self.opening.config()

    @property
    def judgements(self) -> Judgements:
        """The floor's sessions judged again from the clock (:mod:`tui.floor.judgements`)."""
        if self._judgements is None:
            self._judgements = Judgements(self.config)
        return self._judgements

    # -- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(icon="+")  # the floor follows once the sign-in is drawn (build_floor)

    def on_mount(self) -> None:
        self.watch_user(None)
        self.set_interval(1.0, self.tick)
        self.sign_in()
        self.call_after_refresh(self._first_frame_drawn)

    def _first_frame_drawn(self) -> None:
        """The sign-in is on screen: the floor's widgets behind it, and the services in a
        thread (tui.opening)."""
        self.build_floor()
        self.opening.start()

    def build_floor(self) -> None:
        """Mount the floor's widgets under the sign-in, hidden: nothing is read or shown
        before someone signs in (tui/lock.py). The sign-in covers the whole station, so the
        first frame does not wait for them: they come right after it, or at once when a
        sign-in is quicker."""
        if self._floor_table is not None:
            return
        self._floor_table = table = FloorTable(id="floor", flash=self.flash)
        empty = Static("No patients in observation. Press n to start a session.", id="empty")
        bar = EntryBar(lambda: self.config.thresholds, self.clock)
        for hidden in (self._status, self._clock_warning, table, empty, bar):
            hidden.display = False
        widgets = [self._status, self._clock_warning, table, empty, bar, EntryNote()]
        self.default_screen.mount_all([*widgets, ScreenFooter()])

    def _reload_due(self) -> bool:
        """(Asked from the watcher's thread.) The periodic full reload is due, or on
        PostgreSQL the database clock's half-minute check."""
        now = time.monotonic()
        return now - self._full_load_at >= FULL_RELOAD_SECONDS or (
            self.service.can_listen() and now - self._clock_checked_at >= CLOCK_CHECK_EVERY_SECONDS
        )

    @on(FloorStale)
    def _floor_stale(self) -> None:
        """Something was saved elsewhere: reload, at once on a quiet floor; under a stream,
        one reload at a time, paced (:class:`tui.floor.pacing.ReloadPacing`)."""
        if self._floor_gone() or self.user is None or self._stale_timer is not None:
            return
        if any(w.group == "refresh" and not w.is_finished for w in self.workers):
            self._stale_again = True  # after the load on its way, never in its place
            return
        if (wait := self.pacing.wait()) > 0:
            self._stale_timer = self.set_timer(wait, self._stale_wait_over)
            return
        self.refresh_floor()

    def _stale_wait_over(self) -> None:
        self._stale_timer = None
        self._floor_stale()

    def on_unmount(self) -> None:
        self._watcher.stop()
        self._collector.release()  # closed before its first load: never leave it off

    # -- users -------------------------------------------------------------------------

    def watch_user(self, user: UserView | None) -> None:
        self.sub_title = f"recording as {user.name} ({user.role})" if user else "not signed in"
        self.refresh_bindings()  # the footer's keys depend on the role

    def sign_in(self, why: str | None = None) -> None:
        """Ask who is at the station (:meth:`tui.lock.Locking.sign_in`)."""
        self.locking.sign_in(why)

    async def on_event(self, event: events.Event) -> None:
        self.locking.touched(event)  # a key, a click: someone is here (the idle lock)
        await super().on_event(event)

    def _fatal_error(self) -> None:
        quiet_crash(self)

    def action_switch_user(self) -> None:
        self.sign_in()

    def action_review(self) -> None:
        """Review mode (supervisors only): the queue of sessions to review and sign off."""
        from tui.review import FOR_SUPERVISORS
        from tui.review.queue import ReviewScreen

        if not (user := self._need_user()):
            return
        if user.role != "supervisor":
            self.notify(FOR_SUPERVISORS, severity="warning")
            return
        self.push_screen(ReviewScreen(self.service, user, clock=self.clock))

    @property
    def record_mark(self) -> int | None:
        """The record's version (the newest audit id) the floor was last read at: it moves
        with every save, here or at another station (review mode reloads on it)."""
        return self._mark

    # -- data --------------------------------------------------------------------------

    def refresh_floor(self) -> None:
        """Reload the active sessions from the database (a newer refresh replaces an older);
        every 30 s also ask the database for its clock, in the same worker (once signed in)."""
        if self.user is None:
            return
        service, clock, known, shown = self.service, self.clock, self._mark, dict(self.views)
        check_clock = time.monotonic() - self._clock_checked_at >= CLOCK_CHECK_EVERY_SECONDS
        full = time.monotonic() - self._full_load_at >= FULL_RELOAD_SECONDS
        windows = self.config.windows
        self.pacing.started(full=full or known is None)
        work = Handover(  # (a finished worker keeps what it holds until a full collection)
            lambda: load_floor(
                service,
                clock,
                known=known,
                full=full,
                check_clock=check_clock,
                shown=shown,
                windows=windows,
            )
        )
        self.run_worker(
            work,
            thread=True,
            group="refresh",
            name="refresh",
            exclusive=True,
            exit_on_error=False,
        )

    def save(
        self,
        note: str,
        action: Callable[[], Any],
        *,
        done: Callable[[], None] | None = None,
        failed: Callable[[BaseException | None], None] | None = None,
    ) -> None:
        """Run one user action through the services in a worker (never exclusive); ``done``
        and ``failed`` are told how it went, on the event loop."""
        from tui.floor.saves import PendingSave

        worker = self.run_worker(
            action, thread=True, group="save", name="save", exit_on_error=False
        )
        self._saves[worker] = PendingSave(note, done, failed)

    def saved(self, note: str) -> None:
        """A dialog saved something: say so (not over a lock: it may name a patient), reload.
        (A reading says it where it was typed: ``note`` is empty.)"""
        if self.user is not None and note:
            self.notify(note)
            self.query_one(EntryNote).clear()  # what it said may be out of date now
        self._set_status(None)
        self.refresh_floor()

    def _floor_gone(self) -> bool:
        """The floor's widgets are not there: not yet (the first frame is the sign-in), or no
        more (the station is shutting down, and a late timer or worker result has nothing
        left to draw on). (Asked every second: no DOM query.)"""
        return self._floor_table is None or not self._floor_table.is_attached

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if self._floor_gone():
            return
        worker = event.worker
        if worker.name == "refresh" and worker.is_finished:
            self.pacing.finished()
        if worker.name == "refresh" and worker.is_finished and self._stale_again:
            self._stale_again = False
            self.call_later(self._floor_stale)
        if event.state is WorkerState.SUCCESS:
            if worker.name == "refresh" and isinstance(worker.result, Handover):
                loaded = worker.result.take()
                if loaded is not None and self.user is not None:  # (dropped after a lock)
                    self._loaded(loaded)
            elif worker.name == "discharge-view" and isinstance(worker.result, SessionView):
                self._show_discharge(worker.result)
            elif worker.name == "save":
                save = self._saves.pop(worker, None)
                if save is not None and save.done:
                    save.done()
                self.saved(save.note if save is not None else "saved")
        elif event.state is WorkerState.ERROR:
            failed = self._saves.pop(worker, None)
            message = error_message(worker.error)
            if failed is not None and failed.failed:
                failed.failed(worker.error)
            if worker.name == "refresh":
                self._collector.release()  # the first load failed: it must not stay off
            if unreachable(worker.error):
                # An outage is one calm line that stays, not a toast per refresh; a save
                # that failed says "NOT saved" where it was typed.
                if self._status.outage_since is None:
                    self._status.outage_since = self.clock()
                self._set_status(None)
                if worker.name == "save" and not (failed is not None and failed.failed):
                    self.notify(f"NOT saved: {message}", severity="error", timeout=8)
                return
            if failed is not None and failed.failed:
                return  # said where it was typed, and gone with it: not the status line
            repeated = worker.name == "refresh" and message == self._status.last_error
            self._set_status(message)
            # A save that failed says so where it was typed; a toast would cover it.
            if not (failed is not None and failed.failed) and not repeated:
                self.notify(message, severity="error", timeout=8)

    def _loaded(self, loaded: Loaded) -> None:
        if loaded.views is not None:
            self._mark = loaded.mark
            fresh = {v.id: v for v in loaded.views}
            if loaded.active is None:
                self._full_load_at = time.monotonic()
                self.views = fresh
            else:  # only the changed sessions: the others as shown
                known = {**self.views, **fresh}
                self.views = {i: known[i] for i in loaded.active if i in known}
                if len(self.views) < len(loaded.active):  # (the floor was cleared meanwhile)
                    self._full_load_at = float("-inf")
                    self.call_later(self.refresh_floor)
            for view in loaded.views:
                self.judgements.loaded(view, loaded.prepared[view.id])
        self.loaded_at = loaded.at
        if loaded.clock_checked:
            self._clock_checked_at = time.monotonic()
            self.clock_offset = loaded.clock_offset
            self._clock_warning.show(self.clock_offset)
        self._collector.settle()
        status = self._status
        if status.last_error and status.last_error.startswith("database"):
            status.last_error = None
        if status.outage_since is not None:
            status.outage_since = None
            status.show(self.fresh_at)
        if loaded.views is not None:
            self.redraw()
        table = self.query_one(FloorTable)
        if self._select_next is not None and table.select(self._select_next):
            self._select_next = None

    @property
    def fresh_at(self) -> datetime | None:
        """When the data on screen was last known current: loaded, or found unchanged."""
        moments = [m for m in (self.loaded_at, self._watcher.confirmed_at) if m is not None]
        return max(moments) if moments else None

    def _set_status(self, message: str | None) -> None:
        self._status.last_error = message
        self._status.show(self.fresh_at)

    def _show_data_age(self) -> None:
        """Say how old the data is once no load has succeeded for 10 s."""
        since = self.fresh_at or self._opened_at
        stale = stale_text((self.clock() - since).total_seconds(), since, bool(self.loaded_at))
        if stale != self._status.stale:
            self._status.stale = stale
            self._status.show(self.fresh_at)

    # -- drawing -----------------------------------------------------------------------

    def tick(self) -> None:
        """Every second: judge and redraw from the clock, say how old the data is, ring while
        a high alarm is open, and make a full collection when one is due (tui/collector.py)."""
        if self._floor_gone():
            return
        pacing = self.pacing
        self._collector.tick(max(self.locking.last_input, pacing.started_at + pacing.took))
        if self.locking.tick():
            return
        self.redraw()
        self._show_data_age()
        if (
            self.ring_bell
            and any(r.high_unacknowledged for r in self.rows)
            and time.monotonic() - self._last_bell >= BELL_EVERY_SECONDS
        ):
            self._last_bell = time.monotonic()
            self.bell()

    def redraw(self) -> None:
        """Draw the floor from the latest data at the app clock's now, keeping the cursor."""
        if self._floor_gone():
            return
        table = self.query_one(FloorTable)
        now = self.clock()
        judgements = self.judgements
        self.judged = {v.id: judgements.at(v, now) for v in self.views.values()}
        table.forget(judgements.keep_only(set(self.judged)))
        self.rows = floor(list(self.judged.values()), now, basis_of=judgements.basis)
        table.draw(self.rows)
        self.query_one("#empty", Static).display = not self.rows

    def selected_id(self) -> int | None:
        """The session under the cursor, if any."""
        return self.query_one(FloorTable).selected_id()

    def selected(self) -> SessionView | None:
        """The session under the cursor: its latest data, judged at the clock's now."""
        session_id = self.selected_id()
        view = self.views.get(session_id) if session_id is not None else None
        return None if view is None else rejudge(view, self.clock(), self.config)

    # -- actions -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The floor's keys work on the floor only: not under a dialog (one dialog at a time)
        and not while the entry line is open (what is typed there is a reading)."""
        if action not in self.FLOOR_ACTIONS:
            return True
        if parameters == (LISTED,) and not lists(action, self.user.role if self.user else None):
            return False  # hidden in the footer; the key works (its unlisted twin)
        if self._floor_gone():
            return False
        return len(self.screen_stack) == 1 and not self.query_one(EntryBar).display

    async def on_key(self, event: events.Key) -> None:
        """Keys typed right after `r`, before the entry line has taken the focus (a paste, a
        barcode scanner, a fast typist), belong to the line, never to the floor: a letter is
        typed there and an editing key (Backspace, the arrows, Enter) edits it, each in its
        turn (tui/inputs.py says why the turn matters)."""
        early_key = getattr(self.screen, "early_key", None)  # a dialog (tui.dialogs.base)
        if early_key is not None:
            early_key(event)  # typed with the key that opened it
            return
        if self._floor_gone():
            return
        bar = self.query_one(EntryBar)
        if not bar.display or len(self.screen_stack) > 1:
            return
        field = bar.query_one("#entry-input", Input)
        if self.focused is not field:
            await take_early_key(field, event)

    def _need_user(self) -> UserView | None:
        if self.user is None:
            self.notify("Sign in first (u)", severity="warning")
            self.sign_in()
        return self.user

    def _need_selection(self) -> SessionView | None:
        view = self.selected()
        if view is None:
            self.notify("No patient selected", severity="warning")
        return view

    def _user_and_selection(self) -> tuple[str, SessionView] | None:
        user = self._need_user()
        view = self._need_selection() if user else None
        return (user.name, view) if user and view else None

    def action_record(self) -> None:
        if self._need_user() and (view := self._need_selection()):
            # A notice still showing ("Signed in as ...") sits over the entry line at 80x24.
            self.clear_notifications()
            self.query_one(EntryNote).clear()
            self.query_one(EntryBar).open_for(view)

    @on(EntryBar.Submitted)
    def _record(self, event: EntryBar.Submitted) -> None:
        user = self._need_user()
        bar = self.query_one(EntryBar)
        if user is None:
            bar.refused("sign in first (u)")
            return

        from tui.floor import saves

        recorded: list[Recorded] = []

        def done() -> None:
            bar.close()
            if recorded and recorded[0].served and self.user:  # (not over a lock)
                # Where the line was, under no toast: the check the reading counted for,
                # and the checks before it left not done (docs/station.md, "After a save").
                self.query_one(EntryNote).show(event.patient, recorded[0])

        # The line stays, with its key: Enter again saves it once, never twice (a retry is
        # offered only where it can succeed: EntryBar.failed).
        save = saves.reading(self.service, user.name, event, recorded)
        self.save("", save, done=done, failed=bar.failed)

    @on(EntryBar.Closed)
    def _entry_closed(self) -> None:
        self.query_one(FloorTable).focus()

    @on(DataTable.RowSelected, "#floor")
    def _row_selected(self) -> None:
        self.action_detail()


def make_app(
    db: str | None = None,
    config: ClinicConfig | None = None,
    clock: Callable[[], datetime] = utc_now,
    *,
    service: Service | None = None,
    refresh_seconds: float = 1.0,
    flash: bool = True,
    bell: bool = True,
) -> StationApp:
    """The station on ``db`` (URL, path or the default SQLite file) with ``config``."""
    if service is None:
        from monitor.services import Service

        service = Service.open(db, config, clock)
    return StationApp(service, clock=clock, refresh_seconds=refresh_seconds, flash=flash, bell=bell)
