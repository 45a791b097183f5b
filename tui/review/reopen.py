"""The reopen dialog: a signed session opened again, signed with the PIN."""

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

from monitor.present.session import clock_text
from monitor.views import SessionView
from tui.dialogs.base import SavingDialog
from tui.inputs import Input
from tui.review import DIALOG_CSS


@dataclass(frozen=True)
class Reopening:
    """Why a signed session is reopened, signed with the PIN."""

    reason: str
    pin: str = field(repr=False)


class ReopenScreen(SavingDialog[Reopening]):
    """Withdraw a sign-off so the record can be corrected; the reason is kept, and the
    session must be signed off again."""

    CSS_PATH = DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_reopen")]
    ENTER_MOVES_ON = True
    REFUSAL_FIELD = "reason"

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
        self.set_focus(self.query_one("#reason", Input))

    def form(self) -> Reopening:
        return Reopening(self.reason("reopening a session"), self.pin())
