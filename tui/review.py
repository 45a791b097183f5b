"""Review mode: the supervisor's desk (issue #11).

:class:`ReviewScreen` is the queue of discharged sessions, newest discharge first, a page at a
time, filtered by period, nurse, protocol and five yes/no questions, each row with the counts a
supervisor reviews by (the same queue as ``monitor review list``). Enter opens
:class:`SessionLogScreen`: one session's whole story in time order (:mod:`monitor.sessionlog`)
beside the detail view's chart, where a supervisor voids or corrects a reading, signs the
session off and reopens a signed one, each signed again with the PIN.

Only supervisors open review mode (the station refuses a nurse, and the services refuse a
nurse's sign-off and reopening). As everywhere in the station, every database call runs in a
thread worker returning plain frozen dataclasses; the dialogs save in their own worker and close
only once the save succeeded, keeping what was typed until then.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Header,
    Label,
    OptionList,
    Select,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from monitor.core.entry import format_entry, parse_entry
from monitor.errors import EntryError
from monitor.services import Service
from monitor.services.review import SessionFacts
from monitor.sessionlog import EntryKind, LogEntry, Role, clock_text, session_log
from monitor.timeparse import local_to_utc, parse_time, split_entry_time
from monitor.views import ReadingView, SessionView, UserView
from tui.dialogs import SavingDialog, Ticks, error_message
from tui.exporting import EXPORT_BINDING, ExportKey
from tui.inputs import Input, pin_input
from tui.render import PROTOCOL_SHORT, truncate

CSS = Path(__file__).with_name("review.tcss")
#: Sessions on one page of the queue (``monitor review list`` shows as many).
PAGE = 50
SUPERVISOR = "supervisor"
#: The message a nurse gets for a key of review mode.
FOR_SUPERVISORS = "Review mode is for supervisors"

#: How each role of a log line looks: colour is never the only cue (the text says it too).
ROLE_STYLE = {
    Role.PLAIN: "",
    Role.STRONG: "bold",
    Role.STRUCK: "strike",
    Role.HIGH: "bold red",
    Role.MEDIUM: "bold yellow",
    Role.LOW: "cyan",
    Role.OK: "green",
    Role.WARN: "bold yellow",
    Role.ALERT: "bold red",
    Role.NOTE: "italic",
}


# -- the filters ----------------------------------------------------------------------------

#: The periods a supervisor picks from (on the discharge time), by key.
PERIODS = (
    ("any", "any time"),
    ("today", "today"),
    ("yesterday", "yesterday"),
    ("week", "last 7 days"),
    ("month", "last 30 days"),
    ("dates", "between dates"),
)
PERIOD_LABEL = dict(PERIODS)
#: The yes/no filters: (field, what the filter line and the dialog say).
QUESTIONS = (
    ("unsigned", "not signed off"),
    ("flagged", "had a high flag"),
    ("override", "discharged by override"),
    ("late", "late or missed checks"),
    ("late_entries", "late entries"),
    ("adverse", "adverse event"),
)


def _midnight(day: date) -> datetime:
    """The local midnight starting ``day``, as UTC."""
    return local_to_utc(datetime(day.year, day.month, day.day))  # noqa: DTZ001 (local wall time)


def _date_only(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if len(text.strip()) == 10 else None
    except ValueError:
        return None


@dataclass(frozen=True)
class ReviewFilter:
    """What the queue shows: a period of discharge, a nurse, a protocol, yes/no questions."""

    period: str = "any"
    #: With ``period == "dates"``: the first and last day or moment, as typed.
    since_text: str = ""
    until_text: str = ""
    unsigned: bool = True
    nurse: str | None = None
    protocol: str | None = None
    flagged: bool = False
    override: bool = False
    late: bool = False
    late_entries: bool = False
    adverse: bool = False

    def bounds(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        """The period as aware UTC times (either may be open); EntryError for a bad date."""
        today = now.astimezone().date()
        if self.period == "today":
            return _midnight(today), None
        if self.period == "yesterday":
            return _midnight(today - timedelta(days=1)), _midnight(today) - timedelta(
                microseconds=1
            )
        if self.period == "week":
            return _midnight(today - timedelta(days=6)), None
        if self.period == "month":
            return _midnight(today - timedelta(days=29)), None
        if self.period != "dates":
            return None, None
        since = parse_time(self.since_text, now) if self.since_text.strip() else None
        until = None
        if self.until_text.strip():
            day = _date_only(self.until_text)
            # A date alone in "to" takes in that whole day, as `review list --to` does.
            until = (
                _midnight(day + timedelta(days=1)) - timedelta(microseconds=1)
                if day is not None
                else parse_time(self.until_text, now)
            )
        if since is not None and until is not None and since > until:
            raise EntryError("the period ends before it begins: give the earlier date first")
        return since, until

    def describe(self) -> str:
        """The filters as one line: ``not signed off · yesterday · had a high flag``."""
        parts = ["not signed off" if self.unsigned else "signed or not"]
        if self.period == "dates":
            parts.append(f"{self.since_text or '…'} to {self.until_text or 'now'}")
        else:
            parts.append(f"discharged {PERIOD_LABEL.get(self.period, self.period)}")
        if self.nurse:
            parts.append(f"nurse {self.nurse}")
        if self.protocol:
            parts.append(self.protocol)
        parts += [label for key, label in QUESTIONS[1:] if getattr(self, key)]
        return " · ".join(parts)


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue as loaded: its rows, whether more follow, and where it began."""

    rows: tuple[SessionFacts, ...]
    more: bool
    cursor: PageStart


@dataclass(frozen=True)
class PageStart:
    """Where a page begins: discharged at or before ``until``, leaving out ``shown`` (the
    sessions of the page before discharged at that same moment)."""

    until: datetime | None = None
    shown: frozenset[int] = field(default_factory=frozenset)


def load_page(
    service: Service, chosen: ReviewFilter, start: PageStart, now: datetime, size: int
) -> QueuePage:
    """One page of the queue (runs in a worker). Pages follow each other by the discharge
    time, newest first: the next page starts at the last session shown, leaving out those
    already shown at that moment."""
    since, until = chosen.bounds(now)
    if start.until is not None:
        until = start.until if until is None else min(until, start.until)
    page = service.review_queue(
        since=since,
        until=until,
        unsigned=chosen.unsigned,
        nurse=chosen.nurse,
        protocol=chosen.protocol,
        flagged=chosen.flagged,
        override=chosen.override,
        late=chosen.late,
        late_entries=chosen.late_entries,
        adverse=chosen.adverse,
        limit=size + len(start.shown),
    )
    rows = tuple(r for r in page.rows if r.id not in start.shown)
    return QueuePage(rows, page.more, start)


def next_start(page: QueuePage) -> PageStart:
    """Where the page after ``page`` begins."""
    last = page.rows[-1].discharged_at
    same = frozenset(r.id for r in page.rows if r.discharged_at == last)
    if page.cursor.until == last:
        same |= page.cursor.shown  # a run of one moment longer than a page
    return PageStart(last, same)


# -- the queue ------------------------------------------------------------------------------

#: (key, label, width) of the queue; each width counts the space before the column.
QUEUE_COLUMNS = (
    ("discharged", "Discharged", 13),
    ("patient", "Patient", 11),
    ("protocol", "Proto", 6),
    ("flags", "Flags H/M/L", 12),
    ("ack", "Ack", 7),
    ("checks", "Late/Miss", 10),
    ("late_entries", "LE", 3),
    ("adverse", "AE", 3),
    ("override", "Ovr", 4),
    ("signed", "Signed", 8),
)


def _cell(text: str | Text, style: str = "") -> Text:
    out = Text(" ")
    out.append_text(text if isinstance(text, Text) else Text(text, style=style))
    return out


def queue_cells(row: SessionFacts) -> list[Text]:
    """A session's cells in the queue; a number that matters is bold and coloured, and says
    so in text too (``unack``, ``yes``)."""
    flags = Text()
    flags.append(str(row.flags_high), style="bold red" if row.flags_high else "")
    flags.append(f"/{row.flags_medium}", style="bold yellow" if row.flags_medium else "")
    flags.append(f"/{row.flags_low}")
    if row.high_unacknowledged:
        ack = Text("unack", style="bold reverse red")
    elif row.slowest_high_ack_min is not None:
        ack = Text(f"{row.slowest_high_ack_min:.0f} min")
    else:
        ack = Text("-", style="dim")
    checks = Text(
        f"{row.checks_late}/{row.checks_missed}",
        style="bold yellow" if row.checks_late_or_missed else "",
    )
    signed = Text(truncate(row.signed_by or "", 7), style="green") if row.signed else Text("")
    return [
        _cell(row.discharged_at.astimezone().strftime("%d %b %H:%M")),
        _cell(truncate(row.patient, 10)),
        _cell(PROTOCOL_SHORT.get(row.protocol, truncate(row.protocol, 5))),
        _cell(flags),
        _cell(ack),
        _cell(checks),
        _cell(str(row.late_entries), "bold yellow" if row.late_entries else ""),
        _cell(str(len(row.adverse)), "bold yellow" if row.adverse else ""),
        _cell("yes" if row.override else "no", "bold yellow" if row.override else ""),
        _cell(signed),
    ]


class QueueTable(DataTable[Any]):
    """The queue: Enter opens the highlighted session's log, and the footer says so."""

    BINDINGS = [Binding("enter", "select_cursor", "Log", id="review_open")]


class ReviewScreen(Screen[None]):
    """The queue of sessions to review, newest discharge first, a page at a time."""

    CSS_PATH = CSS
    BINDINGS = [
        Binding("slash", "filter", "Filter", key_display="/", id="review_filter"),
        Binding("left_square_bracket", "prev_page", "Prev", key_display="[", id="review_prev"),
        Binding("right_square_bracket", "next_page", "Next", key_display="]", id="review_next"),
        Binding("t", "audit", "Audit", id="review_audit"),
        Binding("f", "rems", "REMS", id="review_rems"),
        Binding("s", "summary", "Summary", id="review_summary"),
        Binding("g", "reload", "Reload", id="review_reload", show=False),
        Binding("f5", "reload", "Reload", id="review_reload_f5", show=False),
        Binding("question_mark", "help", "Keys", key_display="?", id="review_help"),
        Binding("escape", "leave", "Floor", id="review_leave"),
    ]

    def __init__(
        self,
        service: Service,
        user: UserView,
        *,
        clock: Callable[[], datetime],
        page_size: int = PAGE,
    ) -> None:
        super().__init__()
        self.service = service
        self.user = user
        self.clock = clock
        self.page_size = page_size
        self.filter = ReviewFilter()
        #: Where each page before the one shown began (``[`` goes back to the last).
        self.previous: list[PageStart] = []
        self.start = PageStart()
        self.page: QueuePage | None = None
        self.users: list[str] = []
        self._mark: object = None

    def compose(self) -> ComposeResult:
        yield Header(icon="+")
        yield Static(id="review-filters")
        yield QueueTable(id="queue", cursor_type="row", cell_padding=0)
        yield Static(id="review-empty")
        yield Static(id="review-status")
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self.title = "monitor: review"
        table = self.query_one("#queue", DataTable)
        table.cursor_foreground_priority = "renderable"
        for key, label, width in QUEUE_COLUMNS:
            table.add_column(_cell(label), key=key, width=width)
        self.query_one("#review-empty", Static).display = False
        self._mark = self._record_mark()
        self.set_interval(1.0, self._watch_record)
        self._show_filters()
        self.reload()
        self.run_worker(
            lambda: [u.name for u in self.service.users()],
            thread=True,
            group="review-users",
            name="review-users",
            exit_on_error=False,
        )

    # -- loading -------------------------------------------------------------------------

    def _record_mark(self) -> object:
        """The record's version as the station last read it (it moves on every save)."""
        return getattr(self.app, "record_mark", None)

    def _watch_record(self) -> None:
        """Reload the page when the record changed (the station's watcher saw a save)."""
        mark = self._record_mark()
        if mark != self._mark:
            self._mark = mark
            self.reload()

    def reload(self) -> None:
        """Read the page shown again (a newer read replaces an older one)."""
        service, chosen, start = self.service, self.filter, self.start
        now, size = self.clock(), self.page_size
        self._status("loading…", "dim")
        self.run_worker(
            lambda: load_page(service, chosen, start, now, size),
            thread=True,
            group="review-page",
            name="review-page",
            exclusive=True,
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.SUCCESS:
            if worker.name == "review-page" and isinstance(worker.result, QueuePage):
                self._show(worker.result)
            elif worker.name == "review-users":
                self.users = list(worker.result or [])
        elif event.state is WorkerState.ERROR and worker.name == "review-page":
            self._status(f"Queue not loaded: {error_message(worker.error)} (g tries again)")

    def _show(self, page: QueuePage) -> None:
        table = self.query_one("#queue", DataTable)
        selected = self.selected_id()
        self.page = page
        table.clear()
        for row in page.rows:
            table.add_row(*queue_cells(row), key=str(row.id))
        if selected is not None and str(selected) in table.rows:
            table.move_cursor(row=table.get_row_index(str(selected)), animate=False)
        empty = self.query_one("#review-empty", Static)
        empty.display = not page.rows
        if not page.rows:
            empty.update(
                "No sessions to review with these filters. / changes them; Esc goes back "
                "to the floor."
                if not self.previous
                else "No more sessions: [ goes back a page."
            )
        first = len(self.previous) * self.page_size + 1
        if page.rows:
            where = f"Page {len(self.previous) + 1}: sessions {first}-{first + len(page.rows) - 1}"
        else:
            where = f"Page {len(self.previous) + 1}: none"
        more = "  ] next page" if page.more else ""
        back = "  [ previous" if self.previous else ""
        self._status(f"{where}{more}{back}  ·  ? explains the columns", "")

    def _status(self, message: str, style: str = "bold red") -> None:
        self.query_one("#review-status", Static).update(Text(message, style=style))

    def _show_filters(self) -> None:
        line = Text("Showing: ", style="bold")
        line.append(self.filter.describe())
        self.query_one("#review-filters", Static).update(line)

    def selected_id(self) -> int | None:
        """The session under the cursor, if any."""
        table = self.query_one("#queue", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return int(key) if key is not None else None

    # -- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Paging keys show only where there is a page to go to."""
        if action == "next_page":
            return bool(self.page and self.page.more and self.page.rows)
        if action == "prev_page":
            return bool(self.previous)
        return True

    def action_open_log(self) -> None:
        session_id = self.selected_id()
        if session_id is None:
            self.notify("No session selected", severity="warning")
            return
        self.app.push_screen(
            SessionLogScreen(self.service, session_id, self.user, clock=self.clock),
            lambda _: self.reload(),
        )

    @on(DataTable.RowSelected, "#queue")
    def _row_selected(self) -> None:
        self.action_open_log()

    def action_next_page(self) -> None:
        if self.page is None or not self.page.more or not self.page.rows:
            return
        self.previous.append(self.start)
        self.start = next_start(self.page)
        self.reload()
        self.refresh_bindings()

    def action_prev_page(self) -> None:
        if not self.previous:
            return
        self.start = self.previous.pop()
        self.reload()
        self.refresh_bindings()

    def action_reload(self) -> None:
        self.reload()

    def action_filter(self) -> None:
        protocols = sorted(self.service.config.protocols)

        def chosen(result: ReviewFilter | None) -> None:
            if result is not None and result != self.filter:
                self.filter = result
                self.previous = []
                self.start = PageStart()
                self._show_filters()
                self.reload()
                self.refresh_bindings()

        self.app.push_screen(FilterScreen(self.filter, self.users, protocols, self.clock), chosen)

    def action_audit(self) -> None:
        from tui.review_reports import AuditScreen

        self.app.push_screen(AuditScreen(self.service))

    def action_rems(self) -> None:
        from tui.review_reports import RemsScreen

        self.app.push_screen(RemsScreen(self.service, self.user))

    def action_summary(self) -> None:
        from tui.review_reports import QualityScreen

        self.app.push_screen(QualityScreen(self.service, self.clock))

    def action_help(self) -> None:
        self.app.push_screen(ReviewHelpScreen("Review queue: keys", QUEUE_HELP))

    def action_leave(self) -> None:
        self.dismiss(None)


#: The queue's keys and columns, as its help screen lists them ("" starts a heading).
QUEUE_HELP = (
    ("Enter", "the highlighted session's log and chart"),
    ("/", "filters: period, nurse, protocol, yes/no questions"),
    ("[  ]", "previous / next page"),
    ("t  f  s", "audit trail · REMS forms due · quality summary"),
    ("g  F5", "read the queue again (a change reloads it too)"),
    ("Esc", "back to the floor"),
    ("", "Columns"),
    ("Flags H/M/L", "flags raised: high / medium / low"),
    ("Ack", "minutes to acknowledge the slowest high flag"),
    ("", "(unack: a high flag never acknowledged)"),
    ("Late/Miss", "checks after dosing done late / missed"),
    ("LE  AE", "late entries · adverse events"),
    ("Ovr", "discharged by override of the gate"),
)
#: The log's keys, as its help screen lists them.
LOG_HELP = (
    ("Up/Down", "move through the story"),
    ("v", "void the highlighted reading (reason, your PIN)"),
    ("c", "correct the highlighted reading (reason, your PIN)"),
    ("s", "sign off as reviewed (your PIN)"),
    ("o", "reopen a signed session (reason, your PIN)"),
    ("t", "this session's audit trail"),
    ("p", "write its PDF record (exports folder)"),
    ("Left/Right", "the log / the chart"),
    ("g  F5", "read the session again"),
    ("Esc", "back to the queue"),
)


class ReviewHelpScreen(ModalScreen[None]):
    """The keys of a review screen (and the queue's columns) on one screen."""

    CSS_PATH = CSS
    BINDINGS = [
        Binding("escape", "close", "Close", id="close_review_help"),
        Binding("question_mark", "close", "Close", show=False, id="close_review_help_again"),
    ]

    def __init__(self, title: str, lines: tuple[tuple[str, str], ...]) -> None:
        super().__init__()
        self.heading = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(justify="right", style="bold", no_wrap=True)
        grid.add_column(ratio=1)
        for key, does in self.lines:
            if not key and not does.startswith("("):
                grid.add_row("", Text(does, style="bold underline"))
            else:
                grid.add_row(key, does)
        with Vertical(id="dialog"):
            yield Label(f"{self.heading}  (Esc closes)", classes="title")
            yield Static(grid, id="review-help")

    def action_close(self) -> None:
        self.dismiss(None)


class FilterScreen(ModalScreen[ReviewFilter]):
    """The queue's filters; Enter applies them, Esc leaves them as they were."""

    CSS_PATH = CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_review_filter")]

    def __init__(
        self,
        current: ReviewFilter,
        users: list[str],
        protocols: list[str],
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__()
        self.current = current
        self.users = users
        self.protocols = protocols
        self.clock = clock

    def compose(self) -> ComposeResult:
        now = self.current
        with Vertical(id="dialog", classes="form review-filter"):
            yield Label(
                "Filter the queue  (Tab moves, Space ticks, Enter applies, Esc cancels)",
                classes="title",
            )
            yield Static(id="form-error", classes="error")
            with Grid(classes="fields"):
                yield Label("Period")
                yield Select(
                    [(label, key) for key, label in PERIODS],
                    value=now.period,
                    allow_blank=False,
                    id="period",
                    compact=True,
                )
                yield Label("Nurse")
                yield Select(
                    [(name, name) for name in self.users],
                    prompt="every nurse",
                    value=now.nurse if now.nurse in self.users else Select.NULL,
                    id="nurse",
                    compact=True,
                )
                yield Label("From", classes="dates")
                yield Input(
                    now.since_text,
                    placeholder="2026-11-26",
                    id="since",
                    compact=True,
                    classes="dates",
                    max_length=40,
                )
                yield Label("To", classes="dates")
                yield Input(
                    now.until_text,
                    placeholder="2026-11-27 (whole day)",
                    id="until",
                    compact=True,
                    classes="dates",
                    max_length=40,
                )
                yield Label("Protocol")
                yield Select(
                    [(p, p) for p in self.protocols],
                    prompt="every protocol",
                    value=now.protocol if now.protocol in self.protocols else Select.NULL,
                    id="protocol",
                    compact=True,
                )
            yield Ticks(
                *[(label, key, bool(getattr(now, key))) for key, label in QUESTIONS],
                id="questions",
                compact=True,
            )
            with Horizontal(classes="buttons"):
                yield Button("Apply", variant="primary", id="apply", compact=True)
                yield Button("Clear", id="clear", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#form-error", Static).display = False
        self._period_changed()
        self.query_one("#period", Select).focus()

    @on(Select.Changed, "#period")
    def _period_changed(self) -> None:
        dates = self.query_one("#period", Select).value == "dates"
        for widget in self.query(".dates"):
            widget.display = dates

    def form(self) -> ReviewFilter:
        """The filters as chosen; EntryError says what to fix."""
        period = str(self.query_one("#period", Select).value)
        nurse = self.query_one("#nurse", Select).value
        protocol = self.query_one("#protocol", Select).value
        ticked = set(self.query_one("#questions", Ticks).selected)
        chosen = ReviewFilter(
            period=period,
            since_text=self.query_one("#since", Input).value.strip() if period == "dates" else "",
            until_text=self.query_one("#until", Input).value.strip() if period == "dates" else "",
            nurse=None if nurse is Select.NULL else str(nurse),
            protocol=None if protocol is Select.NULL else str(protocol),
            **{key: key in ticked for key, _ in QUESTIONS},
        )
        if period == "dates" and not (chosen.since_text or chosen.until_text):
            raise EntryError("between dates: type a first day (From), a last day (To), or both")
        chosen.bounds(self.clock())  # refuses a date it cannot read
        return chosen

    def _apply(self) -> None:
        try:
            chosen = self.form()
        except EntryError as error:
            line = self.query_one("#form-error", Static)
            line.update(Text(str(error), style="bold red"))
            line.display = True
            return
        self.dismiss(chosen)

    @on(Input.Submitted)
    @on(Ticks.Submitted)
    @on(Button.Pressed, "#apply")
    def _enter(self) -> None:
        self._apply()

    @on(Button.Pressed, "#clear")
    def _clear(self) -> None:
        self.dismiss(ReviewFilter())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


# -- one session's log ----------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedLog:
    """A session and its story, as read in a worker."""

    view: SessionView
    entries: tuple[LogEntry, ...]


def load_log(service: Service, session_id: int) -> LoadedLog:
    """The session as of its discharge and its log with every sign-off (runs in a worker)."""
    view = service.session(session_id)
    return LoadedLog(view, tuple(session_log(view, service.audit(session_id))))


def entry_text(entry: LogEntry) -> Table:
    """A log entry as the station shows it: the time, then the headline and who, with its
    detail lines under the headline; a long line wraps under its own text, not the time."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=5, no_wrap=True, style="bold")
    grid.add_column(ratio=1)
    for index, line in enumerate(entry.lines):
        text = Text()
        for part in line:
            text.append(part.text, style=ROLE_STYLE[part.role])
        if index == 0 and entry.by and f"by {entry.by}" not in text.plain:
            text.append(f"  by {entry.by}", style="italic")
        grid.add_row(clock_text(entry.at) if index == 0 else "", text)
    return grid


def log_options(entries: tuple[LogEntry, ...]) -> list[Option]:
    """The log's lines: each entry (its index as id), under a line naming its local day
    whenever the day changes (a sign-off days later is not read as the same day's)."""
    options: list[Option] = []
    day = None
    for index, entry in enumerate(entries):
        local = entry.at.astimezone().date()
        if local != day:
            day = local
            options.append(Option(Text(f"── {local:%a %d %b %Y} ──", style="bold"), disabled=True))
        options.append(Option(entry_text(entry), id=str(index)))
    return options


def log_title(view: SessionView) -> Text:
    """The session in one line, ending with whether it is signed off."""
    title = Text(f"#{view.id} {view.patient}  {view.protocol}", style="bold")
    if view.bay:
        title.append(f"  {view.bay}")
    if view.discharged_at is not None:
        title.append(f"  {view.discharged_at.astimezone():%d %b %Y}")
    title.append("  ")
    if view.signed_by:
        title.append(
            f"reviewed by {view.signed_by} {clock_text(view.signed_at, view.discharged_at)}",
            style="bold green",
        )
    elif view.discharged_at is None:
        title.append("in observation", style="bold yellow")
    else:
        title.append("NOT SIGNED OFF", style="bold reverse yellow")
    return title


class SessionLogScreen(ExportKey, Screen[None]):
    """One session's whole story in time order, and its chart; a supervisor voids or corrects
    a reading, signs the session off or reopens it; `p` writes its PDF record."""

    CSS_PATH = CSS
    BINDINGS = [
        Binding("v", "void", "Void", id="log_void"),
        Binding("c", "correct", "Correct", id="log_correct"),
        Binding("s", "sign", "Sign off", id="log_sign"),
        Binding("o", "reopen", "Reopen", id="log_reopen"),
        Binding("t", "audit", "Audit", id="log_audit"),
        EXPORT_BINDING,
        Binding("g", "reload", "Reload", id="log_reload", show=False),
        Binding("f5", "reload", "Reload", id="log_reload_f5", show=False),
        Binding("right", "tab(1)", "Chart", id="log_next_tab", show=False),
        Binding("left", "tab(-1)", "Log", id="log_prev_tab", show=False),
        Binding("question_mark", "help", "Keys", key_display="?", id="log_help"),
        Binding("escape", "leave", "Back", id="log_leave"),
    ]

    def __init__(
        self,
        service: Service,
        session_id: int,
        user: UserView,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__()
        self.service = service
        self.session_id = session_id
        self.user = user
        self.clock = clock
        self.loaded: LoadedLog | None = None
        self._mark: object = None
        self.export_session_id = session_id

    def compose(self) -> ComposeResult:
        yield Header(icon="+")
        yield Static(f"#{self.session_id}  loading…", id="log-title")
        yield Static(id="export-line")
        with TabbedContent(id="log-tabs"):
            with TabPane("Log", id="tab-log"):
                yield OptionList(id="log")
            with TabPane("Chart", id="tab-log-chart"):
                from textual_plotext import PlotextPlot

                yield PlotextPlot(id="log-chart")
        yield Static(id="log-status")
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self.title = "monitor: review"
        self.query_one("#log-status", Static).display = False
        self._mark = getattr(self.app, "record_mark", None)
        self.set_interval(1.0, self._watch_record)
        self.query_one("#log", OptionList).focus()
        self.reload()

    def _watch_record(self) -> None:
        mark = getattr(self.app, "record_mark", None)
        if mark != self._mark:
            self._mark = mark
            self.reload()

    def reload(self) -> None:
        """Read the session and its story again."""
        service, session_id = self.service, self.session_id
        self.run_worker(
            lambda: load_log(service, session_id),
            thread=True,
            group="log-load",
            name="log-load",
            exclusive=True,
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if self._export_done(event) or worker.name != "log-load":
            return
        if event.state is WorkerState.SUCCESS and isinstance(worker.result, LoadedLog):
            self._show(worker.result)
        elif event.state is WorkerState.ERROR:
            status = self.query_one("#log-status", Static)
            status.update(
                Text(f"Log not loaded: {error_message(worker.error)} (g tries again)", "bold red")
            )
            status.display = True

    def _show(self, loaded: LoadedLog) -> None:
        self.loaded = loaded
        self.query_one("#log-status", Static).display = False
        self.query_one("#log-title", Static).update(log_title(loaded.view))
        log = self.query_one("#log", OptionList)
        kept = log.highlighted
        log.clear_options()
        log.add_options(log_options(loaded.entries))
        if log.option_count:
            log.highlighted = min(kept or 1, log.option_count - 1)
        self._draw_chart(loaded.view)

    def _draw_chart(self, view: SessionView) -> None:
        from textual_plotext import PlotextPlot

        from tui.screens import draw_session_chart

        draw_session_chart(
            self.query_one("#log-chart", PlotextPlot), view, self.service.config.thresholds
        )

    # -- what the keys act on ------------------------------------------------------------

    def highlighted(self) -> LogEntry | None:
        """The log entry under the highlight."""
        if self.loaded is None:
            return None
        log = self.query_one("#log", OptionList)
        if log.highlighted is None:
            return None
        option = log.get_option_at_index(log.highlighted)
        return None if option.id is None else self.loaded.entries[int(option.id)]

    def _supervisor(self) -> bool:
        if self.user.role != SUPERVISOR:
            self.notify(FOR_SUPERVISORS, severity="warning")
            return False
        return True

    def _reading_to_change(self, what: str) -> ReadingView | None:
        """The highlighted reading, if it may be voided or corrected now; else say why not."""
        if self.loaded is None or not self._supervisor():
            return None
        view = self.loaded.view
        if view.signed_by:
            self.notify(
                f"Signed off by {view.signed_by}: reopen it first (o) to {what} a reading",
                severity="warning",
            )
            return None
        entry = self.highlighted()
        if entry is None or entry.kind is not EntryKind.READING or entry.reading_id is None:
            self.notify(f"Highlight a reading (#N, Up/Down) to {what} it", severity="warning")
            return None
        reading = view.reading(entry.reading_id)
        if reading is None:
            return None
        if reading.voided is not None:
            self.notify(f"Reading #{reading.id} is voided already", severity="warning")
            return None
        if reading.superseded_by is not None:
            self.notify(
                f"Reading #{reading.id} was corrected by #{reading.superseded_by}: {what} that one",
                severity="warning",
            )
            return None
        return reading

    def _saved(self, note: str) -> None:
        self.notify(note)
        self.reload()

    def action_void(self) -> None:
        reading = self._reading_to_change("void")
        if reading is None:
            return
        service, name = self.service, self.user.name

        def save(form: VoidForm) -> None:
            service.authenticate(name, form.pin)  # a void is signed
            service.void(reading.id, by=name, reason=form.reason)

        self.app.push_screen(
            VoidScreen(reading, save),
            lambda form: self._saved(f"Reading #{reading.id} voided") if form else None,
        )

    def action_correct(self) -> None:
        reading = self._reading_to_change("correct")
        if reading is None:
            return
        service, name = self.service, self.user.name

        def save(form: Correction) -> None:
            service.authenticate(name, form.pin)  # a correction is signed
            service.amend(
                reading.id,
                form.entry,
                by=name,
                reason=form.reason,
                at=form.measured_at,
                replace=True,
            )

        self.app.push_screen(
            CorrectScreen(reading, self.clock, save),
            lambda form: self._saved(f"Reading #{reading.id} corrected") if form else None,
        )

    def action_sign(self) -> None:
        if self.loaded is None or not self._supervisor():
            return
        view = self.loaded.view
        if view.discharged_at is None:
            self.notify("Still in observation: a session is signed off once discharged")
            return
        if view.signed_by:
            self.notify(
                f"Already signed off by {view.signed_by} at {clock_text(view.signed_at)}",
                severity="warning",
            )
            return
        service, name = self.service, self.user.name

        def save(form: SignOff) -> None:
            service.sign(view.id, by=name, pin=form.pin)

        self.app.push_screen(
            SignScreen(view, self.user, self.clock, save),
            lambda form: self._saved(f"Session #{view.id} signed off: reviewed") if form else None,
        )

    def action_reopen(self) -> None:
        if self.loaded is None or not self._supervisor():
            return
        view = self.loaded.view
        if not view.signed_by:
            self.notify("Not signed off: there is nothing to reopen", severity="warning")
            return
        service, name = self.service, self.user.name

        def save(form: Reopening) -> None:
            service.authenticate(name, form.pin)  # a reopening is signed
            service.reopen(view.id, by=name, reason=form.reason)

        self.app.push_screen(
            ReopenScreen(view, save),
            lambda form: (
                self._saved(f"Session #{view.id} reopened: sign it off again") if form else None
            ),
        )

    def action_audit(self) -> None:
        from tui.review_reports import AuditScreen

        self.app.push_screen(AuditScreen(self.service, session_id=self.session_id))

    def action_reload(self) -> None:
        self.reload()

    def action_tab(self, step: int) -> None:
        tabs = self.query_one("#log-tabs", TabbedContent)
        order = ["tab-log", "tab-log-chart"]
        current = order.index(tabs.active) if tabs.active in order else 0
        tabs.active = order[(current + step) % len(order)]
        if tabs.active == "tab-log":
            self.query_one("#log", OptionList).focus()

    def action_help(self) -> None:
        self.app.push_screen(ReviewHelpScreen("Session log: keys", LOG_HELP))

    def action_leave(self) -> None:
        self.dismiss(None)


# -- the dialogs of the log: void, correct, sign off, reopen --------------------------------


def reading_text(reading: ReadingView) -> Text:
    """A reading in one line with its flags: what a supervisor is about to change."""
    out = Text(f"#{reading.id} {clock_text(reading.measured_at)}  ", style="bold")
    out.append(format_entry(reading.vitals) or "(no values)", style="bold")
    out.append(f"  recorded by {reading.recorded_by}", style="italic")
    for flag in reading.flags:
        out.append(f"\n  {flag.severity.symbol} {flag.message}")
    return out


class _SignedDialog(SavingDialog[Any]):
    """A dialog whose save is signed with the PIN (its last field)."""

    CSS_PATH = CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_review_dialog")]
    PIN_FIELD = "pin"

    def pin_field(self) -> Input:
        """The PIN field every one of these dialogs ends with."""
        return pin_input("your PIN: this is signed", "pin", compact=True)

    def reason(self, what: str) -> str:
        """The reason typed; ValueError when blank."""
        text = self.query_one("#reason", Input).value.strip()
        if not text:
            self.query_one("#reason", Input).focus()
            raise ValueError(f"{what}: say why, in a word or a sentence")
        return text

    def pin(self) -> str:
        """The PIN typed; ValueError when blank."""
        pin = self.query_one("#pin", Input).value
        if not pin:
            self.query_one("#pin", Input).focus()
            raise ValueError("type your PIN: it signs this")
        return pin

    def _submit_form(self) -> None:
        try:
            form = self.form()
        except ValueError as error:
            self.refuse(str(error))
            return
        self.submit(form)

    def form(self) -> Any:
        """The dialog as filled in; ValueError says what to fix."""
        raise NotImplementedError

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        # Enter in a field before the PIN moves on to the next field; in the PIN it saves.
        # A blank reason keeps the cursor where the reason goes.
        if event.input.id == "reason" and not event.value.strip():
            self.refuse("say why, in a word or a sentence, then Enter")
            return
        if event.input.id != "pin":
            self.refuse("")
            self.focus_next()
            return
        self._submit_form()

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self._submit_form()


@dataclass(frozen=True)
class VoidForm:
    """Why a reading is void, signed with the PIN."""

    reason: str
    pin: str = field(repr=False)


class VoidScreen(_SignedDialog):
    """Void a reading ("entered in error"): it stays, struck through, and counts for nothing;
    its open flags are acknowledged with the reason."""

    def __init__(self, reading: ReadingView, save: Callable[[VoidForm], Any]) -> None:
        super().__init__(save)
        self.reading = reading

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="form"):
            yield Label(
                f"Void reading #{self.reading.id}: entered in error  (Esc cancels)",
                classes="title",
            )
            yield self.error_line()
            yield Static(reading_text(self.reading), id="void-reading")
            yield Static(
                "It stays in the record, struck through, and counts for nothing; its open "
                "flags are acknowledged with your reason.",
                classes="explain",
            )
            with Grid(classes="fields two"):
                yield Label("Reason")
                yield Input(
                    placeholder="e.g. wrong patient", id="reason", compact=True, max_length=500
                )
                yield Label("Your PIN")
                yield self.pin_field()
            with Horizontal(classes="buttons"):
                yield Button("Void", variant="error", id="save", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def form(self) -> VoidForm:
        return VoidForm(self.reason("voiding a reading"), self.pin())


@dataclass(frozen=True)
class Correction:
    """A reading as it should have been (the whole line), why, and the PIN."""

    entry: str
    #: The corrected measurement time (``None``: the original's).
    measured_at: datetime | None
    reason: str
    pin: str = field(repr=False)


_CLOCK_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")


def measured_time(text: str, reading: ReadingView, now: datetime) -> datetime:
    """The measurement time typed after ``@``: ``10:28`` on the reading's own (local) day,
    or anything ``record --at`` takes (ISO 8601, ``5 min ago``); EntryError otherwise."""
    clock = _CLOCK_TIME.fullmatch(text.strip())
    if clock is None:
        return parse_time(text, now)
    hour, minute = int(clock[1]), int(clock[2])
    if hour > 23 or minute > 59:
        raise EntryError(f"time '{text}' is not a time of day (00:00 to 23:59)")
    day = reading.measured_at.astimezone().date()
    return local_to_utc(datetime(day.year, day.month, day.day, hour, minute))  # noqa: DTZ001


class CorrectScreen(_SignedDialog):
    """Correct a reading: the line as it should have been (every value; ``@ TIME`` corrects
    the measurement time) and why. The original stays, struck through, with its flags."""

    def __init__(
        self,
        reading: ReadingView,
        clock: Callable[[], datetime],
        save: Callable[[Correction], Any],
    ) -> None:
        super().__init__(save)
        self.reading = reading
        self.clock = clock

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="form"):
            yield Label(
                f"Correct reading #{self.reading.id}  (Enter moves on, Esc cancels)",
                classes="title",
            )
            yield self.error_line()
            yield Static(reading_text(self.reading), id="correct-reading")
            with Grid(classes="fields two"):
                yield Label("Reading")
                yield Input(
                    format_entry(self.reading.vitals),
                    id="entry",
                    compact=True,
                    max_length=200,
                )
                yield Label("Reason")
                yield Input(
                    placeholder="e.g. typo: SpO2 was 97", id="reason", compact=True, max_length=500
                )
                yield Label("Your PIN")
                yield self.pin_field()
            yield Static(id="correct-preview", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Correct", variant="primary", id="save", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self._preview()
        self.query_one("#entry", Input).focus()

    @on(Input.Changed, "#entry")
    def _preview(self) -> None:
        """What will be saved: the whole line as typed (a value left out is left out)."""
        target = self.query_one("#correct-preview", Static)
        try:
            entry, when = self._entry()
        except ValueError as error:
            target.update(Text(str(error), style="bold red"))
            return
        text = Text("Saves: ")
        text.append(format_entry(parse_entry(entry)), style="bold")
        if when is None:
            text.append(" at the original time")
        else:
            text.append(f" measured {clock_text(when, self.reading.measured_at)}")
        target.update(text)

    def _entry(self) -> tuple[str, datetime | None]:
        """The line as typed and its measurement time; ValueError says what is wrong."""
        entry, when = split_entry_time(self.query_one("#entry", Input).value)
        try:
            parse_entry(entry)
            return entry, measured_time(when, self.reading, self.clock()) if when else None
        except (EntryError, ValueError) as error:
            raise ValueError(str(error)) from None

    def form(self) -> Correction:
        try:
            entry, when = self._entry()
        except ValueError:
            self.query_one("#entry", Input).focus()
            raise
        return Correction(entry, when, self.reason("a correction"), self.pin())


@dataclass(frozen=True)
class SignOff:
    """The PIN that signs the session off as reviewed."""

    pin: str = field(repr=False)


class SignScreen(_SignedDialog):
    """Sign the session off: shows the name, the time and the meaning ("reviewed") before
    signing, and what is still open in the record."""

    def __init__(
        self,
        view: SessionView,
        user: UserView,
        clock: Callable[[], datetime],
        save: Callable[[SignOff], Any],
    ) -> None:
        super().__init__(save)
        self.view = view
        self.user = user
        self.clock = clock

    def compose(self) -> ComposeResult:
        view = self.view
        with Vertical(id="dialog", classes="form"):
            yield Label(
                f"Sign off session #{view.id} ({view.patient})  (Esc cancels)", classes="title"
            )
            yield self.error_line()
            said = Text("Your signature: ")
            said.append(
                f"reviewed by {self.user.name} at {clock_text(self.clock())}, "
                f"{self.clock().astimezone():%d %b %Y}",
                style="bold",
            )
            said.append(
                '\nMeaning: "reviewed": you have read this session\'s record. Once signed it '
                "takes no new reading, correction, void or event until reopened."
            )
            open_flags = view.open_flags()
            unexplained = [c for c in view.checks if c.is_alarm]
            if open_flags:
                said.append(f"\n{len(open_flags)} flag(s) never acknowledged.", "bold yellow")
            if unexplained:
                said.append(
                    f"\n{len(unexplained)} missed check(s) with no reason recorded.", "bold yellow"
                )
            yield Static(said, id="sign-meaning")
            with Grid(classes="fields two"):
                yield Label("Your PIN")
                yield self.pin_field()
            with Horizontal(classes="buttons"):
                yield Button("Sign off", variant="success", id="save", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#pin", Input).focus()

    def form(self) -> SignOff:
        return SignOff(self.pin())


@dataclass(frozen=True)
class Reopening:
    """Why a signed session is reopened, signed with the PIN."""

    reason: str
    pin: str = field(repr=False)


class ReopenScreen(_SignedDialog):
    """Withdraw a sign-off so the record can be corrected; the reason is kept, and the
    session must be signed off again."""

    def __init__(self, view: SessionView, save: Callable[[Reopening], Any]) -> None:
        super().__init__(save)
        self.view = view

    def compose(self) -> ComposeResult:
        view = self.view
        with Vertical(id="dialog", classes="form"):
            yield Label(
                f"Reopen session #{view.id} ({view.patient})  (Esc cancels)", classes="title"
            )
            yield self.error_line()
            yield Static(
                f"Signed off by {view.signed_by} at {clock_text(view.signed_at)}. Reopening "
                "withdraws that sign-off (kept, with your reason) so the record can be "
                "corrected; it must then be signed off again.",
                id="reopen-facts",
            )
            with Grid(classes="fields two"):
                yield Label("Reason")
                yield Input(
                    placeholder="e.g. SpO2 of 10:00 to correct",
                    id="reason",
                    compact=True,
                    max_length=500,
                )
                yield Label("Your PIN")
                yield self.pin_field()
            with Horizontal(classes="buttons"):
                yield Button("Reopen", variant="warning", id="save", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def form(self) -> Reopening:
        return Reopening(self.reason("reopening a session"), self.pin())


__all__ = [
    "FOR_SUPERVISORS",
    "CorrectScreen",
    "FilterScreen",
    "ReopenScreen",
    "ReviewFilter",
    "ReviewScreen",
    "SessionLogScreen",
    "SignScreen",
    "VoidScreen",
]
