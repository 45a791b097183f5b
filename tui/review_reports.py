"""The supervisor's desk (issue #11): the audit view, the REMS tracker and the quality summary.

Three screens pushed on top of the station (Esc closes each, q quits), built from plain values:
no database call runs in a constructor or on the event loop. Each screen reads in its own
thread worker that returns frozen dataclasses; a failure is one line on the screen saying what
to do, and the screen stays. The dialogs that save (mark a REMS form submitted, correct a
proposal) follow :class:`tui.dialogs.SavingDialog`: the PIN is asked again, a refusal shows
inside the dialog and everything typed stays until the save succeeds.

- :class:`AuditScreen`: the trail of one session or of a period (default: today), newest first,
  filtered by user and action, a page at a time by key (``]``/PgDn older, ``[``/PgUp newer).
- :class:`RemsScreen`: REMS forms due within 7 days and overdue (``a``: all), the form's
  answers (Enter), mark submitted (``m``) and correct a proposal (``c``), supervisors only.
- :class:`QualityScreen`: the quality summary of a week (``[``/``]``) or any period (``p``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.suggester import SuggestFromList
from textual.widgets import DataTable, Footer, Label, Select, Static
from textual.worker import Worker, WorkerState

from monitor.core.entry import format_entry
from monitor.core.rems import CORRECTABLE, MED_QUESTIONS, Answer, BloodPressure, RemsForm
from monitor.core.vitals import Vitals
from monitor.errors import EntryError, Refused
from monitor.services import Service
from monitor.services.history import AUDIT_PAGE, BY_DATABASE, AuditSlice, check_audit_filters
from monitor.services.report import QualityReport
from monitor.timeparse import MAX_YEAR, parse_time
from monitor.views import AuditView, UserView
from tui.dialogs import SavingDialog, error_message
from tui.inputs import Input, pin_input
from tui.render import padded, truncate

#: How the trail names a row the database's own triggers wrote (it has no user).
DATABASE_USER = "(database)"
#: ... and another row without a user (a refused sign-in, the demo's creation).
NO_USER = "(no user)"
#: Actions and groups the action filter suggests as one types (any other action also works).
KNOWN_ACTIONS = (
    "auth",
    "auth.refused",
    "check",
    "check.skip",
    "db",
    "db.session.update",
    "db.user.update",
    "event",
    "event.adverse",
    "event.intervention",
    "event.note",
    "flag",
    "flag.acknowledge",
    "reading",
    "reading.amend",
    "reading.record",
    "reading.void",
    "rems",
    "rems.correct",
    "rems.submit",
    "session",
    "session.discharge",
    "session.dose",
    "session.infusion_end",
    "session.reopen",
    "session.sign",
    "session.start",
    "user",
    "user.add",
    "user.disable",
    "user.set_pin",
    "user.unlock",
)
_VITALS = frozenset(f for f in Vitals.__dataclass_fields__)
_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?")
_DATE_ONLY = re.compile(r"\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*")

SCREEN_CSS = """
.desk-title {
    height: 1;
    padding: 0 1;
    text-style: bold;
    text-wrap: nowrap;
    text-overflow: ellipsis;
}
.desk-status {
    height: auto;
    max-height: 2;
    padding: 0 1;
    color: $text-muted;
}
.desk-status.-error {
    color: $error;
    text-style: bold;
}
.desk-status.-done {
    color: $success;
    text-style: bold;
}
.desk-table {
    height: 1fr;
}
.desk-panel {
    height: 4;
    padding: 0 1;
    border-top: solid $accent;
}
.desk-scroll {
    height: 1fr;
    padding: 0 1;
}
.desk-grid {
    grid-size: 2;
    grid-columns: 19 1fr;
    grid-rows: auto;
    grid-gutter: 0 1;
    height: auto;
}
.desk-grid .label {
    text-style: bold;
}
"""


# -- shared ------------------------------------------------------------------------------------


def local_day(day: date) -> tuple[datetime, datetime]:
    """A local calendar day as its first and last moment in UTC (a midnight the clock change
    skips or repeats is taken as the zone gives it)."""
    start = datetime.combine(day, time.min).astimezone(UTC)
    following = datetime.combine(day + timedelta(days=1), time.min).astimezone(UTC)
    return start, following - timedelta(microseconds=1)


def parse_period(
    since_text: str, until_text: str, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """A typed period as the command line reads ``--from``/``--to``: ISO 8601 (local time
    without an offset), ``now`` or ``N min ago``; a date alone is its midnight, and as the end
    the whole of that day. Blank: open on that side. EntryError says what to fix."""
    since = parse_time(since_text, now) if since_text.strip() else None
    until = None
    if until_text.strip():
        until = parse_time(until_text, now)
        if _DATE_ONLY.fullmatch(until_text):
            day = date.fromisoformat(until_text.strip())
            if day.year < MAX_YEAR:
                until = local_day(day)[1]
    if since is not None and until is not None and since > until:
        raise EntryError("the period ends before it begins: give the earlier time first")
    return since, until


def when(moment: datetime, *, seconds: bool = False) -> str:
    """A moment as local time with its day: ``Fri 27 Nov 2026 16:28``."""
    return moment.astimezone().strftime(f"%a %d %b %Y %H:%M{':%S' if seconds else ''}")


def day_text(day: date | None) -> str:
    """``Fri 27 Nov`` or ``-``."""
    return "-" if day is None else day.strftime("%a %d %b")


def period_text(since: datetime | None, until: datetime | None) -> str:
    """A period in words: whole local days by their dates, other moments with the time."""
    first = None if since is None else since.astimezone().date()
    last = None if until is None else until.astimezone().date()
    if (
        first is not None
        and last is not None
        and since == local_day(first)[0]
        and until == local_day(last)[1]
    ):
        if first == last:
            return f"{day_text(first)} {first.year}"
        return f"{day_text(first)} to {day_text(last)} {last.year}"
    start = "the start" if since is None else when(since)
    end = "now" if until is None else when(until)
    return f"{start} to {end}"


def plural(count: int, word: str) -> str:
    """``1 session``, ``2 sessions``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


class DeskScreen(Screen[Any]):
    """What the three screens share: a title line, a status line that says what went wrong
    or what was done, Esc to close and q to quit."""

    DEFAULT_CSS = SCREEN_CSS

    def title_line(self) -> Static:
        """The screen's first line."""
        return Static(classes="desk-title", id="desk-title")

    def status_line(self) -> Static:
        """The line that says what happened (errors in red, saves in green)."""
        return Static(classes="desk-status", id="desk-status")

    def say(self, message: str | Text, kind: str = "") -> None:
        """Show ``message`` on the status line; ``kind`` is ``error``, ``done`` or plain."""
        line = self.query_one("#desk-status", Static)
        # Plain text, never markup: a message may hold '[' (keys, a patient id, a reason).
        line.update(Text(message) if isinstance(message, str) else message)
        line.set_class(kind == "error", "-error")
        line.set_class(kind == "done", "-done")

    def load(self, work: Callable[[], Any], name: str) -> None:
        """Run a read in a thread worker (a newer read replaces an older one)."""
        self.run_worker(
            work, thread=True, group=name, name=name, exclusive=True, exit_on_error=False
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The screen reports its own workers: the station must not also toast them.
        event.stop()
        if event.state is WorkerState.SUCCESS:
            self.loaded(event.worker.name, event.worker.result)
        elif event.state is WorkerState.ERROR:
            self.say(f"{error_message(event.worker.error)}: r tries again", "error")

    def loaded(self, name: str, result: Any) -> None:
        """A worker of this screen finished with ``result``."""

    def action_close(self) -> None:
        self.dismiss(None)


# -- audit -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """What the audit view shows: one session's trail or a period, a user, an action."""

    session_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: ``None``: every user; :data:`monitor.services.history.BY_DATABASE`: the database's rows.
    user: str | None = None
    action: str | None = None
    #: The period is today, to be worked out by the database's clock when first read.
    today: bool = False
    #: Set for a period that is one local calendar day.
    day: date | None = None

    def describe(self) -> str:
        """The filter in words, for the title."""
        parts = [f"session {self.session_id}"] if self.session_id is not None else []
        if self.since is not None or self.until is not None:
            parts.append(period_text(self.since, self.until))
        elif self.session_id is None:
            parts.append("the whole trail")
        if self.user is not None:
            who = f"{DATABASE_USER} or {NO_USER}" if self.user == BY_DATABASE else self.user
            parts.append(f"by {who}")
        if self.action is not None:
            parts.append(self.action)
        return " · ".join(parts)


@dataclass(frozen=True)
class AuditFilterForm:
    """The audit filter as typed: the period stays text until the worker reads it by the
    database's clock."""

    session_id: int | None
    user: str | None
    action: str | None
    since_text: str
    until_text: str


@dataclass(frozen=True)
class AuditLoaded:
    """One page of the audit view as read: the filter (its period worked out), the page, and
    the user names the filter offers."""

    filter: AuditFilter
    page: AuditSlice
    users: tuple[str, ...]
    #: The page's number: 1 is the newest, older pages count up.
    number: int


def _moment(text: str) -> datetime | None:
    if not _MOMENT.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    # The database's triggers on SQLite write UTC without an offset.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _shown(value: Any, day: date) -> str:
    """A stored value as people read it: times local (with the day when it is another day),
    yes/no, lists joined, nothing as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(_shown(v, day) for v in value) or "none"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and value[:1] == "{":
        # A JSON document kept as text (the gate stored at discharge): its verdict on the
        # line, the whole of it in the row's full view.
        document = _parsed(value)
        if isinstance(document, dict) and isinstance(document.get("ready"), bool):
            return "ready" if document["ready"] else "not ready"
        return "{…}"
    if isinstance(value, str):
        moment = _moment(value)
        if moment is not None:
            local = moment.astimezone()
            return f"{local:%H:%M}" if local.date() == day else f"{local:%d %b %H:%M}"
        return value
    return str(value)


def _fields(data: dict[str, Any], day: date) -> str:
    """A row's fields: a reading's values as its quick-entry line, the rest ``name value``."""
    vitals = {k: v for k, v in data.items() if k in _VITALS and isinstance(v, int)}
    parts = [format_entry(Vitals(**vitals))] if vitals else []
    for key, value in data.items():
        if key in _VITALS or value is None:
            continue
        name = "measured" if key == "measured_at" else key.replace("_", " ")
        parts.append(f"{name} {_shown(value, day)}")
    return "; ".join(p for p in parts if p)


def _parsed(stored: str | None) -> Any:
    if stored is None:
        return None
    try:
        return json.loads(stored)
    except ValueError:
        return stored


def describe_change(row: AuditView) -> str:
    """What the row changed, on one line: ``name before → after`` for each field that differs
    (unchanged fields of a trigger's row left out), a new row's fields, times in local time."""
    day = row.at.astimezone().date()
    before, after = _parsed(row.before), _parsed(row.after)
    if isinstance(before, dict) and isinstance(after, dict):
        parts, context = [], []
        for key in dict.fromkeys([*before, *after]):
            old, new = before.get(key), after.get(key)
            name = key.replace("_", " ")
            if key not in after:
                # Said for the record beside the change (a correction's proposal).
                context.append(f"{name} {_shown(old, day)}")
            elif key not in before:
                parts.append(f"{name} {_shown(new, day)}")
            elif old != new:
                parts.append(f"{name} {_shown(old, day)} → {_shown(new, day)}")
        said = "; ".join(parts)
        if context:
            said = f"{said} ({'; '.join(context)})".strip()
        vitals = {k: v for k, v in before.items() if k in _VITALS and isinstance(v, int)}
        if vitals and not any(k in _VITALS for k in after):
            # A void: the reading as it was, then what became of it.
            kept = {k: v for k, v in after.items() if k not in _VITALS}
            return f"{format_entry(Vitals(**vitals))} → {_fields(kept, day)}"
        return said or "no change"
    if isinstance(after, dict) and {"kind", "text"} <= after.keys():
        # A note, adverse event or intervention: as the nurse said it.
        words = [str(after[k]) for k in ("type", "severity") if after.get(k)]
        if after.get("serious"):
            words.append("SERIOUS")
        head = " ".join([str(after["kind"]), *words])
        return f"{head}: {after['text']}"
    if isinstance(after, dict) and {"action", "message"} <= after.keys():
        # An acknowledgement: the flag, then what was done.
        return f"{after['message']} → {after['action']}"
    if isinstance(after, dict):
        return _fields(after, day)
    if isinstance(before, dict):
        return f"was {_fields(before, day)}"
    return " → ".join(str(v) for v in (before, after) if v is not None)


def audit_user(row: AuditView) -> str:
    """Who wrote the row: a user, the database itself (its triggers' ``db.*`` rows), or
    nobody signed in (a refused PIN)."""
    if row.user is not None:
        return row.user
    return DATABASE_USER if row.action.startswith("db.") else NO_USER


def audit_detail(row: AuditView) -> Text:
    """The selected row in full, for the panel under the table."""
    text = Text()
    text.append(f"#{row.id} {when(row.at, seconds=True)}  ", style="bold")
    text.append(f"{audit_user(row)}  {row.action}", style="bold")
    where = [f"session {row.session_id}"] if row.session_id is not None else []
    if row.entity not in ("session", "") and row.entity_id is not None:
        where.append(f"{row.entity} {row.entity_id}")
    if where:
        text.append("  " + ", ".join(where))
    text.append(f"\n{describe_change(row)}")
    if row.reason:
        text.append("\nreason: ", style="bold")
        text.append(row.reason)
    return text


def _field_lines(stored: str | None, day: date) -> str:
    data = _parsed(stored)
    if not isinstance(data, dict):
        return "" if data is None else f"  {data}"
    lines = []
    for key, value in data.items():
        if isinstance(value, str) and value[:1] == "{":
            value = _parsed(value)  # a JSON document kept as text (the stored gate): all of it
        lines.append(f"  {key.replace('_', ' ')}: {_shown(value, day)}")
    return "\n".join(lines)


def audit_full(row: AuditView) -> Text:
    """One audit row with everything it holds: every field before and after."""
    day = row.at.astimezone().date()
    text = audit_detail(row)
    for label, stored in (("before", row.before), ("after", row.after)):
        if stored is not None:
            text.append(f"\n{label}:\n", style="bold")
            text.append(_field_lines(stored, day))
    return text


class AuditRowScreen(ModalScreen[None]):
    """One audit row in full (a trigger's row lists every column it watches)."""

    DEFAULT_CSS = """
    AuditRowScreen #audit-row-scroll {
        height: auto;
        max-height: 18;
    }
    """
    BINDINGS = [
        Binding("escape", "close", "Close", id="close_audit_row"),
        Binding("enter", "close", "Close", show=False, id="close_audit_row_enter"),
        Binding("q", "app.quit", "Quit", id="quit_from_audit_row"),
    ]

    def __init__(self, row: AuditView) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Audit row #{self.row.id}  (Esc closes)", classes="title")
            with VerticalScroll(id="audit-row-scroll"):
                yield Static(audit_full(self.row), id="audit-row")

    def action_close(self) -> None:
        self.dismiss(None)


class AuditFilterDialog(SavingDialog[AuditFilterForm]):
    """Which trail to read: a session (or all), a period, a user, an action. Enter reads the
    first page in the dialog's worker; a filter that matches nothing known (no such session,
    a period that ends before it begins) is refused here, with what was typed kept."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_audit_filter")]

    def __init__(
        self, current: AuditFilter, users: Sequence[str], save: Callable[[AuditFilterForm], Any]
    ) -> None:
        super().__init__(save)
        self.current = current
        self.users = tuple(users)

    def compose(self) -> ComposeResult:
        current = self.current

        def typed(moment: datetime | None) -> str:
            return "" if moment is None else moment.astimezone().strftime("%Y-%m-%dT%H:%M")

        since = "" if current.since is None else typed(current.since)
        until = "" if current.until is None else typed(current.until)
        if current.day is not None:
            since = until = current.day.isoformat()
        users: list[tuple[str, str]] = [(u, u) for u in self.users]
        users.append((f"{DATABASE_USER} or {NO_USER}", BY_DATABASE))
        with Vertical(id="dialog", classes="form"):
            yield Label("Audit filter  (Tab moves, Enter reads, Esc cancels)", classes="title")
            yield self.error_line()
            with Grid(classes="fields"):
                yield Label("Session")
                yield Input(
                    value="" if current.session_id is None else str(current.session_id),
                    placeholder="blank: all",
                    id="session",
                    compact=True,
                    max_length=10,
                )
                yield Label("User")
                yield Select(
                    users,
                    prompt="all users",
                    value=current.user if current.user is not None else Select.NULL,
                    id="user",
                    compact=True,
                )
                yield Label("From")
                yield Input(
                    value=since, placeholder="2026-11-27 or 09:00", id="since", compact=True
                )
                yield Label("To")
                yield Input(value=until, placeholder="blank: now", id="until", compact=True)
                yield Label("Action")
                yield Input(
                    value=current.action or "",
                    placeholder="blank: all, or e.g. reading",
                    id="action",
                    compact=True,
                    max_length=80,
                    suggester=SuggestFromList(KNOWN_ACTIONS),
                    classes="wide",
                )
            yield Static(
                "A date alone as To is that whole day. Action: one (reading.record) or a group "
                "(reading). Right arrow takes a suggestion.",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.query_one("#session", Input).focus()

    def form(self) -> AuditFilterForm:
        """The filter as typed (the period is read in the worker, by the database's clock)."""
        session_text = self.query_one("#session", Input).value.strip()
        session_id = None
        if session_text:
            if not re.fullmatch(r"[0-9]{1,10}", session_text) or not 0 < int(session_text) < 2**31:
                raise ValueError("a session is its number, e.g. 12 (blank: all sessions)")
            session_id = int(session_text)
        chosen = self.query_one("#user", Select).value
        user = None if chosen is Select.NULL else str(chosen)
        action = self.query_one("#action", Input).value.strip() or None
        try:
            check_audit_filters(user, action)
        except EntryError as error:
            raise ValueError(str(error)) from None
        return AuditFilterForm(
            session_id,
            user,
            action,
            self.query_one("#since", Input).value,
            self.query_one("#until", Input).value,
        )

    @on(Input.Submitted)
    def _enter(self) -> None:
        try:
            form = self.form()
        except ValueError as error:
            self.refuse(str(error))
            return
        self.submit(form)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The dialog shows its refusals itself (SavingDialog's handler, which Textual runs
        # after this one): the station must not toast them too.
        event.stop()


class AuditScreen(DeskScreen):
    """The audit trail of one session, or of a period (default: today), newest first, a page
    at a time; filters by user and action; the selected row in full under the table."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="audit_close"),
        Binding("enter", "open_row", "Row", priority=True, id="audit_row"),
        Binding("right_square_bracket", "older", "Older", key_display="]", id="audit_older"),
        Binding("left_square_bracket", "newer", "Newer", key_display="[", id="audit_newer"),
        Binding("pagedown", "older", "Older", show=False, priority=True, id="audit_older_page"),
        Binding("pageup", "newer", "Newer", show=False, priority=True, id="audit_newer_page"),
        Binding("slash", "filter", "Filter", key_display="/", id="audit_filter"),
        Binding("f", "filter", "Filter", show=False, id="audit_filter_f"),
        Binding("r", "reload", "Reload", id="audit_reload"),
        Binding("f5", "reload", "Reload", show=False, id="audit_reload_f5"),
        Binding("q", "app.quit", "Quit", id="audit_quit"),
    ]

    def __init__(self, service: Service, *, session_id: int | None = None) -> None:
        super().__init__()
        self.service = service
        self.filter = (
            AuditFilter(session_id=session_id)
            if session_id is not None
            else AuditFilter(today=True)
        )
        self.page: AuditSlice | None = None
        #: 1 is the newest page; older pages count up.
        self.page_number = 1
        self.users: tuple[str, ...] = ()
        #: The page on screen as it was asked for: which way, from which row, its number.
        self._reading: tuple[str, int | None, int] = ("newest", None, 1)

    def compose(self) -> ComposeResult:
        yield self.title_line()
        yield self.status_line()
        table: DataTable[Any] = DataTable(
            id="audit-table", cursor_type="row", cell_padding=0, classes="desk-table"
        )
        table.cursor_foreground_priority = "renderable"
        yield table
        yield Static(id="audit-detail", classes="desk-panel")
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self._columns()
        self._title()
        self.say("reading…")
        self.read("newest")

    # -- reading -----------------------------------------------------------------------

    def read(self, way: str, cursor: int | None = None, number: int = 1) -> None:
        """Read a page in a worker: the newest, or the one older or newer than row ``cursor``
        (``number`` is what the page will be called)."""
        service, users = self.service, self.users
        chosen = self.filter
        self._reading = (way, cursor, number)

        def work() -> AuditLoaded:
            resolved = chosen
            if chosen.today:
                today = service.now().astimezone().date()
                since, until = local_day(today)
                resolved = replace(chosen, since=since, until=until, today=False, day=today)
            page = service.audit_keyset(
                resolved.session_id,
                since=resolved.since,
                until=resolved.until,
                user=resolved.user,
                action=resolved.action,
                before=cursor if way == "older" else None,
                after=cursor if way == "newer" else None,
                limit=AUDIT_PAGE,
            )
            names = users or tuple(service.audit_users())
            return AuditLoaded(resolved, page, names, 1 if not page.newer else number)

        self.load(work, "audit-page")

    def loaded(self, name: str, result: Any) -> None:
        if not isinstance(result, AuditLoaded):
            return
        self.filter, self.page, self.users = result.filter, result.page, result.users
        self.page_number = result.number
        self._title()
        self._fill()

    def _title(self) -> None:
        title = Text("Audit trail · ")
        title.append(self.filter.describe() if not self.filter.today else "today")
        self.query_one("#desk-title", Static).update(title)

    def _columns(self) -> None:
        table = self.query_one("#audit-table", DataTable)
        table.clear(columns=True)
        width = max(self.size.width, 80)
        one_day = self.filter.day is not None or self.filter.today
        self._widths = {
            "time": 9 if one_day else 13,
            "user": 11,
            "action": 19,
            "session": 5,
        }
        # The rest for what changed, less the table's scroll bar.
        self._widths["change"] = max(16, width - sum(self._widths.values()) - 3)
        labels = {
            "time": "Time",
            "user": "User",
            "action": "Action",
            "session": "Sess",
            "change": "Before → after · reason",
        }
        for key, label in labels.items():
            table.add_column(padded(label), key=key, width=self._widths[key])

    def _fill(self) -> None:
        page = self.page
        assert page is not None
        self._columns()
        table = self.query_one("#audit-table", DataTable)
        one_day = self.filter.day is not None
        for row in page.rows:
            moment = row.at.astimezone()
            shown = f"{moment:%H:%M:%S}" if one_day else f"{moment:%d %b %H:%M}"
            change = describe_change(row)
            if row.reason:
                change += f" · reason: {row.reason}"
            user = audit_user(row)
            table.add_row(
                padded(shown),
                padded(
                    Text(truncate(user, self._widths["user"] - 1), style="italic")
                    if row.user is None
                    else truncate(user, self._widths["user"] - 1)
                ),
                padded(truncate(row.action, self._widths["action"] - 1)),
                padded("" if row.session_id is None else str(row.session_id)),
                padded(truncate(change, self._widths["change"] - 1)),
                key=str(row.id),
            )
        if page.rows:
            table.move_cursor(row=0, animate=False)
            self._show_detail(page.rows[0])
            ways = []
            if page.older:
                ways.append("] older")
            if page.newer:
                ways.append("[ newer")
            more = "  ·  ".join(ways) if ways else "no other page"
            self.say(
                f"page {self.page_number}, newest first: {len(page.rows)} rows  ·  {more}  ·  "
                "⏎ whole row  ·  / filter"
            )
        else:
            self.query_one("#audit-detail", Static).update("")
            self.say("No rows match: / changes the filter (a wider period, another user).")
        table.focus()

    @on(DataTable.RowHighlighted, "#audit-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.page is None or event.row_key.value is None:
            return
        wanted = int(event.row_key.value)
        for row in self.page.rows:
            if row.id == wanted:
                self._show_detail(row)
                return

    def action_open_row(self) -> None:
        row = self.selected_row()
        if row is not None:
            self.app.push_screen(AuditRowScreen(row))

    def selected_row(self) -> AuditView | None:
        """The row under the cursor."""
        table = self.query_one("#audit-table", DataTable)
        if self.page is None or not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.page.rows if str(r.id) == key), None)

    def _show_detail(self, row: AuditView) -> None:
        self.query_one("#audit-detail", Static).update(audit_detail(row))

    def on_resize(self) -> None:
        if self.page is not None:
            self._fill()

    # -- keys --------------------------------------------------------------------------

    def action_older(self) -> None:
        if self.page is None or not self.page.older or not self.page.rows:
            self.say("This is the oldest page of this filter (/ widens it).")
            return
        self.read("older", self.page.rows[-1].id, self.page_number + 1)

    def action_newer(self) -> None:
        if self.page is None or not self.page.newer or not self.page.rows:
            self.say("This is the newest page (r reads it again for new rows).")
            return
        self.read("newer", self.page.rows[0].id, max(1, self.page_number - 1))

    def action_reload(self) -> None:
        # The same page again (rows saved meanwhile join the newest page).
        self.read(*self._reading)

    def action_filter(self) -> None:
        service = self.service
        chosen: list[AuditLoaded] = []

        users = self.users

        def save(form: AuditFilterForm) -> None:
            since, until = parse_period(form.since_text, form.until_text, service.now())
            day = None
            if (
                since is not None
                and until is not None
                and (since, until) == local_day(since.astimezone().date())
            ):
                day = since.astimezone().date()
            wanted = AuditFilter(form.session_id, since, until, form.user, form.action, day=day)
            page = service.audit_keyset(
                wanted.session_id,
                since=since,
                until=until,
                user=wanted.user,
                action=wanted.action,
                limit=AUDIT_PAGE,
            )
            chosen.append(AuditLoaded(wanted, page, users, 1))

        def closed(form: AuditFilterForm | None) -> None:
            if form is not None and chosen:
                self.loaded("audit-page", chosen[-1])
                self._reading = ("newest", None, 1)

        self.app.push_screen(AuditFilterDialog(self.filter, self.users, save), closed)


# -- REMS --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemsLoaded:
    """The REMS forms as read, and the day they were judged on."""

    forms: tuple[RemsForm, ...]
    more: bool
    today: date
    due_only: bool


#: How the REMS form says the patient is still in observation (monitor.core.rems).
NOT_DISCHARGED = "not discharged"
#: The list shows at most this many forms when it shows all of them (newest first).
REMS_ALL_LIMIT = 200


def rems_days(form: RemsForm, today: date) -> Text:
    """Days left or overdue: ``3 d left``, ``due today``, ``2 d overdue`` (red), ``sent``."""
    if form.submitted:
        return Text("submitted", style="green")
    if form.due_date is None:
        return Text("-")
    days = (form.due_date - today).days
    if days < 0:
        return Text(f"{-days} d overdue", style="bold red")
    if days == 0:
        return Text("due today", style="bold yellow")
    return Text(f"{days} d left")


def _yes_no(value: bool | None, unknown: str = "not answered") -> str:
    return unknown if value is None else "yes" if value else "no"


def _bp(bp: BloodPressure | None) -> str:
    return "not recorded" if bp is None else f"{bp} ({bp.measured_at.astimezone():%H:%M})"


def _answer(answer: Answer, source: str = "proposal") -> Text:
    text = Text(_yes_no(answer.value, "unknown"), style="bold")
    if answer.correction is not None:
        c = answer.correction
        text.append(
            f"  corrected by {c.by} {when(c.at)}: {c.reason} (proposal "
            f"{_yes_no(answer.proposal, 'unknown')})",
            style="yellow",
        )
    else:
        text.append(f"  ({source})", style="dim")
    if answer.evidence:
        text.append("\n" + "; ".join(answer.evidence))
    return text


CORRECTION_LABELS = {
    "sedation": "Sedation",
    "dissociation": "Dissociation",
    "respiratory_depression": "Respiratory depression",
}


def rems_form_lines(form: RemsForm, today: date) -> list[tuple[str, Text]]:
    """Every answer of the REMS Patient Monitoring Form (clinical.md's list) with where it
    comes from, then what is missing, as (label, value) lines."""
    lines: list[tuple[str, Text]] = []

    def add(label: str, value: str | Text, style: str = "") -> None:
        lines.append((label, value if isinstance(value, Text) else Text(value, style=style)))

    status = form.status(today)
    add(
        "Status",
        Text(
            status, style="green" if form.submitted else "bold red" if "overdue" in status else ""
        ),
    )
    if form.submission is not None:
        add("Submitted", f"by {form.submission.by}, {when(form.submission.at)}", "green")
    else:
        add("Submitted", "not yet (m marks it submitted)")
    if form.missing:
        add("Missing", Text("\n".join(form.missing), style="bold red"))
    else:
        add("Missing", "nothing", "green")
    add("Patient", f"{form.patient} (name, birth date and sex: the clinic fills them in)")
    first = _yes_no(form.first_treatment)
    if form.first_treatment:
        first += " (enrolled in the REMS: the clinic answers)"
    add("First treatment", first)
    add(
        "Medication",
        " · ".join(f"{label} {_yes_no(form.meds.get(key))}" for key, label in MED_QUESTIONS),
    )
    add("Provider, setting", "the clinic fills them in")
    add("Treatment date", "-" if form.treatment_date is None else form.treatment_date.isoformat())
    add("Due date", "-" if form.due_date is None else f"{form.due_date.isoformat()} (7 days after)")
    add("Dose, lot", f"{form.dose or 'not recorded'}, lot {form.lot or 'not recorded'}")
    if form.minutes_monitored is None:
        add("Minutes monitored", "no reading yet")
    else:
        add("Minutes monitored", f"{form.minutes_monitored} (to {form.monitored_until})")
    if form.ready_minute is not None:
        ready = f"{form.ready_minute} min after dosing, by {form.ready_minute_by or '-'}"
        if form.ready_minute_proposed is not None:
            ready += f" (proposed {form.ready_minute_proposed})"
    elif form.ready_minute_proposed is not None:
        ready = f"not confirmed (proposed {form.ready_minute_proposed})"
    else:
        ready = "not confirmed"
    add("Ready to leave", ready)
    add("Vitals OK before", _answer(form.vitals_ok_before, "record"))
    add("Vitals OK at end", _answer(form.vitals_ok_end, "record"))
    add("BP before dosing", _bp(form.bp_before))
    add("BP near 40 min", _bp(form.bp_at_40))
    add("BP before the end", _bp(form.bp_end))
    add("Sedation", _answer(form.sedation))
    add("Dissociation", _answer(form.dissociation))
    add("Resp. depression", _answer(form.respiratory_depression))
    add("Serious AEs", "\n".join(form.serious_adverse_events) or "none")
    return lines


def lines_grid(lines: Sequence[tuple[str, str | Text]], grid_id: str) -> Grid:
    """Labels and values in two columns, values wrapping under their own column (the value
    of line i is ``#GRID-value-i``)."""
    cells: list[Static] = []
    for i, (label, value) in enumerate(lines):
        cells.append(Static(label, classes="label", id=f"{grid_id}-label-{i}"))
        cells.append(Static(value, id=f"{grid_id}-value-{i}"))
    return Grid(*cells, classes="desk-grid", id=grid_id)


class RemsFormScreen(DeskScreen):
    """One REMS form: every answer with its source, what is missing, due date, submission.
    ``m`` and ``c`` hand the form back to the list, which asks the PIN."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="rems_form_close"),
        Binding("m", "choose('submit')", "Mark submitted", id="rems_form_submit"),
        Binding("c", "choose('correct')", "Correct", id="rems_form_correct"),
        Binding("q", "app.quit", "Quit", id="rems_form_quit"),
    ]

    def __init__(self, form: RemsForm, today: date) -> None:
        super().__init__()
        self.form = form
        self.today = today

    def compose(self) -> ComposeResult:
        yield Static(
            f"REMS Patient Monitoring Form · {self.form.patient} · session {self.form.session_id}",
            classes="desk-title",
        )
        with VerticalScroll(classes="desk-scroll", id="rems-form-scroll"):
            yield lines_grid(rems_form_lines(self.form, self.today), "rems-form")
        yield Footer(show_command_palette=False, compact=True)

    def action_choose(self, what: str) -> None:
        self.dismiss(what)


@dataclass(frozen=True)
class RemsSubmit:
    """Mark submitted, signed with the PIN."""

    pin: str


class _SignedRemsDialog(SavingDialog[Any]):
    """A REMS dialog signed with the PIN (a refused PIN is cleared, as in every signed
    dialog; everything else typed stays)."""

    PIN_FIELD = "rems-pin"

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The dialog shows its refusals itself (SavingDialog's handler, which Textual runs
        # after this one): the station must not toast them too.
        event.stop()


class RemsSubmitDialog(_SignedRemsDialog):
    """Mark a form submitted: the form's state, what is still missing, and the PIN again."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_rems_submit")]

    def __init__(self, form: RemsForm, today: date, save: Callable[[RemsSubmit], Any]) -> None:
        super().__init__(save)
        self.form = form
        self.today = today

    def compose(self) -> ComposeResult:
        form = self.form
        with Vertical(id="dialog"):
            yield Label(
                f"Mark the REMS form of {form.patient} (session {form.session_id}) submitted?  "
                "(Esc cancels)",
                classes="title",
            )
            yield self.error_line()
            facts = Text(
                f"Treated {day_text(form.treatment_date)}, due {day_text(form.due_date)}: "
                f"{form.status(self.today)}.\n"
            )
            if form.missing:
                facts.append("Still missing on the form:\n", style="bold yellow")
                for item in form.missing:
                    facts.append(f"  {item}\n", style="yellow")
            facts.append("Who and when are kept with the answers as they stand now.")
            yield Static(facts, id="rems-submit-facts")
            yield pin_input("your PIN: marking submitted is signed", "rems-pin")

    def on_mount(self) -> None:
        self.query_one("#rems-pin", Input).focus()

    @on(Input.Submitted, "#rems-pin")
    def _signed(self, event: Input.Submitted) -> None:
        if not event.value:
            self.refuse("marking submitted is signed: type your PIN")
            return
        self.submit(RemsSubmit(event.value))


@dataclass(frozen=True)
class RemsFix:
    """A supervisor's answer replacing a proposal, with the reason, signed with the PIN."""

    field: str
    value: bool
    reason: str
    pin: str


class RemsCorrectDialog(_SignedRemsDialog):
    """Correct a proposal (sedation, dissociation, respiratory depression): the answer now and
    its evidence, the new answer, the reason (kept beside the proposal) and the PIN."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_rems_correct")]

    def __init__(self, form: RemsForm, save: Callable[[RemsFix], Any]) -> None:
        super().__init__(save)
        self.form = form

    def compose(self) -> ComposeResult:
        form = self.form
        choices = [
            (f"{CORRECTION_LABELS[f]}: now {_yes_no(form.answer(f).value, 'unknown')}", f)
            for f in CORRECTABLE
        ]
        with Vertical(id="dialog", classes="form"):
            yield Label(
                f"Correct a REMS answer of {form.patient} (session {form.session_id})  "
                "(Esc cancels)",
                classes="title",
            )
            yield self.error_line()
            with Grid(classes="fields"):
                yield Label("Answer")
                yield Select(
                    choices,
                    value=CORRECTABLE[0],
                    allow_blank=False,
                    id="field",
                    compact=True,
                    classes="wide",
                )
                yield Label("New answer")
                yield Select(
                    [("yes", True), ("no", False)], prompt="yes / no", id="value", compact=True
                )
                yield Label("")
                yield Label("")
                yield Label("Reason")
                yield Input(
                    placeholder="why the record's proposal is wrong",
                    id="reason",
                    compact=True,
                    max_length=500,
                    classes="wide",
                )
                yield Label("Your PIN")
                yield pin_input("signs it", "rems-pin", compact=True)
            yield Static(id="rems-now")

    def on_mount(self) -> None:
        self._field_changed()
        self.query_one("#field", Select).focus()

    @on(Select.Changed, "#field")
    def _field_changed(self) -> None:
        field = str(self.query_one("#field", Select).value)
        answer = self.form.answer(field)
        now = Text("Now: ", style="bold")
        now.append_text(_answer(answer))
        self.query_one("#rems-now", Static).update(now)
        if answer.value is not None:
            # The usual correction turns the answer over: offer that.
            self.query_one("#value", Select).value = not answer.value

    def form_typed(self) -> RemsFix:
        """The correction as typed; ValueError says what to fix."""
        field = str(self.query_one("#field", Select).value)
        chosen = self.query_one("#value", Select).value
        if chosen is Select.NULL:
            raise ValueError("choose the new answer: yes or no")
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            raise ValueError("a correction needs its reason (kept beside the proposal)")
        pin = self.query_one("#rems-pin", Input).value
        if not pin:
            raise ValueError("a correction is signed: type your PIN")
        return RemsFix(field, bool(chosen), reason, pin)

    @on(Input.Submitted, "#reason")
    def _to_pin(self) -> None:
        self.query_one("#rems-pin", Input).focus()

    @on(Input.Submitted, "#rems-pin")
    def _signed(self) -> None:
        try:
            fix = self.form_typed()
        except ValueError as error:
            self.refuse(str(error))
            return
        self.submit(fix)


class RemsScreen(DeskScreen):
    """REMS forms of esketamine sessions: due within 7 days and overdue (``a``: all), Enter
    for the form, ``m`` mark submitted, ``c`` correct a proposal (supervisors, PIN again)."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="rems_close"),
        Binding("enter", "open_form", "Form", id="rems_open", priority=True),
        Binding("m", "submit", "Mark sent", id="rems_submit"),
        Binding("c", "correct", "Correct", id="rems_correct"),
        Binding("a", "toggle_due", "Due/all", id="rems_toggle"),
        Binding("r", "reload", "Reload", id="rems_reload"),
        Binding("f5", "reload", "Reload", show=False, id="rems_reload_f5"),
        Binding("q", "app.quit", "Quit", id="rems_quit"),
    ]

    def __init__(self, service: Service, user: UserView) -> None:
        super().__init__()
        self.service = service
        self.user = user
        self.due_only = True
        self.loaded_forms: RemsLoaded | None = None
        #: A form to put the cursor on once the list is read again.
        self._select: int | None = None

    def compose(self) -> ComposeResult:
        yield self.title_line()
        yield self.status_line()
        table: DataTable[Any] = DataTable(
            id="rems-table", cursor_type="row", cell_padding=0, classes="desk-table"
        )
        table.cursor_foreground_priority = "renderable"
        yield table
        yield Static(id="rems-panel", classes="desk-panel")
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#rems-table", DataTable)
        for key, label, width in self.COLUMNS:
            table.add_column(padded(label), key=key, width=width)
        self._title()
        self.say("reading…")
        self.action_reload()

    #: (key, label, width): within 80 columns, the missing items take the rest.
    COLUMNS = (
        ("patient", "Patient", 12),
        ("treated", "Treated", 11),
        ("due", "Due", 11),
        ("days", "Days", 13),
        ("sent", "Sent", 5),
        ("missing", "Missing", 24),
    )

    def _title(self) -> None:
        which = (
            "due within 7 days and overdue (a: all)"
            if self.due_only
            else "all, newest first (a: due only)"
        )
        self.query_one("#desk-title", Static).update(f"REMS forms · {which}")

    def action_reload(self) -> None:
        service, due = self.service, self.due_only

        def work() -> RemsLoaded:
            page = service.rems_list(due=due, limit=None if due else REMS_ALL_LIMIT)
            forms = tuple(page.forms)
            return RemsLoaded(forms, page.more, service.today(), due)

        self.load(work, "rems-list")

    def action_toggle_due(self) -> None:
        self.due_only = not self.due_only
        self._title()
        self.say("reading…")
        self.action_reload()

    def loaded(self, name: str, result: Any) -> None:
        if not isinstance(result, RemsLoaded) or result.due_only != self.due_only:
            return
        self.loaded_forms = result
        table = self.query_one("#rems-table", DataTable)
        selected = self._select if self._select is not None else self.selected_id()
        table.clear()
        for form in result.forms:
            missing = f"{len(form.missing)}: {form.missing[0]}" if form.missing else "-"
            table.add_row(
                padded(truncate(form.patient, 11)),
                padded(day_text(form.treatment_date)),
                padded(day_text(form.due_date)),
                padded(rems_days(form, result.today)),
                padded(Text("yes", style="green") if form.submitted else "no"),
                padded(Text(truncate(missing, 23), style="yellow" if form.missing else "")),
                key=str(form.session_id),
            )
        self._select = None
        if selected is not None and str(selected) in table.rows:
            table.move_cursor(row=table.get_row_index(str(selected)), animate=False)
        self._panel()
        count = len(result.forms)
        if not count:
            self.say(
                "No form is due within 7 days or overdue (a shows all)."
                if result.due_only
                else "No REMS forms: no esketamine session has been dosed."
            )
        elif not self.query_one("#desk-status", Static).has_class("-done"):
            more = f" (the newest {REMS_ALL_LIMIT})" if result.more else ""
            self.say(f"{count} form{'s' if count != 1 else ''}{more} · Enter opens the form")
        table.focus()

    def selected_id(self) -> int | None:
        """The session of the form under the cursor."""
        table = self.query_one("#rems-table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key is None else int(key)

    def selected(self) -> RemsForm | None:
        """The form under the cursor, as last read."""
        wanted = self.selected_id()
        if self.loaded_forms is None or wanted is None:
            return None
        return next((f for f in self.loaded_forms.forms if f.session_id == wanted), None)

    @on(DataTable.RowHighlighted, "#rems-table")
    def _panel(self) -> None:
        form = self.selected()
        panel = self.query_one("#rems-panel", Static)
        if form is None or self.loaded_forms is None:
            panel.update("")
            return
        text = Text()
        text.append(f"{form.patient} · session {form.session_id} · ", style="bold")
        text.append(f"treated {day_text(form.treatment_date)}, due {day_text(form.due_date)}: ")
        text.append(form.status(self.loaded_forms.today))
        if form.submission is not None:
            text.append(
                f" · submitted by {form.submission.by} {when(form.submission.at)}", style="green"
            )
        text.append("\n")
        if form.missing:
            text.append("Missing: " + "; ".join(form.missing), style="yellow")
        else:
            text.append("Nothing missing.", style="green")
        panel.update(text)

    def action_open_form(self) -> None:
        form = self.selected()
        if form is None or self.loaded_forms is None:
            return

        def chosen(what: str | None) -> None:
            if what == "submit":
                self.action_submit()
            elif what == "correct":
                self.action_correct()

        self.app.push_screen(RemsFormScreen(form, self.loaded_forms.today), chosen)

    def _supervisor(self, what: str) -> bool:
        if self.user.role == "supervisor":
            return True
        self.say(
            f"Only a supervisor {what}: you are signed in as {self.user.name} ({self.user.role}).",
            "error",
        )
        return False

    def action_submit(self) -> None:
        form = self.selected()
        if form is None or self.loaded_forms is None:
            self.say("No form selected.", "error")
            return
        if not self._supervisor("marks a REMS form submitted"):
            return
        if form.submission is not None:
            self.say(
                f"Already submitted: by {form.submission.by}, {when(form.submission.at)}.",
                "error",
            )
            return
        if NOT_DISCHARGED in form.missing:
            self.say(
                f"{form.patient} is still in observation: the form is submitted after discharge.",
                "error",
            )
            return
        service, name = self.service, self.user.name
        done: list[RemsForm] = []

        def save(signed: RemsSubmit) -> None:
            service.authenticate(name, signed.pin)
            done.append(service.rems_submit(form.session_id, by=name))

        def closed(signed: RemsSubmit | None) -> None:
            if signed is not None and done:
                sent = done[-1].submission
                assert sent is not None
                self.say(
                    f"The REMS form of {form.patient} (session {form.session_id}) is marked "
                    f"submitted by {sent.by} at {sent.at.astimezone():%H:%M}.",
                    "done",
                )
                self._select = form.session_id
                self.action_reload()

        self.app.push_screen(RemsSubmitDialog(form, self.loaded_forms.today, save), closed)

    def action_correct(self) -> None:
        form = self.selected()
        if form is None:
            self.say("No form selected.", "error")
            return
        if not self._supervisor("corrects a REMS answer"):
            return
        if form.submission is not None:
            self.say(
                "This form is already submitted: a correction would no longer match the form sent.",
                "error",
            )
            return
        service, name = self.service, self.user.name
        done: list[RemsForm] = []

        def save(fix: RemsFix) -> None:
            service.authenticate(name, fix.pin)
            done.append(
                service.rems_correct(
                    form.session_id, field=fix.field, value=fix.value, reason=fix.reason, by=name
                )
            )

        def closed(fix: RemsFix | None) -> None:
            if fix is not None and done:
                self.say(
                    f"{CORRECTION_LABELS[fix.field]} of {form.patient} corrected to "
                    f"{'yes' if fix.value else 'no'} (the proposal is kept beside it).",
                    "done",
                )
                self._select = form.session_id
                self.action_reload()

        self.app.push_screen(RemsCorrectDialog(form, save), closed)


# -- quality -----------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:g} min"


def quality_lines(report: QualityReport) -> list[tuple[str, str]]:
    """Every figure of the quality summary (issue #11, item 6) as (label, value) lines."""
    lines: list[tuple[str, str]] = []
    by_protocol = ", ".join(f"{p} {n}" for p, n in report.by_protocol.items())
    lines.append(("Sessions", f"{report.sessions}" + (f": {by_protocol}" if by_protocol else "")))
    if report.checks:
        lines.append(
            (
                "Checks after dosing",
                f"{report.checks}: on time {report.checks_on_time} "
                f"({_percent(report.share_on_time)}), late {report.checks_late} "
                f"({_percent(report.share_late)}), missed {report.checks_missed} "
                f"({_percent(report.share_missed)}), not reached {report.checks_open}",
            )
        )
    else:
        lines.append(("Checks after dosing", "none"))
    if report.high_flags:
        lines.append(
            (
                "High flag → ack",
                f"median {_minutes(report.high_ack_median_min)}, 90th percentile "
                f"{_minutes(report.high_ack_p90_min)} ({report.high_acknowledged} acknowledged, "
                f"{report.high_unacknowledged} never)",
            )
        )
    else:
        lines.append(("High flag → ack", "no high flags"))
    lines.append(
        (
            "Severe BP",
            f"{plural(report.severe_bp_sessions, 'session')} with a high flag on SBP or DBP "
            "above its limit",
        )
    )
    lines.append(("Override discharges", f"{report.override_discharges}"))
    lines.append(
        (
            "Late entries",
            f"{plural(report.late_entries, 'reading')} in "
            f"{plural(report.late_entry_sessions, 'session')}",
        )
    )
    types = ", ".join(f"{t} {n}" for t, n in report.adverse_by_type.items())
    lines.append(
        (
            "Adverse events",
            f"{report.adverse_events} ({report.serious_adverse_events} serious)"
            + (f": {types}" if types else ""),
        )
    )
    if report.rems_overdue is None:
        lines.append(("REMS forms overdue", report.rems_note or "not available"))
    else:
        lines.append(
            (
                "REMS forms overdue",
                f"{report.rems_overdue} not marked submitted, of {report.rems_past_due} past "
                "their due date",
            )
        )
    return lines


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class QualityPeriod:
    """The period of the summary: a Monday-Sunday week, or any typed period."""

    since: datetime | None
    until: datetime | None
    #: The Monday of the week shown, or of the week the typed period begins in.
    week: date
    typed: bool = False

    @classmethod
    def for_week(cls, monday: date) -> QualityPeriod:
        """The local Monday 00:00 to Sunday 23:59:59.999999 of the week."""
        return cls(local_day(monday)[0], local_day(monday + timedelta(days=6))[1], monday)

    def describe(self) -> str:
        """The period in words."""
        return period_text(self.since, self.until)


class QualityPeriodDialog(SavingDialog[QualityPeriod]):
    """Type any period (a date alone as To is that whole day)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_quality_period")]

    def __init__(
        self,
        current: QualityPeriod,
        clock: Callable[[], datetime],
        save: Callable[[QualityPeriod], Any],
    ) -> None:
        super().__init__(save)
        self.current = current
        self.clock = clock

    def compose(self) -> ComposeResult:
        def typed(moment: datetime | None) -> str:
            return "" if moment is None else moment.astimezone().date().isoformat()

        with Vertical(id="dialog", classes="form"):
            yield Label("Quality summary: which discharges?  (Enter, Esc cancels)", classes="title")
            yield self.error_line()
            with Grid(classes="fields"):
                yield Label("From")
                yield Input(
                    value=typed(self.current.since),
                    placeholder="2026-11-01",
                    id="since",
                    compact=True,
                )
                yield Label("To")
                yield Input(
                    value=typed(self.current.until),
                    placeholder="2026-11-30",
                    id="until",
                    compact=True,
                )
            yield Static(
                "Sessions discharged from From to To, both included; a date alone as To is "
                "that whole day. Also 2026-11-27T09:00, now, 90 min ago.",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.query_one("#since", Input).focus()

    @on(Input.Submitted, "#since")
    def _to_until(self) -> None:
        self.query_one("#until", Input).focus()

    @on(Input.Submitted, "#until")
    def _enter(self) -> None:
        since_text = self.query_one("#since", Input).value
        until_text = self.query_one("#until", Input).value
        try:
            since, until = parse_period(since_text, until_text, self.clock())
        except Refused as error:
            self.refuse(str(error))
            return
        start = (since or until or self.clock()).astimezone().date()
        self.submit(QualityPeriod(since, until, week_of(start), typed=True))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The dialog shows its refusals itself (SavingDialog's handler, which Textual runs
        # after this one): the station must not toast them too.
        event.stop()


@dataclass(frozen=True)
class QualityLoaded:
    """A summary as read, with the period it is of."""

    period: QualityPeriod
    report: QualityReport


class QualityScreen(DeskScreen):
    """The quality summary of the sessions discharged in a period: last week (Monday to
    Sunday, local time) at first, ``[``/``]`` the week before/after, ``p`` any period."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="quality_close"),
        Binding(
            "left_square_bracket", "week(-1)", "Prev week", key_display="[", id="quality_previous"
        ),
        Binding("right_square_bracket", "week(1)", "Next week", key_display="]", id="quality_next"),
        Binding("p", "period", "Period", id="quality_period"),
        Binding("r", "reload", "Reload", id="quality_reload"),
        Binding("f5", "reload", "Reload", show=False, id="quality_reload_f5"),
        Binding("q", "app.quit", "Quit", id="quality_quit"),
    ]

    def __init__(self, service: Service, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.service = service
        self.clock = clock
        this_week = week_of(clock().astimezone().date())
        self.period = QualityPeriod.for_week(this_week - timedelta(days=7))
        self.report: QualityReport | None = None

    def compose(self) -> ComposeResult:
        yield self.title_line()
        yield self.status_line()
        with VerticalScroll(classes="desk-scroll", id="quality-scroll"):
            yield lines_grid(
                [(label, "") for label, _ in quality_lines(QualityReport(None, None))], "quality"
            )
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self._title()
        self.say("reading…")
        self.action_reload()

    def _title(self) -> None:
        self.query_one("#desk-title", Static).update(
            f"Quality summary · discharged {self.period.describe()}"
        )

    def action_reload(self) -> None:
        service, period = self.service, self.period

        def work() -> QualityLoaded:
            return QualityLoaded(period, service.quality_report(period.since, period.until))

        self.load(work, "quality")

    def loaded(self, name: str, result: Any) -> None:
        if not isinstance(result, QualityLoaded) or result.period != self.period:
            return
        self.report = result.report
        for i, (_, value) in enumerate(quality_lines(result.report)):
            self.query_one(f"#quality-value-{i}", Static).update(value)
        if result.report.sessions:
            self.say("Sessions discharged in the period: their figures are final at discharge.")
        else:
            self.say("No session was discharged in this period: [ and ] change the week.")

    def action_week(self, step: int) -> None:
        self.period = QualityPeriod.for_week(self.period.week + timedelta(days=7 * step))
        self._title()
        self.say("reading…")
        self.action_reload()

    def action_period(self) -> None:
        service = self.service
        read: list[QualityLoaded] = []

        def save(period: QualityPeriod) -> None:
            # The summary is read in the dialog's worker: a failure shows there, with the
            # period typed kept.
            read.append(QualityLoaded(period, service.quality_report(period.since, period.until)))

        def closed(period: QualityPeriod | None) -> None:
            if period is not None and read:
                self.period = period
                self._title()
                self.loaded("quality", read[-1])

        self.app.push_screen(QualityPeriodDialog(self.period, self.clock, save), closed)
