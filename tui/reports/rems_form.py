"""One REMS form's answers (Enter on the tracker), as :mod:`monitor.present.rems` tells them."""

from __future__ import annotations

from datetime import date

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from monitor.core.rems import RemsForm
from monitor.present.parts import plain
from monitor.present.rems import RemsStory, rems_story
from tui.footer import ScreenFooter
from tui.reports.desk import DeskScreen, lines_grid
from tui.styled import QUIET_STYLE, lines_text, row_text


def form_lines(story: RemsStory) -> list[tuple[str, Text]]:
    """The form's rows as (label, value) lines, every correction last when there were more
    than one (its answer's row shows the latest)."""
    lines = [(row.label, row_text(row, QUIET_STYLE)) for row in story.rows]
    if story.corrections:
        lines.append(("Corrections", lines_text(story.corrections, QUIET_STYLE)))
    return lines


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
        story = rems_story(self.form, self.today)
        yield Static(plain(story.title), classes="desk-title")
        with VerticalScroll(classes="desk-scroll", id="rems-form-scroll"):
            yield lines_grid(form_lines(story), "rems-form")
        yield ScreenFooter()

    def action_choose(self, what: str) -> None:
        self.dismiss(what)
