"""The sign-off dialog: a supervisor signs a reviewed session with the PIN."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import (
    Button,
    Label,
    Static,
)

from monitor.present.parts import plural
from monitor.present.session import clock_text
from monitor.views import SessionView, UserView
from tui.dialogs.base import SavingDialog
from tui.inputs import Input
from tui.review import DIALOG_CSS


@dataclass(frozen=True)
class SignOff:
    """The PIN that signs the session off as reviewed."""

    pin: str = field(repr=False)


class SignScreen(SavingDialog[SignOff]):
    """Sign the session off: shows the name, the time and the meaning ("reviewed") before
    signing, and what is still open in the record."""

    CSS_PATH = DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_sign")]
    ENTER_MOVES_ON = True

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
                said.append(
                    f"\n{plural(len(open_flags), 'flag')} never acknowledged.", "bold yellow"
                )
            if unexplained:
                said.append(
                    f"\n{plural(len(unexplained), 'missed check')} with no reason recorded.",
                    "bold yellow",
                )
            yield Static(said, id="sign-meaning")
            with Grid(classes="fields two"):
                yield Label("Your PIN")
                yield self.pin_field()
            with Horizontal(classes="buttons"):
                yield Button("Sign off", variant="success", id="save", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#pin", Input))

    def form(self) -> SignOff:
        return SignOff(self.pin())
