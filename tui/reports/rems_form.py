"""One REMS form's answers (Enter on the tracker)."""

from __future__ import annotations

from datetime import date

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from monitor.core.rems import RemsForm
from tui.reports.desk import DeskScreen, lines_grid
from tui.reports.rems_text import rems_form_lines


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
