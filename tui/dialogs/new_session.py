"""The new-session dialog (`n`): who, which protocol, the intake answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Label, Select, SelectionList

from monitor.core.intake import MED_LABELS, MEDS, SessionRequest, expected_dose, intake_refusals
from tui.dialogs.base import FieldRefusal, SavingDialog
from tui.inputs import Input
from tui.ticks import Ticks

NONE = "none"


class NewSessionScreen(SavingDialog[SessionRequest]):
    """Patient, protocol, dose, weight, age, bay, lot, first treatment and dose number, and
    for esketamine the four REMS medication answers. What a new session needs is the core's
    answer (:func:`monitor.core.intake.intake_refusals`, docs/clinical.md, "Recorded besides
    vitals"): the form only reads what was typed and shows the first reason it is refused."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_new")]
    #: The core's answers (monitor.core.intake.IntakeRefusal.field) and their fields.
    FIELD_IDS: ClassVar[dict[str, str]] = {
        "dose_mg": "dose",
        "weight_kg": "weight",
        "dose_number": "dose-number",
    }
    #: The services refuse a patient already in observation.
    REFUSAL_FIELD = "patient"

    def __init__(
        self, protocols: list[str], bays: tuple[str, ...], save: Callable[[SessionRequest], Any]
    ) -> None:
        super().__init__(save)
        self.protocols = protocols
        self.bays = bays

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="form"):
            yield Label("New session  (Tab moves, Enter starts, Esc cancels)", classes="title")
            yield self.error_line()
            with Grid(classes="fields"):
                yield Label("Patient")
                yield Input(placeholder="patient id", id="patient", compact=True, max_length=64)
                yield Label("Protocol")
                yield Select(
                    [(p, p) for p in self.protocols],
                    value=self.protocols[0],
                    allow_blank=False,
                    id="protocol",
                    compact=True,
                )
                yield Label("Age")
                yield Input(placeholder="years", id="age", compact=True, max_length=3)
                yield Label("Bay")
                if self.bays:
                    yield Select([(b, b) for b in self.bays], prompt="bay", id="bay", compact=True)
                else:
                    yield Input(placeholder="bay", id="bay", compact=True, max_length=64)
                yield Label("First tx?")
                yield Select(
                    [("yes, first of course", True), ("no", False)],
                    prompt="yes / no",
                    id="first",
                    compact=True,
                )
                yield Label("Dose no.")
                yield Input(
                    placeholder="in the course", id="dose-number", compact=True, max_length=4
                )
                yield Label("Dose mg")
                yield Input(placeholder="mg", id="dose", compact=True, max_length=7)
                yield Label("Weight kg")
                yield Input(placeholder="kg", id="weight", compact=True, max_length=5)
                yield Label("Lot")
                yield Input(placeholder="lot number", id="lot", compact=True, max_length=64)
            with Vertical(id="meds-block"):
                yield Label(
                    "REMS: sedating or BP-raising medication? Space ticks (none, or which)",
                    id="meds-label",
                )
                yield Ticks(
                    (NONE, NONE), *[(MED_LABELS[m], m) for m in MEDS], id="meds", compact=True
                )
            with Horizontal(classes="buttons"):
                yield Button("Start", variant="primary", id="start", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self._protocol_changed()
        self.set_focus(self.query_one("#patient", Input))

    @property
    def protocol(self) -> str:
        return self._value("#protocol")

    @on(Select.Changed, "#protocol")
    def _protocol_changed(self) -> None:
        """Esketamine fixes the dose and asks the REMS questions; the others ask the dose."""
        fixed = expected_dose(self.protocol)
        dose = self.query_one("#dose", Input)
        if fixed is not None:
            dose.value = f"{fixed:g}"
        elif dose.disabled:
            dose.value = ""
        dose.disabled = fixed is not None
        self.query_one("#meds-block").display = fixed is not None

    def _value(self, selector: str) -> str:
        widget = self.query_one(selector)
        if isinstance(widget, Select):
            return "" if widget.value is Select.NULL else str(widget.value)
        assert isinstance(widget, Input)
        return widget.value.strip()

    def _number(self, field: str, what: str) -> float | None:
        text = self._value(f"#{field}")
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            raise FieldRefusal(f"{what} is a number, e.g. 36 or 0.5", field) from None

    def _whole(self, field: str, what: str) -> int | None:
        text = self._value(f"#{field}")
        if not text:
            return None
        if not (text.isascii() and text.isdigit()):
            raise FieldRefusal(f"{what} is a whole number, e.g. 4", field)
        return int(text)

    def _meds(self) -> tuple[str, ...] | None:
        """The REMS medication answers ticked: () for none, None when not answered or not
        asked (not esketamine)."""
        if not self.query_one("#meds-block").display:
            return None
        ticked = list(self.query_one("#meds", SelectionList).selected)
        if not ticked:
            return None
        if NONE in ticked and len(ticked) > 1:
            raise FieldRefusal("medication: tick none, or the classes taken, not both", "meds")
        return () if ticked == [NONE] else tuple(m for m in MEDS if m in ticked)

    def form(self) -> SessionRequest:
        """The form as typed, once the core refuses nothing in it; ValueError says what to
        fix and where (what cannot be read, or the core's first reason and its answer)."""
        first = self.query_one("#first", Select).value
        request = SessionRequest(
            patient=self._value("#patient"),
            protocol=self.protocol,
            dose_mg=self._number("dose", "the dose (mg)"),
            weight_kg=self._number("weight", "the weight (kg)"),
            age=self._whole("age", "age"),
            bay=self._value("#bay") or None,
            lot=self._value("#lot") or None,
            first_treatment=None if first is Select.NULL else bool(first),
            dose_number=self._whole("dose-number", "the dose number"),
            meds=self._meds(),
        )
        for reason in intake_refusals(request, self.bays):
            raise FieldRefusal(reason, self.FIELD_IDS.get(reason.field, reason.field))
        return request

    def _start(self) -> None:
        self.submit_form()

    @on(Input.Submitted)
    @on(Ticks.Submitted)
    def _enter(self) -> None:
        self._start()

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self._start()
