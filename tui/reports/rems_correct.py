"""Correct a REMS answer (`c`), signed with the PIN: any of the form's seven answers."""

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

from monitor.core.rems import Answer, RemsForm
from monitor.present.rems import answer_row, yes_no
from tui.dialogs.base import FieldRefusal, SavingDialog, whole_number
from tui.inputs import Input, put_cursor
from tui.styled import QUIET_STYLE, row_text

#: The ready-minute answer: a whole number of minutes after dosing, the others yes/no.
READY_MINUTE = "ready_minute"
#: Every answer of the form a supervisor corrects (``rems correct --field``), in the form's
#: order, as the dialog names them.
CORRECTION_LABELS = {
    READY_MINUTE: "Ready to leave at (minute)",
    "vitals_ok_before": "Vitals acceptable before dosing",
    "vitals_ok_end": "Vitals acceptable at the end",
    "sedation": "Sedation",
    "dissociation": "Dissociation",
    "respiratory_depression": "Respiratory depression",
    "serious_adverse_event": "Serious adverse event",
}
#: The answer offered first: the proposals a supervisor corrects most.
FIRST_OFFERED = "sedation"


@dataclass(frozen=True)
class RemsFix:
    """A supervisor's answer replacing the one on the form, with the reason, signed with the
    PIN: yes/no, or for the ready minute a whole number of minutes after dosing."""

    field: str
    value: bool | int
    reason: str
    pin: str

    @property
    def shown(self) -> str:
        """The new answer as people read it: ``no``, ``minute 40``."""
        if self.field == READY_MINUTE:
            return f"minute {self.value}"
        return "yes" if self.value else "no"


def current_answer(form: RemsForm, field: str) -> Answer | None:
    """The answer on ``form`` for ``field`` with its proposal and correction, when the form
    keeps one (None: only its value, :func:`current_value`)."""
    try:
        return form.answer(field)
    except KeyError:
        kept = getattr(form, field, None)
        return kept if isinstance(kept, Answer) else None


def current_value(form: RemsForm, field: str) -> bool | int | None:
    """The value on ``form`` for ``field`` (None: not answered)."""
    answer = current_answer(form, field)
    if answer is not None:
        value: bool | int | None = answer.value
        return value
    if field == READY_MINUTE:
        return form.ready_minute
    if field == "serious_adverse_event":
        return bool(form.serious_adverse_events)
    return None


def shown_value(field: str, value: bool | int | None) -> str:
    """``yes``, ``no``, ``unknown``; ``minute 40``, ``none``."""
    if field == READY_MINUTE:
        return "none" if value is None else f"minute {value}"
    return yes_no(value if value is None else bool(value), "unknown")


class RemsCorrectDialog(SavingDialog[RemsFix]):
    """Correct an answer of the REMS form (any of the seven: the ready minute, vitals before
    and at the end, sedation, dissociation, respiratory depression, a serious adverse event):
    the answer now and its evidence, the new answer, the reason (kept beside the proposal and
    the first answer) and the PIN. Which corrections are accepted is the services' answer."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_rems_correct")]
    KEEPS_REFUSALS = True
    #: Which corrections are accepted is the services' answer: about the new answer chosen.
    REFUSAL_FIELD = "value"

    def __init__(self, form: RemsForm, save: Callable[[RemsFix], Any]) -> None:
        super().__init__(save)
        self.rems_form = form

    def compose(self) -> ComposeResult:
        form = self.rems_form
        choices = [
            (f"{label}: now {shown_value(f, current_value(form, f))}", f)
            for f, label in CORRECTION_LABELS.items()
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
                    value=FIRST_OFFERED,
                    allow_blank=False,
                    id="field",
                    compact=True,
                    classes="wide",
                )
                yield Label("New answer")
                yield Select(
                    [("yes", True), ("no", False)], prompt="yes / no", id="value", compact=True
                )
                yield Input(
                    placeholder="minute", id="minute", compact=True, max_length=4, restrict=r"\d*"
                )
                yield Label("", id="value-hint", classes="hint span2")
                yield Label("Reason")
                yield Input(
                    placeholder="why the answer on the form is wrong",
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
        self.set_focus(self.query_one("#field", Select))

    @property
    def field(self) -> str:
        """The answer chosen."""
        return str(self.query_one("#field", Select).value)

    @on(Select.Changed, "#field")
    def _field_changed(self) -> None:
        field = self.field
        minute = field == READY_MINUTE
        self.query_one("#value", Select).display = not minute
        self.query_one("#minute", Input).display = minute
        self.query_one("#value-hint", Label).update("whole minutes after dosing" if minute else "")
        now = Text("Now: ", style="bold")
        answer = current_answer(self.rems_form, field)
        value = current_value(self.rems_form, field)
        if answer is not None and not minute:
            row = answer_row(CORRECTION_LABELS[field], answer, field=field)
            now.append_text(row_text(row, QUIET_STYLE))
        else:
            now.append(f"{CORRECTION_LABELS[field]}: {shown_value(field, value)}")
            if minute:
                form = self.rems_form
                facts = [] if answer is None else [answer.source]
                facts.append(f"proposed {shown_value(field, form.ready_minute_proposed)}")
                if form.minutes_monitored is not None:
                    facts.append(f"{form.minutes_monitored} min monitored")
                now.append(f" ({'; '.join(facts)})", style="dim")
        self.query_one("#rems-now", Static).update(now)
        if minute:
            self.query_one("#minute", Input).value = "" if value is None else str(value)
        elif value is not None:
            # The usual correction turns the answer over: offer that.
            self.query_one("#value", Select).value = not value

    def _new_value(self) -> bool | int:
        """The new answer as chosen or typed; ValueError says what to fix."""
        if self.field == READY_MINUTE:
            typed = self.query_one("#minute", Input).value
            minute = whole_number(typed, "the ready minute", low=1, field="minute")
            if minute is None:
                raise FieldRefusal("type the ready minute: whole minutes after dosing", "minute")
            return minute
        chosen = self.query_one("#value", Select).value
        if chosen is Select.NULL:
            raise FieldRefusal("choose the new answer: yes or no", "value")
        return bool(chosen)

    def form(self) -> RemsFix:
        """The correction as typed; ValueError says what to fix."""
        value = self._new_value()
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            raise FieldRefusal("a correction needs its reason (kept beside the proposal)", "reason")
        return RemsFix(self.field, value, reason, self.pin("a correction is signed: type your PIN"))

    @on(Input.Submitted, "#minute")
    @on(Input.Submitted, "#reason")
    def _to_pin(self, event: Input.Submitted) -> None:
        following = "#reason" if event.input.id == "minute" else f"#{self.PIN}"
        put_cursor(self.query_one(following, Input))

    @on(Input.Submitted, "#pin")
    def _signed(self) -> None:
        self.submit_form()
