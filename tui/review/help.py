"""Review mode's help screen: the queue's and the log's keys."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import (
    Label,
    Static,
)

from tui.review import DIALOG_CSS

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

    CSS_PATH = DIALOG_CSS
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
