"""The dose dialog (`d`): the dosing gate, and a signed override when it is not met."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Button, Label, Static

from monitor.errors import GateNotMet
from monitor.views import SessionView
from tui.dialogs.base import SavingDialog
from tui.inputs import Input


@dataclass(frozen=True)
class DoseGiven:
    """The dose given now; an override reason, signed with the user's PIN, when the dosing
    gate is not met."""

    override_reason: str | None
    pin: str | None = None


class DoseScreen(SavingDialog[DoseGiven]):
    """The dosing gate: a plain confirmation when it is met; when not, why, and a written
    reason to dose anyway (kept in the record)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_dose")]

    def __init__(self, view: SessionView, save: Callable[[DoseGiven], Any]) -> None:
        super().__init__(save)
        self.view = view
        self.refusals = list(view.dosing_refusals)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(
                f"Dose given now for {self.view.bay or ''} {self.view.patient}?  (Esc cancels)",
                classes="title",
            )
            yield self.error_line()
            yield Static(self.view.treatment, id="treatment")
            yield Static(id="dosing-gate")
            yield Input(placeholder="reason to dose anyway", id="override")
            yield self.pin_field("your PIN: an override is signed", compact=False)
            yield Button("Dose given now", variant="success", id="dose-now", compact=True)

    def on_mount(self) -> None:
        self._show_gate()

    def _show_gate(self) -> None:
        gate = self.query_one("#dosing-gate", Static)
        override = self.query_one("#override", Input)
        button = self.query_one("#dose-now", Button)
        if self.refusals:
            text = Text("Dosing gate not met:\n", style="bold red")
            for reason in self.refusals:
                text.append(f"[ ] {reason}\n", style="red")
            text.append(
                "To dose anyway, write why (kept in the record), then your PIN; Enter records "
                "the dose."
            )
            gate.update(text)
            override.display = True
            self.query_one(f"#{self.PIN}", Input).display = True
            button.display = False
            override.focus()
        else:
            gate.update(
                Text(
                    "[x] baseline check done   [x] no before-dosing flag awaiting review\n"
                    "Enter records the dosing time as now.",
                    style="green",
                )
            )
            override.display = False
            self.query_one(f"#{self.PIN}", Input).display = False
            button.focus()

    def refused(self, error: BaseException | None) -> None:
        if isinstance(error, GateNotMet) and not self.refusals:
            # Something changed since the floor was loaded: show why, and ask for a reason.
            self.refusals = list(error.reasons)
            self._show_gate()
            self.refuse("the dosing gate is no longer met")
            return
        super().refused(error)

    @on(Button.Pressed, "#dose-now")
    def _dose(self) -> None:
        self.submit(DoseGiven(None))

    @on(Input.Submitted, "#override")
    def _override(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.refuse("dosing with the gate not met needs a written reason")
            return
        self.query_one(f"#{self.PIN}", Input).focus()

    @on(Input.Submitted, "#pin")
    def _override_signed(self, event: Input.Submitted) -> None:
        reason = self.query_one("#override", Input).value.strip()
        if not reason:
            self.refuse("dosing with the gate not met needs a written reason")
            self.query_one("#override", Input).focus()
            return
        if not event.value:
            self.refuse("an override is signed: type your PIN")
            return
        self.submit(DoseGiven(reason, event.value))
