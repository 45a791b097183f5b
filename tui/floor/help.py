"""The station's keys, as its help screen (`?`) lists them."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import (
    Label,
    Static,
)

from tui.dialogs.base import CSS as DIALOG_CSS

#: The station's keys, as the help screen lists them.
KEY_HELP = (
    ("r", "record a reading for the selected patient (one line, e.g. 142/88 hr 76 spo2 98)"),
    ("a", "alarms: acknowledge flags with what was done; say why a check was not done"),
    ("e", "note, adverse event or intervention"),
    ("Enter", "session detail: schedule, readings, events, the session and its gate"),
    ("n", "new session"),
    ("d", "dose given now (the dosing gate; an override: reason, PIN, a co-signer)"),
    ("i", "IV: the infusion ended (once recorded: correct it)"),
    ("x", "discharge (the gate; escort or none: why, no-driving, REMS minute)"),
    ("m", "monitor readings not validated (`?` after a value): validate, or reject one"),
    ("u", "switch user"),
    ("v", "review: sessions to review and sign off (supervisors)"),
    ("Up/Down, Home/End", "choose a patient"),
    ("?", "this help"),
    ("q", "quit (in a text field, Esc closes the field first)"),
)


class HelpScreen(ModalScreen[None]):
    """Every key of the station on one screen."""

    CSS_PATH = DIALOG_CSS
    BINDINGS = [
        Binding("escape", "close", "Close", id="close_help"),
        Binding("q", "app.quit", "Quit", id="quit_from_help"),
        Binding("question_mark", "close", "Close", show=False, id="close_help_again"),
    ]

    def compose(self) -> ComposeResult:
        # Two columns: a description that wraps goes on under itself (a hanging indent),
        # never back at the key's column.
        grid = Table.grid(padding=(0, 2))
        grid.add_column(justify="right", style="bold", no_wrap=True)
        grid.add_column(ratio=1)
        for key, does in KEY_HELP:
            grid.add_row(key, does)
        with Vertical(id="dialog"):
            yield Label("Keys  (Esc closes)", classes="title")
            yield Static(grid, id="key-help")

    def action_close(self) -> None:
        self.dismiss(None)
