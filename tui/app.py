"""The observation station: every patient in observation, one typed line per set of vitals.

No database call runs on the event loop: reads and writes run in thread workers that return
plain dataclasses, and one ``Worker.StateChanged`` handler turns their failures into a visible
error while the screen stays alive. Refreshes are exclusive (a newer one replaces an older
one); saves never are.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.reactive import reactive
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState

from monitor.core.config import ClinicConfig
from monitor.errors import Refused
from monitor.floor import COLUMNS, FloorRow, floor
from monitor.services import Service, utc_now
from monitor.views import SessionView, UserView
from tui.entry import EntryBar
from tui.render import PROTOCOL_SHORT, alarm_text, padded, truncate, value_text
from tui.screens import (
    Acknowledgement,
    AcknowledgeScreen,
    ConfirmDoseScreen,
    DetailScreen,
    Discharge,
    DischargeScreen,
    NewSession,
    NewSessionScreen,
    SignInScreen,
)

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
BELL_EVERY_SECONDS = 5.0
FLOOR_ACTIONS = frozenset(
    {"record", "acknowledge", "detail", "new_session", "dose", "discharge", "switch_user"}
)


class StationApp(App[None]):
    """The nurses' station."""

    # Absolute, so that subclasses defined elsewhere (benchmarks, tests) find it too.
    CSS_PATH = Path(__file__).with_name("station.tcss")
    TITLE = "monitor"
    BINDINGS = [
        Binding("r", "record", "Record", id="record"),
        Binding("a", "acknowledge", "Ack", id="acknowledge"),
        Binding("enter", "detail", "Detail", id="detail", show=True),
        Binding("n", "new_session", "New", id="new_session"),
        Binding("d", "dose", "Dose", id="dose"),
        Binding("x", "discharge", "Discharge", id="discharge"),
        Binding("u", "switch_user", "User", id="switch_user"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    user: reactive[UserView | None] = reactive(None)
    """Who is recording; everything saved carries this user."""

    def __init__(
        self,
        service: Service,
        *,
        clock: Callable[[], datetime] = utc_now,
        refresh_seconds: float = 2.0,
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
        self.rows: list[FloorRow] = []
        self._gc_frozen = False
        self.last_error: str | None = None
        self._last_bell = 0.0
        self._save_notes: dict[Worker[Any], str] = {}
        #: What the floor table shows now: (row key, cells) in order.
        self._drawn: list[tuple[str, list[Any]]] = []

    # -- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(icon="+")
        yield Static(id="status")
        table: DataTable[Any] = DataTable(id="floor", cursor_type="row", cell_padding=0)
        yield table
        yield Static("No patients in observation. Press n to start a session.", id="empty")
        yield EntryBar(self.config.thresholds, self.clock)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#floor", DataTable)
        # Keep each cell's own colours under the cursor: a flagged value must stay visible.
        table.cursor_foreground_priority = "renderable"
        for key, label, width in FLOOR_COLUMNS:
            table.add_column(padded(label) if label else "", key=key, width=width)
        self.query_one(EntryBar).display = False
        self.watch_user(None)
        self.set_interval(self.refresh_seconds, self.refresh_floor)
        self.set_interval(1.0, self.tick)
        self.refresh_floor()
        self.sign_in()

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

        self.push_screen(
            SignInScreen(users, self.service.authenticate, allow_cancel=self.user is not None),
            signed_in,
        )

    def action_switch_user(self) -> None:
        self.sign_in()

    # -- data --------------------------------------------------------------------------

    def refresh_floor(self) -> None:
        """Reload the active sessions from the database (a newer refresh replaces an older)."""
        self.run_worker(
            self.service.active_sessions,
            thread=True,
            group="refresh",
            name="refresh",
            exclusive=True,
            exit_on_error=False,
        )

    def save(self, note: str, action: Callable[[], Any]) -> None:
        """Run one user action through the services in a worker (never exclusive)."""
        worker = self.run_worker(
            action, thread=True, group="save", name="save", exit_on_error=False
        )
        self._save_notes[worker] = note

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.SUCCESS:
            if worker.name == "refresh":
                views: list[SessionView] = worker.result or []
                self.views = {v.id: v for v in views}
                if not self._gc_frozen:
                    self._gc_frozen = True
                    # What is loaded by now lives as long as the app: keep it out of the
                    # garbage collector's way, so collections stay short while nurses type.
                    gc.freeze()
                if self.last_error and self.last_error.startswith("database"):
                    self._set_status(None)
                self.redraw()
            elif worker.name == "users":
                self._show_sign_in(worker.result or [])
            elif worker.name == "save":
                note = self._save_notes.pop(worker, "saved")
                self.notify(note)
                self._set_status(None)
                self.refresh_floor()
        elif event.state is WorkerState.ERROR:
            self._save_notes.pop(worker, None)
            error = worker.error
            if isinstance(error, Refused):
                message = f"refused: {error}"
            else:
                line = str(error).strip().splitlines()[0] if str(error).strip() else ""
                message = f"database error ({type(error).__name__}): {line}"
            self._set_status(message)
            self.notify(message, severity="error", timeout=8)

    def _set_status(self, message: str | None) -> None:
        self.last_error = message
        status = self.query_one("#status", Static)
        status.update(Text(message, style="bold red") if message else "")
        status.display = message is not None

    # -- drawing -----------------------------------------------------------------------

    def tick(self) -> None:
        """Every second: redraw the ticking times, and ring while a high alarm is open."""
        self.redraw()
        if (
            self.ring_bell
            and any(r.high_unacknowledged for r in self.rows)
            and time.monotonic() - self._last_bell >= BELL_EVERY_SECONDS
        ):
            self._last_bell = time.monotonic()
            self.bell()

    def _cells(self, row: FloorRow) -> list[Any]:
        next_style = "bold yellow" if row.overdue else ""
        ready = Text("ready", style="bold green") if row.ready else Text("")
        values = [value_text(row.cells[c].text, row.cells[c].severity) for c in COLUMNS]
        shown: list[str | Text] = [
            truncate(row.bay, 6),
            truncate(row.patient, 9),
            PROTOCOL_SHORT.get(row.protocol, truncate(row.protocol, 5)),
            row.since_dose,
            Text(truncate(row.next_text, 16), style=next_style),
            *values,
            ready,
        ]
        return [alarm_text(row.alarm, self.flash), *(padded(cell) for cell in shown)]

    def redraw(self) -> None:
        """Draw the floor from the latest data at the app clock's now, keeping the cursor."""
        table = self.query_one("#floor", DataTable)
        selected = self.selected_id()
        self.rows = floor(list(self.views.values()), self.clock())
        drawn = [(str(row.session_id), self._cells(row)) for row in self.rows]
        if [key for key, _ in drawn] == [key for key, _ in self._drawn]:
            # Same patients in the same order: touch only the cells that changed, so a
            # refresh repaints a few cells instead of the whole screen.
            for (key, cells), (_, before) in zip(drawn, self._drawn, strict=True):
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

    def selected_id(self) -> int | None:
        """The session under the cursor, if any."""
        table = self.query_one("#floor", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return int(key) if key is not None else None

    def selected(self) -> SessionView | None:
        """The latest data of the session under the cursor."""
        session_id = self.selected_id()
        return self.views.get(session_id) if session_id is not None else None

    # -- actions -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The floor's keys work on the floor only, not under a dialog (one dialog at a time)."""
        return not (action in FLOOR_ACTIONS and len(self.screen_stack) > 1)

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

    def action_record(self) -> None:
        if self._need_user() and (view := self._need_selection()):
            self.query_one(EntryBar).open_for(view)

    @on(EntryBar.Submitted)
    def _record(self, event: EntryBar.Submitted) -> None:
        user = self._need_user()
        self.query_one("#floor", DataTable).focus()
        if user is None:
            return
        self.save(
            "Reading saved",
            lambda: self.service.record_reading(
                event.session_id, event.entry, by=user.name, measured_at=event.measured_at
            ),
        )

    @on(EntryBar.Closed)
    def _entry_closed(self) -> None:
        self.query_one("#floor", DataTable).focus()

    def action_acknowledge(self) -> None:
        if not (self._need_user() and (view := self._need_selection())):
            return
        if not any(not f.acknowledged for r in view.in_force for f in r.flags):
            self.notify("No open flags for this patient")
            return

        def acknowledged(result: Acknowledgement | None) -> None:
            if result is not None and self.user is not None:
                name = self.user.name
                self.save(
                    f"Acknowledged {len(result.flag_ids)} flag(s)",
                    lambda: self.service.acknowledge_many(
                        result.flag_ids, by=name, action=result.action
                    ),
                )

        self.push_screen(AcknowledgeScreen(view), acknowledged)

    def action_new_session(self) -> None:
        if not self._need_user():
            return

        def started(form: NewSession | None) -> None:
            if form is None or self.user is None:
                return
            name = self.user.name
            now = self.clock()
            self.save(
                f"Session started for {form.patient}",
                lambda: self.service.start_session(
                    patient=form.patient,
                    protocol=form.protocol,
                    by=name,
                    dose_mg=form.dose_mg,
                    age=form.age,
                    bay=form.bay,
                    lot=form.lot,
                    dosed_at=now if form.dosed_now else None,
                ),
            )

        self.push_screen(NewSessionScreen(sorted(self.config.protocols), self.config.bays), started)

    def action_dose(self) -> None:
        if not (self._need_user() and (view := self._need_selection())):
            return
        if view.dosed_at is not None:
            self.notify("The dose is already recorded for this patient", severity="warning")
            return

        def confirmed(yes: bool | None) -> None:
            if yes and self.user is not None:
                name = self.user.name
                self.save(
                    f"Dose recorded for {view.patient}",
                    lambda: self.service.record_dose(view.id, by=name),
                )

        self.push_screen(ConfirmDoseScreen(view), confirmed)

    def action_discharge(self) -> None:
        if not (self._need_user() and (view := self._need_selection())):
            return

        def decided(result: Discharge | None) -> None:
            if result is not None and self.user is not None:
                name = self.user.name
                self.save(
                    f"{view.patient} discharged",
                    lambda: self.service.discharge(
                        view.id, by=name, override_reason=result.override_reason
                    ),
                )

        self.push_screen(DischargeScreen(view), decided)

    def action_detail(self) -> None:
        if view := self._need_selection():
            self.push_screen(DetailScreen(view, self.config.thresholds))

    @on(DataTable.RowSelected, "#floor")
    def _row_selected(self) -> None:
        self.action_detail()


def make_app(
    db: str | None = None,
    config: ClinicConfig | None = None,
    clock: Callable[[], datetime] = utc_now,
    *,
    service: Service | None = None,
    refresh_seconds: float = 2.0,
    flash: bool = True,
    bell: bool = True,
) -> StationApp:
    """The station on ``db`` (URL, path or the default SQLite file) with ``config``."""
    if service is None:
        service = Service.open(db, config, clock)
    return StationApp(service, clock=clock, refresh_seconds=refresh_seconds, flash=flash, bell=bell)
