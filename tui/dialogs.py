"""The station's dialogs that save something: new session, event, acknowledge, dose, infusion
end, discharge.

Attributes down, messages up: the app hands each dialog the plain data it shows and a ``save``
callable (the service call, with the signed-in user bound). The dialog runs ``save`` in its own
thread worker and closes only once it succeeded, returning the plain dataclass the nurse filled
in; a refusal is shown inside the dialog, under its title, and everything typed stays there to
be corrected.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from rich.segment import Segment
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widgets import Button, Checkbox, Label, Select, SelectionList, Static
from textual.worker import Worker, WorkerState

from monitor.core.events import EVENT_SEVERITIES, EVENT_TYPES
from monitor.core.gate import GateItem, minutes_between
from monitor.core.intake import MEDS, expected_dose
from monitor.core.schedule import CheckState, CheckStatus, for_infusion, infusion_minutes
from monitor.errors import GateNotMet, PinRefused, Refused
from monitor.services import unreachable
from monitor.views import FlagView, SessionView
from tui.inputs import Input, pin_input
from tui.render import hm, severity_style

Result = TypeVar("Result")

#: How the REMS form names the medication classes.
MED_LABELS = {
    "benzodiazepines": "benzodiazepines",
    "sedative-hypnotics": "non-benzodiazepine sedative hypnotics",
    "psychostimulants": "psychostimulants",
    "maois": "MAOIs",
}
NONE = "none"
_WHOLE = re.compile(r"[0-9]{1,4}")


def error_message(error: BaseException | None) -> str:
    """A failed save as one line a nurse can act on."""
    if isinstance(error, Refused):
        return f"refused: {error}"
    if unreachable(error):
        return "database unreachable"  # the cause is for the administrator, not the nurse
    line = str(error).strip().splitlines()[0] if error and str(error).strip() else ""
    return f"database error ({type(error).__name__}): {line}"


def whole_number(text: str, what: str, *, low: int = 0, high: int = 9999) -> int | None:
    """A typed whole number (ASCII digits only), ``None`` when blank; ValueError otherwise."""
    text = text.strip()
    if not text:
        return None
    if not _WHOLE.fullmatch(text) or not low <= int(text) <= high:
        raise ValueError(f"{what} is a whole number from {low} to {high}")
    return int(text)


def checklist(items: tuple[GateItem, ...], *, failing_first: bool = False) -> Text:
    """The gate as ticked and unticked lines; a failing one says why it fails."""
    if failing_first:
        items = tuple(sorted(items, key=lambda item: item.ok))
    out = Text()
    for item in items:
        if item.ok:
            out.append(f"[x] {item.label}\n", style="green")
        else:
            out.append(f"[ ] {item.detail or item.label}\n", style="bold red")
    out.rstrip()
    return out


class Ticks(SelectionList[str]):
    """A list of choices ticked with Space; Enter saves the dialog instead of ticking."""

    BINDINGS = [Binding("enter", "submit", "Save", show=False, id="ticks_submit")]

    class Submitted(Message):
        """Enter was pressed in the list."""

    def action_submit(self) -> None:
        self.post_message(self.Submitted())

    def render_line(self, y: int) -> Strip:
        """Textual draws ``X`` in ticked and unticked boxes alike (colour tells them apart):
        an unticked box here is empty, so the difference survives without colour."""
        strip = super().render_line(y)
        segments = list(strip)
        index = self.scroll_offset.y + y
        if len(segments) < 4 or index >= self.option_count:
            return strip
        if self.get_option_at_index(index).value not in self.selected:
            box = segments[1]
            segments[1] = Segment(" " * len(box.text), box.style, box.control)
        return Strip(segments, strip.cell_length)


class SavingDialog(ModalScreen[Result], Generic[Result]):
    """A dialog that saves through the services in a worker and closes only on success."""

    #: The id of the PIN field of a dialog that is signed: a refused PIN empties that field (and
    #: only it) and puts the cursor there; everything else typed stays.
    PIN_FIELD: str | None = None

    def __init__(self, save: Callable[[Result], Any]) -> None:
        super().__init__()
        self._saver = save
        #: What is being saved now (one save at a time: Enter twice saves once).
        self.saving: Result | None = None

    def error_line(self) -> Static:
        """The line under the title that shows a refusal (hidden while there is none)."""
        line = Static(id="form-error", classes="error")
        line.display = False
        return line

    def refuse(self, message: str, style: str = "bold red") -> None:
        """Show why the form cannot be saved as it is; what was typed stays."""
        line = self.query_one("#form-error", Static)
        line.update(Text(message, style=style))
        line.display = bool(message)

    def submit(self, result: Result) -> None:
        """Save ``result`` in a worker; the dialog closes when the save succeeded."""
        if self.saving is not None:
            return
        self.saving = result
        self.refuse("saving…", style="dim")
        self.run_worker(
            lambda: self._saver(result),
            thread=True,
            group="dialog-save",
            name="dialog-save",
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "dialog-save":
            return
        if event.state is WorkerState.SUCCESS:
            result, self.saving = self.saving, None
            self.dismiss(result)
        elif event.state is WorkerState.ERROR:
            self.saving = None
            self.refused(event.worker.error)

    def refused(self, error: BaseException | None) -> None:
        """The services refused the save (or the database failed): say so in the dialog."""
        self.refuse(error_message(error))
        if self.PIN_FIELD is not None and isinstance(error, PinRefused):
            pin = self.query_one(f"#{self.PIN_FIELD}", Input)
            pin.value = ""
            pin.focus()

    def action_cancel(self) -> None:
        if self.saving is not None:
            return  # the save is under way: its outcome is shown here before closing
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()


# -- new session ----------------------------------------------------------------------------


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
        try:
            form = self.form()
        except ValueError as error:
            self.refuse(str(error))
            return
        self.submit(form)

    @on(Input.Submitted)
    @on(Ticks.Submitted)
    def _enter(self) -> None:
        self._start()

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self._start()


# -- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewEvent:
    """A note, an adverse event or an intervention."""

    kind: str
    type: str | None
    severity: str | None
    serious: bool | None
    text: str
    minutes_ago: int | None


class EventScreen(SavingDialog[NewEvent]):
    """One short form: kind, type, severity and serious (adverse), what happened, when."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_event")]

    def __init__(self, view: SessionView, save: Callable[[NewEvent], Any]) -> None:
        super().__init__(save)
        self.view = view

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="form"):
            yield Label(
                f"Note or event for {self.view.bay or ''} {self.view.patient}  "
                "(Enter saves, Esc cancels)",
                classes="title",
            )
            yield self.error_line()
            with Grid(classes="fields"):
                yield Label("Kind")
                yield Select(
                    [
                        ("note", "note"),
                        ("adverse event", "adverse"),
                        ("intervention", "intervention"),
                    ],
                    value="note",
                    allow_blank=False,
                    id="kind",
                    compact=True,
                )
                yield Label("Type")
                yield Select([], prompt="type", id="type", compact=True)
                yield Label("Severity", classes="adverse")
                yield Select(
                    [(s, s) for s in EVENT_SEVERITIES],
                    prompt="severity",
                    id="severity",
                    compact=True,
                    classes="adverse",
                )
                yield Label("Serious?", classes="adverse")
                yield Checkbox("serious AE", id="serious", compact=True, classes="adverse")
                yield Label("What")
                yield Input(id="text", compact=True, classes="wide")
                yield Label("When")
                yield Input(placeholder="now", id="ago", compact=True, max_length=3)
                yield Label("min ago (blank: now)", classes="hint wide")

    def on_mount(self) -> None:
        self._kind_changed()
        self.query_one("#kind", Select).focus()

    @property
    def kind(self) -> str:
        return str(self.query_one("#kind", Select).value)

    @on(Select.Changed, "#kind")
    def _kind_changed(self) -> None:
        kind = self.kind
        types = self.query_one("#type", Select)
        types.set_options([(t, t) for t in EVENT_TYPES[kind]])
        types.disabled = not EVENT_TYPES[kind]
        for widget in self.query(".adverse"):
            widget.display = kind == "adverse"
        text = self.query_one("#text", Input)
        text.placeholder = {
            "note": "the note",
            "adverse": "what happened",
            "intervention": "what was given or done, e.g. ondansetron 4 mg",
        }[kind]

    def form(self) -> NewEvent:
        """The event as typed; ValueError says what to fix."""
        kind = self.kind
        chosen = self.query_one("#type", Select).value
        type_ = None if chosen is Select.NULL else str(chosen)
        if EVENT_TYPES[kind] and type_ is None:
            raise ValueError(f"choose the {kind} type")
        severity = None
        serious = None
        if kind == "adverse":
            level = self.query_one("#severity", Select).value
            if level is Select.NULL:
                raise ValueError("choose the severity: mild, moderate or severe")
            severity = str(level)
            serious = self.query_one("#serious", Checkbox).value
        text = self.query_one("#text", Input).value.strip()
        if not text:
            raise ValueError("say what happened, in a word or a sentence")
        ago = whole_number(self.query_one("#ago", Input).value, "minutes ago", high=600)
        return NewEvent(kind, type_, severity, serious, text, ago)

    @on(Input.Submitted)
    def _enter(self) -> None:
        try:
            form = self.form()
        except ValueError as error:
            self.refuse(str(error))
            return
        self.submit(form)


# -- acknowledge ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Acknowledgement:
    """Which flags were acknowledged and which checks explained, with one statement."""

    flag_ids: list[int]
    check_labels: list[str]
    action: str


def check_alarm_text(check: CheckState, now: datetime) -> str:
    """``+15 min check missed: why was it not done?``"""
    when = ""
    if check.status is CheckStatus.OVERDUE and check.due_at is not None:
        when = f" {minutes_between(check.due_at, now)}m"
    return f"{check.label} check {check.status.value}{when}: why not done?"


class AcknowledgeScreen(SavingDialog[Acknowledgement]):
    """The open flags and the check alarms of a session; one line says what was done (for
    flags) or why a check was not done (for checks), Enter saves for the ticked ones."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_ack")]

    def __init__(self, view: SessionView, save: Callable[[Acknowledgement], Any]) -> None:
        super().__init__(save)
        self.view = view

    def compose(self) -> ComposeResult:
        flags = sorted(self.view.unacknowledged(), key=lambda f: -f.severity.rank)
        checks = self.view.check_alarms()
        any_flag_needs_action = any(f.severity.needs_action for f in flags)
        urgent = [f for f in flags if f.severity.needs_action]
        low = [f for f in flags if not f.severity.needs_action]

        measured = {reading.id: reading.measured_at for reading in self.view.readings}

        def flag_option(flag: FlagView) -> tuple[Text, str, bool]:
            # The reading's time: the same low flag ("MOAA/S 4") can stand open several times.
            text = Text(
                f"{flag.severity.symbol:<3} {hm(measured.get(flag.reading_id))} {flag.message}",
                style=severity_style(flag.severity),
            )
            return text, f"flag:{flag.id}", flag.severity.needs_action

        options = [flag_option(f) for f in urgent]
        options += [
            (
                Text(
                    f"!!  {hm(c.due_at)} {check_alarm_text(c, self.view.as_of)}",
                    style="bold yellow",
                ),
                f"check:{c.label}",
                # Ticked by default only when no flag is: one sentence rarely says both what
                # was done about a flag and why a check was not done.
                not any_flag_needs_action,
            )
            for c in checks
        ]
        options += [flag_option(f) for f in low]
        with Vertical(id="dialog"):
            yield Label(
                f"Alarms of {self.view.bay or ''} {self.view.patient}  "
                "(Space ticks, Enter saves, Esc cancels)",
                classes="title",
            )
            yield self.error_line()
            yield Ticks(*options, id="alarms")
            yield Label(id="action-label")
            yield Input(id="action")

    def on_mount(self) -> None:
        self._ticked()
        self.query_one("#action", Input).focus()

    def _chosen(self) -> tuple[list[int], list[str]]:
        ticked = list(self.query_one("#alarms", SelectionList).selected)
        flags = [int(v.removeprefix("flag:")) for v in ticked if v.startswith("flag:")]
        checks = [v.removeprefix("check:") for v in ticked if v.startswith("check:")]
        return flags, checks

    @on(SelectionList.SelectedChanged)
    def _ticked(self) -> None:
        flags, checks = self._chosen()
        if checks and not flags:
            said = "Why was the check not done? e.g. patient asleep, refused"
        elif checks:
            said = "What was done, and why the check was not done:"
        else:
            said = "What was done? e.g. rechecked, prescriber informed"
        self.query_one("#action-label", Label).update(said)

    @on(Ticks.Submitted)
    def _submit_from_list(self) -> None:
        self._submit()

    @on(Input.Submitted, "#action")
    def _submit(self) -> None:
        action = self.query_one("#action", Input).value.strip()
        flags, checks = self._chosen()
        if not flags and not checks:
            self.refuse("tick at least one alarm (Tab to the list, Space ticks)")
            return
        if not action:
            self.refuse(
                "say why the check was not done"
                if checks and not flags
                else "say what was done, in a word or a sentence"
            )
            return
        self.submit(Acknowledgement(flags, checks, action))


# -- dosing ---------------------------------------------------------------------------------


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
    PIN_FIELD = "override-pin"

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
            yield pin_input("your PIN: an override is signed", "override-pin")
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
            self.query_one("#override-pin", Input).display = True
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
            self.query_one("#override-pin", Input).display = False
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
        self.query_one("#override-pin", Input).focus()

    @on(Input.Submitted, "#override-pin")
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


# -- infusion end ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InfusionEnd:
    """The infusion ended now, or this many minutes ago."""

    minutes_ago: int


class InfusionEndScreen(SavingDialog[InfusionEnd]):
    """IV: when the infusion actually ended; the checks after it move with it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_infusion")]

    def __init__(
        self, view: SessionView, clock: Callable[[], datetime], save: Callable[[InfusionEnd], Any]
    ) -> None:
        super().__init__(save)
        self.view = view
        self.clock = clock

    def compose(self) -> ComposeResult:
        view = self.view
        assert view.dosed_at is not None
        assert view.schedule is not None
        running = minutes_between(view.dosed_at, self.clock())
        with Vertical(id="dialog"):
            yield Label(
                f"Infusion ended for {view.bay or ''} {view.patient}  (Enter saves, Esc cancels)",
                classes="title",
            )
            yield self.error_line()
            yield Static(
                f"Started {hm(view.dosed_at)}, {running} min ago; the schedule assumes "
                f"{view.schedule.infusion_min} min until the end is recorded.",
                id="infusion-facts",
            )
            with Horizontal(classes="row"):
                yield Label("Ended", classes="field")
                yield Input(
                    placeholder="now", id="ago", compact=True, max_length=3, classes="short"
                )
                yield Label("min ago (blank: now)", classes="hint")
            yield Static(id="infusion-preview")

    def on_mount(self) -> None:
        self._preview()
        self.query_one("#ago", Input).focus()

    def _ended_at(self) -> datetime:
        ago = whole_number(self.query_one("#ago", Input).value, "minutes ago", high=600) or 0
        return self.clock() - timedelta(minutes=ago)

    @on(Input.Changed, "#ago")
    def _preview(self) -> None:
        """The checks after the infusion as scheduled now, and where they move to."""
        view = self.view
        assert view.dosed_at is not None
        assert view.schedule is not None
        target = self.query_one("#infusion-preview", Static)
        try:
            ended = self._ended_at()
        except ValueError as error:
            target.update(Text(str(error), style="bold red"))
            return
        if ended <= view.dosed_at:
            target.update(Text("the infusion cannot end before it started", style="bold red"))
            return
        actual = infusion_minutes(view.dosed_at, ended)
        planned = view.schedule.infusion_min or 0
        moved = for_infusion(view.schedule, actual)

        def after(schedule, length: int) -> str:
            return " ".join(f"+{c.at_min}" for c in schedule.checks if c.at_min >= length)

        text = Text()
        text.append(f"Infusion {actual} min (ended {hm(ended)}).\n", style="bold")
        text.append(f"Checks from its end, now:   {after(view.schedule, planned)}\n")
        text.append(f"Checks from its end, after: {after(moved, actual)}", style="bold")
        target.update(text)

    @on(Input.Submitted, "#ago")
    def _ended(self, event: Input.Submitted) -> None:
        try:
            ago = whole_number(event.value, "minutes ago", high=600) or 0
        except ValueError as error:
            self.refuse(str(error))
            return
        self.submit(InfusionEnd(ago))


# -- discharge ------------------------------------------------------------------------------


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
    PIN_FIELD = "override-pin"

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
                yield pin_input("signs it", "override-pin", compact=True, classes="override")
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
            ready_minute = whole_number(
                self.query_one("#ready-minute", Input).value, "the REMS ready minute", high=1440
            )
        override = pin = None
        if not self.gate_ready:
            override = self.query_one("#override", Input).value.strip()
            if not override:
                raise ValueError("the gate is not met: write why the patient leaves anyway")
            pin = self.query_one("#override-pin", Input).value
            if not pin:
                raise ValueError("an override is signed: type your PIN")
        return Discharge(override, escort, bool(instructions), ready_minute, pin)

    def _discharge(self) -> None:
        try:
            form = self.form()
        except ValueError as error:
            self.refuse(str(error))
            return
        self.submit(form)

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
