"""The dose dialog (`d`): the dosing gate, and a signed override when it is not met (a nurse's
co-signed by a supervisor)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Button, Label, Static

from monitor.errors import GateNotMet
from monitor.views import SessionView
from tui.dialogs.base import FieldRefusal, SavingDialog
from tui.dialogs.cosign import COSIGN_PIN, COSIGNER, CoSign, cosign_rows, read_cosign
from tui.inputs import Input, put_cursor


@dataclass(frozen=True)
class DoseGiven:
    """The dose given now; an override reason, signed with the user's PIN (and a supervisor's
    name and PIN when a nurse overrides), when the dosing gate is not met."""

    override_reason: str | None
    pin: str | None = None
    cosign: CoSign | None = None


class DoseScreen(SavingDialog[DoseGiven]):
    """The dosing gate: a plain confirmation when it is met; when not, why, and a written
    reason to dose anyway (kept in the record), signed, and co-signed when ``cosigning`` (the
    user is a nurse: a clinician stands behind an override)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_dose")]
    #: A refusal of the services without a field of its own: the override is what changes it.
    REFUSAL_FIELD = "override"
    #: The override's fields, in the order Enter moves through them.
    FIELDS = ("override", SavingDialog.PIN, COSIGNER, COSIGN_PIN)

    def __init__(
        self, view: SessionView, save: Callable[[DoseGiven], Any], *, cosigning: bool = False
    ) -> None:
        super().__init__(save)
        self.view = view
        self.refusals = list(view.dosing_refusals)
        self.cosigning = cosigning

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(
                f"Dose given now for {self.view.bay or ''} {self.view.patient}?  (Esc cancels)",
                classes="title",
            )
            yield self.error_line()
            yield Static(self.view.treatment, id="treatment")
            yield Static(id="dosing-gate")
            with Grid(classes="pairs override"):
                yield Label("Reason", classes="override")
                yield Input(
                    placeholder="why dose anyway (kept in the record)",
                    id="override",
                    compact=True,
                    max_length=500,
                    classes="override",
                )
                yield Label("Your PIN", classes="override")
                yield self.pin_field("signs the override", classes="override")
                yield from cosign_rows()
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
            if self.cosigning:
                text.append(
                    "To dose anyway: why (kept), your PIN, then a supervisor co-signs with "
                    "name and PIN. Enter moves on; in the last field it records the dose."
                )
            else:
                text.append(
                    "To dose anyway, write why (kept in the record), then your PIN; Enter "
                    "records the dose."
                )
            gate.update(text)
            for widget in self.query(".override"):
                widget.display = True
            self.show_cosign(self.cosigning)
            button.display = False
            self.set_focus(override)
        else:
            gate.update(
                Text(
                    "[x] baseline check done   [x] no before-dosing flag awaiting review\n"
                    "Enter records the dosing time as now.",
                    style="green",
                )
            )
            for widget in self.query(".override"):
                widget.display = False
            self.show_cosign(False)
            button.display = True
            self.set_focus(button)

    def _field(self, field_id: str) -> Input:
        return self.query_one(f"#{field_id}", Input)

    def form(self) -> DoseGiven:
        """The override as typed; :class:`FieldRefusal` says what to fix (the cursor goes
        there)."""
        reason = self._field("override").value.strip()
        if not reason:
            raise FieldRefusal("dosing with the gate not met needs a written reason", "override")
        pin = self.pin("an override is signed: type your PIN")
        cosign = read_cosign(self._field) if self.cosigning else None
        return DoseGiven(reason, pin, cosign)

    def show_cosign(self, shown: bool) -> None:
        self.cosigning = self.cosigning or shown
        super().show_cosign(shown)

    def refused(self, error: BaseException | None) -> None:
        if isinstance(error, GateNotMet) and not self.refusals:
            # Something changed since the floor was loaded: show why, and ask for a reason.
            self.refusals = list(error.reasons)
            self._show_gate()
            self.refuse(
                "the dosing gate is no longer met: write why to dose anyway", field="override"
            )
            return
        super().refused(error)

    @on(Button.Pressed, "#dose-now")
    def _dose(self) -> None:
        self.submit(DoseGiven(None))

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        """Enter moves to the next field of the override; in a blank one, or the last, it
        saves (or says what is missing, with the cursor there)."""
        shown = [f for f in self.FIELDS if self._field(f).display]
        field = event.input.id
        if field in shown and field != shown[-1] and event.value.strip():
            self.refuse("")
            put_cursor(self._field(shown[shown.index(field) + 1]))
            return
        self.submit_form()
