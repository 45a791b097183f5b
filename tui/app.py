"""The observation station: every patient in observation, one typed line per set of vitals.

No database call runs on the event loop: reads and writes run in thread workers that return
plain dataclasses, and one ``Worker.StateChanged`` handler turns their failures into a visible
error while the screen stays alive. Refreshes are exclusive (a newer one replaces an older
one); saves never are. Dialogs that save run their own worker and close once it succeeded.

The floor is judged again from the clock every second (statuses and countdowns advance while
the database cannot be reached); after 10 s without a successful load the station says, in
red, how old its data is, and a station clock more than 30 s off the database's is flagged.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.reactive import reactive
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState

from monitor.core.config import ClinicConfig
from monitor.floor import COLUMNS, FloorRow, RowBasis, floor, row_basis
from monitor.judge import next_change, rejudge
from monitor.services import Service, unreachable, utc_now
from monitor.views import SessionView, UserView
from tui.dialogs import (
    Acknowledgement,
    AcknowledgeScreen,
    Discharge,
    DischargeScreen,
    DoseGiven,
    DoseScreen,
    EventScreen,
    InfusionEnd,
    InfusionEndScreen,
    NewEvent,
    NewSession,
    NewSessionScreen,
    error_message,
)
from tui.entry import EntryBar
from tui.inputs import Input
from tui.render import PROTOCOL_SHORT, alarm_text, hm, padded, truncate, value_text
from tui.screens import DetailScreen, HelpScreen, SignInScreen

#: (key, label, width) of the floor table; widths keep the whole row within 80 columns.
#: Each width counts the one space that separates the column from the one before.
FLOOR_COLUMNS = (
    ("alarm", "", 3),
    ("bay", "Bay", 7),
    ("patient", "Patient", 10),
    ("protocol", "Proto", 6),
    ("since", "Dose+", 5),
    ("next", "Next check", 17),
    ("bp", "BP", 8),
    ("hr", "HR", 4),
    ("spo2", "SpO2", 5),
    ("rr", "RR", 3),
    ("moaas", "M", 2),
    ("cadss", "C", 3),
    ("ready", "", 6),
)
#: Where a terminal wider than 80 columns gives its spare width: (column, at most this much).
GROWS = (("next", 8), ("patient", 8), ("bay", 6))


def floor_widths(columns: int) -> dict[str, int]:
    """The floor's column widths on a terminal ``columns`` wide: 80 columns fit the whole row,
    and a wider one lets the next check, the patient and the bay show more."""
    widths = {key: width for key, _, width in FLOOR_COLUMNS}
    spare = max(0, columns - 80)
    for key, most in GROWS:
        grow = min(most, spare)
        widths[key] += grow
        spare -= grow
    return widths


#: Even with nothing saved, the floor is read whole this often (a change made behind the
#: services' back, such as a restored backup, shows within five minutes).
FULL_RELOAD_SECONDS = 300.0
BELL_EVERY_SECONDS = 5.0
#: After this long without a successful load the station says, in red, how old its data is.
STALE_AFTER_SECONDS = 10.0
#: A station clock further than this from the database's is flagged (clinical.md, "Times").
CLOCK_TOLERANCE_SECONDS = 30.0
#: How often the refresh also asks the database for its clock.
CLOCK_CHECK_EVERY_SECONDS = 30.0
FLOOR_ACTIONS = frozenset(
    {
        "record",
        "acknowledge",
        "event",
        "detail",
        "new_session",
        "dose",
        "infusion_end",
        "discharge",
        "switch_user",
        "review",
        "help",
        "first_row",
        "last_row",
    }
)


@dataclass(frozen=True)
class Loaded:
    """What one refresh brought back from the database."""

    views: list[SessionView] | None
    #: The station clock when the data was read.
    at: datetime
    #: Whether the database clock was asked this time, and how far ahead of ours it is
    #: (``None``: a file database, no other clock).
    clock_checked: bool = False
    clock_offset: float | None = None
    #: The record's version (the newest audit id) the views were read at. ``views`` is
    #: ``None`` when it had not moved since the last load: nothing to reload.
    mark: int | None = None


def age_text(seconds: float) -> str:
    """``25 s``, ``3 min 10 s``, ``2 h 05 min``."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


class FloorTable(DataTable[Any]):
    """The floor: one row per patient. Enter opens the highlighted patient's detail, and the
    footer says so (DataTable's own Enter binding is hidden). Home and End go to the first and
    last patient. They are the table's keys, not the app's priority keys: a priority key is
    taken as it arrives, so in a burst such as `r`, `hr 70`, Home, `120/80 ` the Home moved
    the floor's cursor before the `r` had opened the entry line it was typed for."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", id="floor_detail"),
        Binding("home", "app.first_row", "First", id="first_row", show=False),
        Binding("end", "app.last_row", "Last", id="last_row", show=False),
    ]

    def on_resize(self) -> None:
        app = self.app
        if isinstance(app, StationApp):
            app.fit_floor(app.size.width)


class StationApp(App[None]):
    """The nurses' station."""

    # No Ctrl+P command palette: its theme switch changed the alarm colours of the floor, and
    # its screenshot wrote patient data to a file (a newcomer's trial found both).
    ENABLE_COMMAND_PALETTE = False

    # Absolute, so that subclasses defined elsewhere (benchmarks, tests) find it too. Review
    # mode's sheet is read here too: read when its screen first opened, it made Textual parse
    # every sheet again and restyle the whole app, a 40-100 ms pause of the station.
    CSS_PATH = [
        Path(__file__).with_name("station.tcss"),
        Path(__file__).with_name("review.tcss"),
    ]
    TITLE = "monitor"
    BINDINGS = [
        Binding("r", "record", "Record", id="record"),
        Binding("a", "acknowledge", "Ack", id="acknowledge"),
        Binding("e", "event", "Event", id="event"),
        Binding("n", "new_session", "New", id="new_session"),
        Binding("d", "dose", "Dose", id="dose"),
        Binding("i", "infusion_end", "IV end", id="infusion_end"),
        Binding("x", "discharge", "Disch", id="discharge"),
        Binding("u", "switch_user", "User", id="switch_user"),
        # Not in the footer (full at 80 columns): the help screen lists it.
        Binding("v", "review", "Review", id="review", show=False),
        Binding("question_mark", "help", "Keys", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    user: reactive[UserView | None] = reactive(None)
    """Who is recording; everything saved carries this user."""

    def __init__(
        self,
        service: Service,
        *,
        clock: Callable[[], datetime] = utc_now,
        refresh_seconds: float = 1.0,
        flash: bool = True,
        bell: bool = True,
    ) -> None:
        """``flash=False`` shows alarms steady (snapshots); ``bell=False`` keeps quiet (tests)."""
        super().__init__()
        self.service = service
        self.config: ClinicConfig = service.config
        self.clock = clock
        self.refresh_seconds = refresh_seconds
        self.flash = flash
        self.ring_bell = bell
        #: The latest data from the database: active sessions by id.
        self.views: dict[int, SessionView] = {}
        #: The same sessions judged again at the last redraw (what the floor shows).
        self.judged: dict[int, SessionView] = {}
        #: Per session: the data judged, its judgement, and until when that stands.
        self._judgements: dict[int, tuple[SessionView, SessionView, datetime | None]] = {}
        self.rows: list[FloorRow] = []
        self._gc_frozen = False
        self.last_error: str | None = None
        #: The station clock when the data on screen was read (None: nothing loaded yet).
        self.loaded_at: datetime | None = None
        self._opened_at = clock()
        #: How far the database clock is ahead of the station's, in seconds (None: unknown).
        self.clock_offset: float | None = None
        self._clock_checked_at = float("-inf")
        self._stale: str | None = None
        #: When the database was first found unreachable in the outage going on, if any.
        self._outage_since: datetime | None = None
        #: The record's version the views on screen were read at, and when (monotonic).
        self._mark: int | None = None
        self._full_load_at = float("-inf")
        self._stop_watching = threading.Event()
        #: Set while this station hears the database's notifications (PostgreSQL).
        self._listening = threading.Event()
        #: When the watcher last found the data on screen still current (set from its thread).
        self._confirmed_at: datetime | None = None
        self._floor_table: DataTable[Any] | None = None
        self._last_bell = 0.0
        self._saves: dict[Worker[Any], _Save] = {}
        #: A session to put the cursor on once it appears (one just started).
        self._select_next: int | None = None
        #: What the floor table shows now: (row key, cells) in order.
        self._drawn: list[tuple[str, list[Any]]] = []
        self._widths = floor_widths(80)
        self._cell_cache: dict[int, tuple[tuple[Any, ...], list[Any]]] = {}
        self._bases: dict[int, tuple[SessionView, RowBasis]] = {}
        #: Where `p` writes a session's PDF record (None: the export package's default folder).
        self.export_folder: Path | None = None

    # -- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(icon="+")
        yield Static(id="status")
        yield Static(id="clock-warning")
        table = FloorTable(id="floor", cursor_type="row", cell_padding=0)
        yield table
        yield Static("No patients in observation. Press n to start a session.", id="empty")
        yield EntryBar(self.config.thresholds, self.clock)
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#floor", DataTable)
        # Keep each cell's own colours under the cursor: a flagged value must stay visible.
        table.cursor_foreground_priority = "renderable"
        self._add_columns(table)
        self.query_one(EntryBar).display = False
        self.query_one("#clock-warning", Static).display = False
        self.watch_user(None)
        self._floor_table = table
        self._event_loop = asyncio.get_running_loop()
        gc.disable()  # until the first load is in (see _loaded)
        self.set_interval(1.0, self.tick)
        self.refresh_floor()
        self._watch()
        self._listen()
        self.sign_in()

    def _poke(self) -> None:
        """From another thread: ask for a refresh on the event loop, without waiting."""
        if self._stop_watching.is_set():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self._event_loop.call_soon_threadsafe(self._refresh_if_open)

    def _refresh_if_open(self) -> None:
        if not self._floor_gone():
            self.refresh_floor()

    def _watch(self) -> None:
        """A thread asks the database the cheap question every ``refresh_seconds`` (has the
        newest audit id moved?) and pokes the event loop only when the floor must reload: a
        change, a failure or the end of one, the periodic full reload, the database clock's
        half-minute check. While nothing changes the loop hears nothing: the data is marked
        fresh by a plain attribute."""
        service, clock, stop = self.service, self.clock, self._stop_watching

        def due() -> bool:
            now = time.monotonic()
            return now - self._full_load_at >= FULL_RELOAD_SECONDS or (
                service.can_listen() and now - self._clock_checked_at >= CLOCK_CHECK_EVERY_SECONDS
            )

        def run() -> None:
            failing = False
            # With the database's notifications heard, the question is only the fallback.
            while not stop.wait(self.refresh_seconds * (5 if self._listening.is_set() else 1)):
                try:
                    mark = service.change_mark()
                except Exception:  # the refresh it pokes says what went wrong, once
                    if not failing:
                        failing = True
                        self._poke()
                    continue
                if failing or mark != self._mark or due():
                    failing = False
                    self._poke()
                else:
                    self._confirmed_at = clock()

        threading.Thread(target=run, name="monitor-watch", daemon=True).start()

    def _listen(self) -> None:
        """On PostgreSQL, a thread waits for the database's notification of a change and asks
        for a refresh at once (another station's save shows within a second); the watcher's
        question stays as the fallback."""
        if not self.service.can_listen():
            return

        def run() -> None:
            try:
                self.service.listen(self._poke, self._stop_watching, ready=self._listening.set)
            except Exception:  # a lost connection: the watcher's question remains, each second
                self._listening.clear()

        threading.Thread(target=run, name="monitor-listen", daemon=True).start()

    def on_unmount(self) -> None:
        self._stop_watching.set()
        gc.enable()  # closed before its first load: never leave the process without it

    # -- users -------------------------------------------------------------------------

    def watch_user(self, user: UserView | None) -> None:
        self.sub_title = f"recording as {user.name} ({user.role})" if user else "not signed in"

    def sign_in(self) -> None:
        """Ask who is at the station (users load in a worker first)."""
        self.run_worker(
            self.service.users, thread=True, group="users", name="users", exit_on_error=False
        )

    def _show_sign_in(self, users: list[UserView]) -> None:
        def signed_in(user: UserView | None) -> None:
            if user is not None:
                self.user = user
                self.notify(f"Signed in as {user.name}")
                if user.role == "supervisor" and len(self.screen_stack) == 1:
                    self.action_review()  # a supervisor comes to the station to review

        self.push_screen(
            SignInScreen(users, self.service.authenticate, allow_cancel=self.user is not None),
            signed_in,
        )

    def action_switch_user(self) -> None:
        self.sign_in()

    def action_review(self) -> None:
        """Review mode (supervisors only): the queue of sessions to review and sign off."""
        from tui.review import FOR_SUPERVISORS, ReviewScreen

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
        every 30 s also ask the database for its clock, in the same worker."""
        service, clock = self.service, self.clock
        check_clock = time.monotonic() - self._clock_checked_at >= CLOCK_CHECK_EVERY_SECONDS

        known = self._mark
        full_due = time.monotonic() - self._full_load_at >= FULL_RELOAD_SECONDS

        def load() -> Loaded:
            # The cheap question first: has anything been saved since the last load? Read
            # before the views, so that a save in between is caught by the next question.
            mark = service.change_mark()
            views = None if mark == known and not full_due else service.active_sessions()
            at = clock()
            offset = service.clock_offset(clock()) if check_clock else None
            return Loaded(views, at, check_clock, offset, mark)

        self.run_worker(
            load,
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
        failed: Callable[[str], None] | None = None,
    ) -> None:
        """Run one user action through the services in a worker (never exclusive); ``done``
        and ``failed`` are told how it went, on the event loop."""
        worker = self.run_worker(
            action, thread=True, group="save", name="save", exit_on_error=False
        )
        self._saves[worker] = _Save(note, done, failed)

    def saved(self, note: str) -> None:
        """A dialog saved something: say so and reload."""
        self.notify(note)
        self._set_status(None)
        self.refresh_floor()

    def _floor_gone(self) -> bool:
        """The floor's widgets are gone: the station is shutting down, and a late timer or
        worker result has nothing left to draw on. (Asked every second: no DOM query.)"""
        return self._floor_table is None or not self._floor_table.is_attached

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if self._floor_gone():
            return
        worker = event.worker
        if event.state is WorkerState.SUCCESS:
            if worker.name == "refresh" and isinstance(worker.result, Loaded):
                self._loaded(worker.result)
            elif worker.name == "users":
                self._show_sign_in(worker.result or [])
            elif worker.name == "discharge-view" and isinstance(worker.result, SessionView):
                self._show_discharge(worker.result)
            elif worker.name == "save":
                save = self._saves.pop(worker, None) or _Save("saved")
                if save.done:
                    save.done()
                self.saved(save.note)
        elif event.state is WorkerState.ERROR:
            failed = self._saves.pop(worker, None)
            message = error_message(worker.error)
            if failed is not None and failed.failed:
                failed.failed(message)
            if worker.name == "refresh":
                gc.enable()  # the first load failed: the collector must not stay off
            if unreachable(worker.error):
                # An outage is one calm line that stays, not a toast per refresh; a save
                # that failed says "NOT saved" where it was typed.
                if self._outage_since is None:
                    self._outage_since = self.clock()
                self._set_status(None)
                if worker.name == "save" and not (failed is not None and failed.failed):
                    self.notify(f"NOT saved: {message}", severity="error", timeout=8)
                return
            repeated = worker.name == "refresh" and message == self.last_error
            self._set_status(message)
            # A save that failed says so where it was typed; a toast would cover it.
            if not (failed is not None and failed.failed) and not repeated:
                self.notify(message, severity="error", timeout=8)

    def _loaded(self, loaded: Loaded) -> None:
        if loaded.views is not None:
            self._mark = loaded.mark
            self._full_load_at = time.monotonic()
            self.views = {v.id: v for v in loaded.views}
            for view in loaded.views:  # judged as loaded: good until time changes them
                self._judgements[view.id] = (view, view, next_change(view, self.config.windows))
        self.loaded_at = loaded.at
        if loaded.clock_checked:
            self._clock_checked_at = time.monotonic()
            self.clock_offset = loaded.clock_offset
            self._show_clock_warning()
        if not self._gc_frozen:
            self._gc_frozen = True
            # What is loaded by now lives as long as the app: keep it out of the
            # garbage collector's way, so collections stay short while nurses type. (The
            # collector was off until now: a full collection in the middle of the first load
            # would stop the event loop for tens of milliseconds.)
            gc.freeze()
            gc.enable()
        if self.last_error and self.last_error.startswith("database"):
            self.last_error = None
        if self._outage_since is not None:
            self._outage_since = None
            self._show_status()
        if loaded.views is not None:
            self.redraw()
        if self._select_next is not None and str(self._select_next) in self._row_keys():
            table = self.query_one("#floor", DataTable)
            table.move_cursor(row=table.get_row_index(str(self._select_next)), animate=False)
            self._select_next = None

    @property
    def fresh_at(self) -> datetime | None:
        """When the data on screen was last known current: loaded, or found unchanged."""
        moments = [m for m in (self.loaded_at, self._confirmed_at) if m is not None]
        return max(moments) if moments else None

    def _row_keys(self) -> list[str]:
        return [key for key, _ in self._drawn]

    def _set_status(self, message: str | None) -> None:
        self.last_error = message
        self._show_status()

    def _show_status(self) -> None:
        """The red line under the header: how old the data is once stale, and the last error."""
        status = self.query_one("#status", Static)
        text = Text()
        if self._stale:
            text.append(self._stale, style="bold white on red")
        if self._outage_since is not None:
            since = f"database unreachable since {self._outage_since.astimezone():%H:%M:%S}"
            if self._stale:  # the red data age already says when the data is from
                text.append(since, style="bold red")
            elif self.fresh_at:
                shown = f"{self.fresh_at.astimezone():%H:%M:%S}"
                text.append(f"{since} \N{EM DASH} showing data from {shown}", style="bold red")
            else:
                text.append(f"{since} \N{EM DASH} no data loaded yet", style="bold red")
        if self.last_error:
            if text:
                text.append("  ")
            text.append(self.last_error, style="bold red")
        status.update(text)
        status.display = bool(text)

    def _show_clock_warning(self) -> None:
        warning = self.query_one("#clock-warning", Static)
        offset = self.clock_offset
        off = offset is not None and abs(offset) > CLOCK_TOLERANCE_SECONDS
        if off:
            assert offset is not None
            way = "behind" if offset > 0 else "ahead of"
            warning.update(
                Text(
                    f"Clock {age_text(abs(offset))} {way} the database's: "
                    "countdowns may be off; have it set",
                    style="bold black on yellow",
                )
            )
        warning.display = off

    def _show_data_age(self) -> None:
        """Say how old the data is once no load has succeeded for 10 s."""
        since = self.fresh_at or self._opened_at
        age = (self.clock() - since).total_seconds()
        stale = None
        if age > STALE_AFTER_SECONDS:
            stale = (
                f" DATA {age_text(age)} OLD (loaded {since.astimezone():%H:%M:%S}) "
                if self.loaded_at
                else f" NO DATA LOADED FOR {age_text(age)} "
            )
        if stale != self._stale:
            self._stale = stale
            self._show_status()

    # -- drawing -----------------------------------------------------------------------

    def tick(self) -> None:
        if self._floor_gone():
            return
        self._tick()

    def _tick(self) -> None:
        """Every second: judge and redraw from the clock, say how old the data is, and ring
        while a high alarm is open."""
        self.redraw()
        self._show_data_age()
        if (
            self.ring_bell
            and any(r.high_unacknowledged for r in self.rows)
            and time.monotonic() - self._last_bell >= BELL_EVERY_SECONDS
        ):
            self._last_bell = time.monotonic()
            self.bell()

    def _add_columns(self, table: DataTable[Any]) -> None:
        self._widths = floor_widths(self.size.width)
        for key, label, _ in FLOOR_COLUMNS:
            table.add_column(padded(label) if label else "", key=key, width=self._widths[key])

    def fit_floor(self, columns: int) -> None:
        """A wider or narrower terminal: the columns take the new width at once."""
        if self._floor_gone() or floor_widths(columns) == self._widths:
            return
        table = self.query_one("#floor", DataTable)
        if not table.columns:
            return  # not mounted yet: on_mount lays the columns out at this size
        table.clear(columns=True)
        self._add_columns(table)
        self._drawn = []
        self._redraw()

    def _cells(self, row: FloorRow) -> list[Any]:
        """The row's cells, built again only when what they show changed (every second the
        floor is judged again; most seconds nothing on a row changes)."""
        shows = (
            row.bay,
            row.patient,
            row.protocol,
            row.since_dose,
            row.next_text,
            row.overdue,
            row.ready,
            row.alarm,
            tuple(row.cells.values()),
            self.flash,
            tuple(self._widths.values()),
        )
        cached = self._cell_cache.get(row.session_id)
        if cached is not None and cached[0] == shows:
            return cached[1]
        cells = self._build_cells(row)
        self._cell_cache[row.session_id] = (shows, cells)
        return cells

    def _build_cells(self, row: FloorRow) -> list[Any]:
        next_style = "bold yellow" if row.overdue else ""
        ready = Text("ready", style="bold green") if row.ready else Text("")
        values = [value_text(row.cells[c].text, row.cells[c].severity) for c in COLUMNS]
        shown: list[str | Text] = [
            truncate(row.bay, self._widths["bay"] - 1),
            truncate(row.patient, self._widths["patient"] - 1),
            PROTOCOL_SHORT.get(row.protocol, truncate(row.protocol, 5)),
            row.since_dose,
            Text(truncate(row.next_text, self._widths["next"] - 1), style=next_style),
            *values,
            ready,
        ]
        return [alarm_text(row.alarm, self.flash), *(padded(cell) for cell in shown)]

    def redraw(self) -> None:
        if self._floor_gone():
            return
        self._redraw()

    def _redraw(self) -> None:
        """Draw the floor from the latest data at the app clock's now, keeping the cursor."""
        table = self.query_one("#floor", DataTable)
        selected = self.selected_id()
        now = self.clock()
        self.judged = {v.id: self._judged_at(v, now) for v in self.views.values()}
        for gone in set(self._judgements) - set(self.judged):
            del self._judgements[gone]
            self._cell_cache.pop(gone, None)
            self._bases.pop(gone, None)
        self.rows = floor(list(self.judged.values()), now, basis_of=self._basis)
        drawn = [(str(row.session_id), self._cells(row)) for row in self.rows]
        if [key for key, _ in drawn] == [key for key, _ in self._drawn]:
            # Same patients in the same order: touch only the cells that changed, so a
            # refresh repaints a few cells instead of the whole screen.
            for (key, cells), (_, before) in zip(drawn, self._drawn, strict=True):
                if cells is before:  # the row's cells were reused: nothing on it changed
                    continue
                for (column, _, _), new, old in zip(FLOOR_COLUMNS, cells, before, strict=True):
                    if new != old:
                        table.update_cell(key, column, new)
        else:
            table.clear()
            for key, cells in drawn:
                table.add_row(*cells, key=key)
            if selected is not None and str(selected) in table.rows:
                table.move_cursor(row=table.get_row_index(str(selected)), animate=False)
        self._drawn = drawn
        self.query_one("#empty", Static).display = not self.rows

    def _basis(self, judged: SessionView) -> RowBasis:
        """The moment-independent part of a row, kept while its judgement stands."""
        kept = self._bases.get(judged.id)
        if kept is not None and kept[0] is judged:
            return kept[1]
        basis = row_basis(judged)
        self._bases[judged.id] = (judged, basis)
        return basis

    def _judged_at(self, view: SessionView, now: datetime) -> SessionView:
        """``view`` judged at ``now``, reusing the last judgement of the same data until the
        next moment at which time alone changes it (40 sessions judged every second would
        cost the event loop 15 ms a second)."""
        cached = self._judgements.get(view.id)
        if cached is not None:
            source, judged, until = cached
            # (A view judged by the database's clock may be a moment ahead of this station's.)
            fresh = judged.as_of <= now + timedelta(seconds=2)
            if source is view and fresh and (until is None or now < until):
                return judged
        judged = rejudge(view, now, self.config)
        self._judgements[view.id] = (view, judged, next_change(judged, self.config.windows))
        return judged

    def selected_id(self) -> int | None:
        """The session under the cursor, if any."""
        table = self.query_one("#floor", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return int(key) if key is not None else None

    def selected(self) -> SessionView | None:
        """The session under the cursor: its latest data, judged at the clock's now."""
        session_id = self.selected_id()
        view = self.views.get(session_id) if session_id is not None else None
        return None if view is None else rejudge(view, self.clock(), self.config)

    # -- actions -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The floor's keys work on the floor only: not under a dialog (one dialog at a time)
        and not while the entry line is open (what is typed there is a reading)."""
        if action not in FLOOR_ACTIONS:
            return True
        return len(self.screen_stack) == 1 and not self.query_one(EntryBar).display

    async def on_key(self, event: events.Key) -> None:
        """Keys typed right after `r`, before the entry line has taken the focus (a paste, a
        barcode scanner, a fast typist), belong to the line, never to the floor: a letter is
        typed there and an editing key (Backspace, the arrows, Enter) edits it, each in its
        turn (tui/inputs.py says why the turn matters)."""
        bar = self.query_one(EntryBar)
        if not bar.display or len(self.screen_stack) > 1:
            return
        field = bar.query_one("#entry-input", Input)
        if self.focused is field:
            return
        if event.character and event.is_printable:
            field.focus()
            field.insert_text_at_cursor(event.character)
        elif editing := field._bindings.key_to_bindings.get(event.key):
            field.focus()
            for binding in editing:
                await self.run_action(binding.action, field)
        else:
            return
        event.stop()
        event.prevent_default()

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
            self.query_one(EntryBar).open_for(view)

    @on(EntryBar.Submitted)
    def _record(self, event: EntryBar.Submitted) -> None:
        user = self._need_user()
        bar = self.query_one(EntryBar)
        if user is None:
            bar.refused("sign in first (u)")
            return

        def done() -> None:
            bar.close()

        self.save(
            "Reading saved",
            lambda: self.service.record_reading(
                event.session_id,
                event.entry,
                by=user.name,
                measured_at=event.measured_at,
                key=event.key,
            ),
            done=done,
            # The line stays, with its key: Enter again saves it once, never twice.
            failed=lambda message: bar.refused(f"NOT saved: {message} (Enter tries again)"),
        )

    @on(EntryBar.Closed)
    def _entry_closed(self) -> None:
        self.query_one("#floor", DataTable).focus()

    def action_acknowledge(self) -> None:
        if not (chosen := self._user_and_selection()):
            return
        name, view = chosen
        if not view.unacknowledged() and not view.check_alarms():
            self.notify("No open flags or check alarms for this patient")
            return
        service = self.service
        done_flags: set[int] = set()
        done_checks: set[str] = set()

        def save(ack: Acknowledgement) -> None:
            # A retry after a partial failure does not repeat what was already saved.
            flags = [f for f in ack.flag_ids if f not in done_flags]
            if flags:
                service.acknowledge_many(flags, by=name, action=ack.action)
                done_flags.update(flags)
            for label in ack.check_labels:
                if label not in done_checks:
                    service.skip_check(view.id, label, by=name, reason=ack.action)
                    done_checks.add(label)

        def closed(ack: Acknowledgement | None) -> None:
            if ack is not None:
                parts = []
                if ack.flag_ids:
                    parts.append(f"{len(ack.flag_ids)} flag(s) acknowledged")
                if ack.check_labels:
                    parts.append(f"{len(ack.check_labels)} check(s) explained")
                self.saved(", ".join(parts))

        self.push_screen(AcknowledgeScreen(view, save), closed)

    def action_event(self) -> None:
        if not (chosen := self._user_and_selection()):
            return
        name, view = chosen
        service, clock = self.service, self.clock

        def save(form: NewEvent) -> None:
            at = clock() - timedelta(minutes=form.minutes_ago) if form.minutes_ago else None
            service.add_event(
                view.id,
                kind=form.kind,
                by=name,
                text=form.text,
                type=form.type,
                severity=form.severity,
                serious=form.serious,
                at=at,
            )

        def closed(form: NewEvent | None) -> None:
            if form is not None:
                what = {"adverse": "Adverse event"}.get(form.kind, form.kind.capitalize())
                self.saved(f"{what} saved for {view.patient}")

        self.push_screen(EventScreen(view, save), closed)

    def action_new_session(self) -> None:
        if not (user := self._need_user()):
            return
        name = user.name
        service = self.service
        started: list[int] = []

        def save(form: NewSession) -> None:
            started.append(
                service.start_session(
                    patient=form.patient,
                    protocol=form.protocol,
                    by=name,
                    dose_mg=form.dose_mg,
                    weight_kg=form.weight_kg,
                    age=form.age,
                    bay=form.bay,
                    lot=form.lot,
                    first_treatment=form.first_treatment,
                    dose_number=form.dose_number,
                    meds=form.meds,
                )
            )

        def closed(form: NewSession | None) -> None:
            if form is not None:
                self._select_next = started[-1] if started else None
                self.saved(f"Session started for {form.patient}: record the baseline (r)")

        self.push_screen(
            NewSessionScreen(sorted(self.config.protocols), self.config.bays, save), closed
        )

    def action_dose(self) -> None:
        if not (chosen := self._user_and_selection()):
            return
        name, view = chosen
        if view.dosed_at is not None:
            self.notify(
                f"The dose is already recorded for {view.patient} ({hm(view.dosed_at)})",
                severity="warning",
            )
            return
        service = self.service

        def save(form: DoseGiven) -> None:
            if form.override_reason:
                service.authenticate(name, form.pin or "")  # an override is signed
            service.record_dose(view.id, by=name, override_reason=form.override_reason)

        def closed(form: DoseGiven | None) -> None:
            if form is not None:
                overridden = " (dosing gate overridden)" if form.override_reason else ""
                self.saved(f"Dose recorded for {view.patient}{overridden}")

        self.push_screen(DoseScreen(view, save), closed)

    def action_infusion_end(self) -> None:
        if not (chosen := self._user_and_selection()):
            return
        name, view = chosen
        problem = None
        if view.schedule is None or view.schedule.infusion_min is None:
            problem = f"{view.patient} is not on an IV infusion"
        elif view.dosed_at is None:
            problem = "Record the start of the infusion first (d)"
        elif view.infusion_ended_at is not None:
            problem = f"The infusion end is already recorded ({hm(view.infusion_ended_at)})"
        if problem:
            self.notify(problem, severity="warning")
            return
        service, clock = self.service, self.clock

        def save(form: InfusionEnd) -> None:
            at = clock() - timedelta(minutes=form.minutes_ago) if form.minutes_ago else None
            service.record_infusion_end(view.id, by=name, at=at)

        def closed(form: InfusionEnd | None) -> None:
            if form is not None:
                self.saved(f"Infusion end recorded for {view.patient}: the checks moved")

        self.push_screen(InfusionEndScreen(view, clock, save), closed)

    def action_discharge(self) -> None:
        """Load the session with its REMS proposal (a worker), then show the discharge."""
        if not (chosen := self._user_and_selection()):
            return
        _, view = chosen
        service = self.service
        self.run_worker(
            lambda: service.session(view.id),
            thread=True,
            group="discharge-view",
            name="discharge-view",
            exclusive=True,
            exit_on_error=False,
        )

    def _show_discharge(self, view: SessionView) -> None:
        if len(self.screen_stack) > 1 or self.user is None:
            return  # another dialog opened meanwhile: one dialog at a time
        name = self.user.name
        service = self.service

        def save(form: Discharge) -> None:
            if form.override_reason:
                service.authenticate(name, form.pin or "")  # an override is signed
            service.discharge(
                view.id,
                by=name,
                override_reason=form.override_reason,
                escort=form.escort,
                instructions_given=form.instructions_given,
                ready_minute=form.ready_minute,
            )

        def closed(form: Discharge | None) -> None:
            if form is not None:
                self.saved(f"{view.patient} discharged")

        self.push_screen(DischargeScreen(view, save), closed)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_first_row(self) -> None:
        table = self.query_one("#floor", DataTable)
        if table.row_count:
            table.move_cursor(row=0, animate=False)

    def action_last_row(self) -> None:
        table = self.query_one("#floor", DataTable)
        if table.row_count:
            table.move_cursor(row=table.row_count - 1, animate=False)

    def action_detail(self) -> None:
        if view := self._need_selection():
            self.push_screen(DetailScreen(view, self.config.thresholds))

    @on(DataTable.RowSelected, "#floor")
    def _row_selected(self) -> None:
        self.action_detail()


@dataclass(frozen=True)
class _Save:
    """A save in progress: what to say when it succeeds, and whom to tell."""

    note: str
    done: Callable[[], None] | None = None
    failed: Callable[[str], None] | None = None


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
        service = Service.open(db, config, clock)
    return StationApp(service, clock=clock, refresh_seconds=refresh_seconds, flash=flash, bell=bell)
