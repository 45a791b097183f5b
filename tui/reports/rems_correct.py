"""Correct a REMS proposal (`c`), signed with the PIN."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Label, Select, Static

from monitor.core.rems import CORRECTABLE, RemsForm
from monitor.core.rems_rules import value_refusal
from monitor.present.rems import PROPOSAL, answer_row, yes_no
from tui.dialogs.base import SavingDialog
from tui.inputs import Input
from tui.styled import QUIET_STYLE, row_text

#: The answers a supervisor corrects, as the dialog names them.
CORRECTION_LABELS = {
    "sedation": "Sedation",
    "dissociation": "Dissociation",
    "respiratory_depression": "Respiratory depression",
}


@dataclass(frozen=True)
class RemsFix:
    """A supervisor's answer replacing a proposal, with the reason, signed with the PIN."""

    field: str
    value: bool
    reason: str
    pin: str


class RemsCorrectDialog(SavingDialog[RemsFix]):
    """Correct a proposal (sedation, dissociation, respiratory depression): the answer now and
    its evidence, the new answer, the reason (kept beside the proposal) and the PIN."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_rems_correct")]
    KEEPS_REFUSALS = True

    def __init__(self, form: RemsForm, save: Callable[[RemsFix], Any]) -> None:
        super().__init__(save)
        self.rems_form = form

    def compose(self) -> ComposeResult:
        form = self.rems_form
        choices = [
            (f"{CORRECTION_LABELS[f]}: now {yes_no(form.answer(f).value, 'unknown')}", f)
            for f in CORRECTABLE
        ]
        with Vertical(id="dialog", classes="form"):
            yield Label(
                f"Correct a REMS answer of {form.patient} (session {form.session_id})  "
                "(Esc cancels)",
                classes="title",
            )
            yield self.error_line()
            with Grid(classes="fields"):
                yield Label("Answer")
                yield Select(
                    choices,
                    value=CORRECTABLE[0],
                    allow_blank=False,
                    id="field",
                    compact=True,
                    classes="wide",
                )
                yield Label("New answer")
                yield Select(
                    [("yes", True), ("no", False)], prompt="yes / no", id="value", compact=True
                )
                yield Label("")
                yield Label("")
                yield Label("Reason")
                yield Input(
                    placeholder="why the record's proposal is wrong",
                    id="reason",
                    compact=True,
                    max_length=500,
                    classes="wide",
                )
                yield Label("Your PIN")
                yield self.pin_field("signs it")
            yield Static(id="rems-now")

    def on_mount(self) -> None:
        self._field_changed()
        self.query_one("#field", Select).focus()

    @on(Select.Changed, "#field")
    def _field_changed(self) -> None:
        field = str(self.query_one("#field", Select).value)
        answer = self.rems_form.answer(field)
        now = Text("Now: ", style="bold")
        now.append_text(
            row_text(answer_row(CORRECTION_LABELS[field], answer, PROPOSAL), QUIET_STYLE)
        )
        self.query_one("#rems-now", Static).update(now)
        if answer.value is not None:
            # The usual correction turns the answer over: offer that.
            self.query_one("#value", Select).value = not answer.value

    def form(self) -> RemsFix:
        """The correction as typed; ValueError says what to fix."""
        field = str(self.query_one("#field", Select).value)
        chosen = self.query_one("#value", Select).value
        if chosen is Select.NULL:
            raise ValueError("choose the new answer: yes or no")
        refusal = value_refusal(field, self.rems_form.answer(field), bool(chosen))
        if refusal is not None:
            raise ValueError(refusal.reason)
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            raise ValueError("a correction needs its reason (kept beside the proposal)")
        return RemsFix(
            field, bool(chosen), reason, self.pin("a correction is signed: type your PIN")
        )

    @on(Input.Submitted, "#reason")
    def _to_pin(self) -> None:
        self.query_one(f"#{self.PIN}", Input).focus()

    @on(Input.Submitted, "#pin")
    def _signed(self) -> None:
        self.submit_form()
