"""The new-session dialog (`n`): who, which protocol, the intake answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Label, Select, SelectionList

from monitor.core.intake import MEDS, expected_dose
from tui.dialogs.base import SavingDialog, whole_number
from tui.inputs import Input
from tui.render import MED_LABELS
from tui.ticks import Ticks

NONE = "none"


@dataclass(frozen=True)
class NewSession:
    """What the new-session form asks for (the dose is recorded later, with ``d``)."""

    patient: str
    protocol: str
    dose_mg: float | None
    weight_kg: float | None
    age: int | None
    bay: str | None
    lot: str | None
    first_treatment: bool | None
    dose_number: int | None
    #: The REMS medication answers: () for none; None when not asked (not esketamine).
    meds: tuple[str, ...] | None


class NewSessionScreen(SavingDialog[NewSession]):
    """Patient, protocol, dose, weight, age, bay, lot, first treatment and dose number; for
    esketamine the age and the four REMS medication answers are required."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_new")]

    def __init__(
        self, protocols: list[str], bays: tuple[str, ...], save: Callable[[NewSession], Any]
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
        self.query_one("#patient", Input).focus()

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

    def _number(self, selector: str, what: str, high: float) -> float | None:
        text = self._value(selector)
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{what} is a number, e.g. 36 or 0.5") from None
        if not 0 < value <= high:
            raise ValueError(f"{what} must be above 0 and at most {high:g}")
        return value

    def form(self) -> NewSession:
        """The form as typed; ValueError says what to fix."""
        patient = self._value("#patient")
        if not patient:
            raise ValueError("a session needs a patient identifier")
        esketamine = expected_dose(self.protocol) is not None
        age = whole_number(self._value("#age"), "age", high=130)
        first = self.query_one("#first", Select).value
        meds: tuple[str, ...] | None = None
        if esketamine:
            if age is None:
                raise ValueError("esketamine needs the patient's age (REMS)")
            if first is Select.NULL:
                raise ValueError("esketamine: say whether this is the first treatment (REMS)")
            ticked = list(self.query_one("#meds", SelectionList).selected)
            if not ticked:
                raise ValueError(
                    "esketamine: answer the medication question: tick none, or which (REMS)"
                )
            if NONE in ticked and len(ticked) > 1:
                raise ValueError("medication: tick none, or the classes taken, not both")
            meds = () if ticked == [NONE] else tuple(m for m in MEDS if m in ticked)
        return NewSession(
            patient=patient,
            protocol=self.protocol,
            dose_mg=self._number("#dose", "the dose (mg)", 1000),
            weight_kg=self._number("#weight", "the weight (kg)", 400),
            age=age,
            bay=self._value("#bay") or None,
            lot=self._value("#lot") or None,
            first_treatment=None if first is Select.NULL else bool(first),
            dose_number=whole_number(self._value("#dose-number"), "the dose number", low=1),
            meds=meds,
        )

    def _start(self) -> None:
        self.submit_form()

    @on(Input.Submitted)
    @on(Ticks.Submitted)
    def _enter(self) -> None:
        self._start()

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self._start()
