"""The void dialog: a reading entered in error, signed with the PIN."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import (
    Button,
    Label,
    Static,
)

from monitor.views import ReadingView
from tui.dialogs.base import SavingDialog
from tui.inputs import Input
from tui.review import DIALOG_CSS
from tui.review.log_text import reading_text


@dataclass(frozen=True)
class VoidForm:
    """Why a reading is void, signed with the PIN."""

    reason: str
    pin: str = field(repr=False)


class VoidScreen(SavingDialog[VoidForm]):
    """Void a reading ("entered in error"): it stays, struck through, and counts for nothing;
    its open flags are acknowledged with the reason."""

    CSS_PATH = DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_void")]
    ENTER_MOVES_ON = True
    REFUSAL_FIELD = "reason"

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
        self.set_focus(self.query_one("#reason", Input))

    def form(self) -> VoidForm:
        return VoidForm(self.reason("voiding a reading"), self.pin())
