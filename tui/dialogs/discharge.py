"""The discharge dialog (`x`): the gate as a checklist, the escort, a signed override."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, Select, Static

from monitor.core.intake import expected_dose
from monitor.errors import GateNotMet
from monitor.views import SessionView
from tui.dialogs.base import SavingDialog, whole_number
from tui.inputs import Input
from tui.render import checklist


@dataclass(frozen=True)
class Discharge:
    """Discharge: escort, no-driving instruction, the REMS minute, and an override reason
    when the gate is not met."""

    override_reason: str | None
    escort: str
    instructions_given: bool
    ready_minute: int | None
    #: The user's PIN, asked again to sign an override.
    pin: str | None = None


class DischargeScreen(SavingDialog[Discharge]):
    """The discharge gate as a checklist; who goes home with the patient, the no-driving
    instruction, for esketamine the REMS ready minute (proposed, confirm or change), and a
    written reason when the gate is not met."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_discharge")]

    def __init__(self, view: SessionView, save: Callable[[Discharge], Any]) -> None:
        super().__init__(save)
        self.view = view
        self.rems = expected_dose(view.protocol) is not None
        self.gate_ready = view.gate.ready

    def compose(self) -> ComposeResult:
        view = self.view
        with Vertical(id="dialog", classes="form"):
            yield Label(id="discharge-title", classes="title")
            yield self.error_line()
            with VerticalScroll(id="checklist-box"):
                yield Static(checklist(view.gate.items, failing_first=True), id="checklist")
            with Grid(classes="fields"):
                yield Label("Escort")
                yield Input(
                    placeholder="who takes the patient home, or none",
                    id="escort",
                    compact=True,
                    classes="wide",
                )
                yield Label("No driving")
                yield Select(
                    [
                        ("yes: told not to drive until the next day", True),
                        ("no: instruction not given", False),
                    ],
                    prompt="no-driving instruction given?",
                    id="instructions",
                    compact=True,
                    classes="wide",
                )
                if self.rems:
                    proposed = view.ready_minute_proposed
                    shown = "no proposal" if proposed is None else f"proposed {proposed}"
                    yield Label("REMS ready")
                    yield Input(
                        value="" if proposed is None else str(proposed),
                        placeholder="minute",
                        id="ready-minute",
                        compact=True,
                        max_length=4,
                    )
                    yield Label(
                        f"min after dose ({shown})",
                        classes="hint span2",
                    )
                yield Label("Override", classes="override")
                yield Input(
                    placeholder="why discharge with the gate not met",
                    id="override",
                    compact=True,
                    # The whole row: the reason is read back before it is signed.
                    classes="override wide",
                )
                yield Label("Your PIN", classes="override")
                yield self.pin_field("signs it", classes="override")
            with Horizontal(classes="buttons"):
                yield Button("Discharge", variant="success", id="discharge", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self._show_verdict()
        self.query_one("#escort", Input).focus()

    def _show_verdict(self) -> None:
        title = Text(f"Discharge {self.view.bay or ''} {self.view.patient}: ")
        if self.gate_ready:
            title.append("gate met", style="bold green")
        else:
            title.append("gate NOT met", style="bold red")
        title.append("  (Esc cancels)")
        self.query_one("#discharge-title", Label).update(title)
        for widget in self.query(".override"):
            widget.display = not self.gate_ready

    def form(self) -> Discharge:
        """The discharge as typed; ValueError says what to fix."""
        escort = self.query_one("#escort", Input).value.strip()
        if not escort:
            raise ValueError("say who takes the patient home, or type none")
        instructions = self.query_one("#instructions", Select).value
        if instructions is Select.NULL:
            raise ValueError("say whether the no-driving instruction was given")
        ready_minute = None
        if self.rems:
            # Which minutes are accepted is the services' answer, shown when they refuse.
            ready_minute = whole_number(
                self.query_one("#ready-minute", Input).value, "the REMS ready minute"
            )
        override = pin = None
        if not self.gate_ready:
            override = self.query_one("#override", Input).value.strip()
            if not override:
                raise ValueError("the gate is not met: write why the patient leaves anyway")
            pin = self.query_one(f"#{self.PIN}", Input).value
            if not pin:
                raise ValueError("an override is signed: type your PIN")
        return Discharge(override, escort, bool(instructions), ready_minute, pin)

    def _discharge(self) -> None:
        self.submit_form()

    def refused(self, error: BaseException | None) -> None:
        if isinstance(error, GateNotMet) and self.gate_ready:
            # The gate held when the dialog opened and no longer does: show the override.
            self.gate_ready = False
            self._show_verdict()
            reasons = Text("\n".join(f"[ ] {r}" for r in error.reasons), style="bold red")
            self.query_one("#checklist", Static).update(reasons)
            self.refuse("the gate is no longer met: write why the patient leaves anyway")
            self.query_one("#override", Input).focus()
            return
        super().refused(error)

    @on(Input.Submitted)
    def _enter(self) -> None:
        self._discharge()

    @on(Button.Pressed, "#discharge")
    def _discharge_pressed(self) -> None:
        self._discharge()
