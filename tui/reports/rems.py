"""The REMS tracker screen: forms due and overdue, submitted and corrected here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from monitor.core.rems import RemsForm
from monitor.core.rems_rules import correct_refusal, submit_refusal
from monitor.core.review import Refusal
from monitor.present.parts import when
from monitor.present.rems import TrackerRow, tracker_rows
from monitor.services import Service
from monitor.views import UserView
from tui.render import padded, truncate
from tui.reports.desk import DeskScreen
from tui.reports.rems_correct import CORRECTION_LABELS, RemsCorrectDialog, RemsFix
from tui.reports.rems_form import RemsFormScreen
from tui.reports.rems_submit import RemsSubmit, RemsSubmitDialog
from tui.styled import QUIET_STYLE, part_text


@dataclass(frozen=True)
class RemsLoaded:
    """The REMS forms as read, and the day they were judged on."""

    forms: tuple[RemsForm, ...]
    #: The forms as the tracker lists them (:func:`monitor.present.rems.tracker_rows`).
    rows: tuple[TrackerRow, ...]
    more: bool
    today: date
    due_only: bool


#: The list shows at most this many forms when it shows all of them (newest first).
REMS_ALL_LIMIT = 200


class RemsScreen(DeskScreen):
    """REMS forms of esketamine sessions: due within 7 days and overdue (``a``: all), Enter
    for the form, ``m`` mark submitted, ``c`` correct an answer (supervisors, PIN again)."""

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
        return self.table_and_panel("rems-table", "rems-panel")

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
            forms, today = tuple(page.forms), service.today()
            return RemsLoaded(forms, tracker_rows(forms, today), page.more, today, due)

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
        for row in result.rows:
            missing = row.missing_short
            table.add_row(
                padded(truncate(row.patient, 11)),
                padded(row.treated_day),
                padded(row.due_day),
                padded(part_text(row.left)),
                padded(part_text(row.submitted)),
                padded(Text(truncate(missing.text, 23), style=QUIET_STYLE[missing.role])),
                key=str(row.session_id),
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
        loaded = self.loaded_forms
        row = loaded.rows[loaded.forms.index(form)]
        text = Text()
        text.append(f"{row.patient} · session {row.session_id} · ", style="bold")
        text.append(f"treated {row.treated_day}, due {row.due_day}: {row.status.text}")
        if form.submission is not None:
            text.append(
                f" · submitted by {form.submission.by} {when(form.submission.at)}", style="green"
            )
        text.append("\n")
        if form.missing:
            text.append(f"Missing: {row.missing.text}", style=QUIET_STYLE[row.missing.role])
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

    def _refused(self, refusal: Refusal | None) -> bool:
        """Say why the core refuses the action (docs/clinical.md, "The REMS Patient Monitoring
        Form"), if it does."""
        if refusal is not None:
            self.say(refusal.reason, "error")
        return refusal is not None

    def action_submit(self) -> None:
        form = self.selected()
        if form is None or self.loaded_forms is None:
            self.say("No form selected.", "error")
            return
        if self._refused(submit_refusal(form, user=self.user.name, role=self.user.role)):
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
        if self._refused(correct_refusal(form, user=self.user.name, role=self.user.role)):
            return
        service, name = self.service, self.user.name
        done: list[RemsForm] = []

        def save(fix: RemsFix) -> None:
            service.authenticate(name, fix.pin)
            value: Any = fix.value  # yes/no, or the ready minute: the services check it
            done.append(
                service.rems_correct(
                    form.session_id, field=fix.field, value=value, reason=fix.reason, by=name
                )
            )

        def closed(fix: RemsFix | None) -> None:
            if fix is not None and done:
                self.say(
                    f"{CORRECTION_LABELS[fix.field]} of {form.patient} corrected to "
                    f"{fix.shown} (the proposal is kept beside it).",
                    "done",
                )
                self._select = form.session_id
                self.action_reload()

        self.app.push_screen(RemsCorrectDialog(form, save), closed)
