"""The station's modal screens: sign-in, new session, acknowledge, dose, discharge, detail.

Attributes down, messages up: each screen gets plain data when built and returns what the nurse
decided through ``dismiss``; the app performs the action through the services in a worker.
Screens that must answer before closing (sign-in checks the PIN) run their own worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Input,
    Label,
    OptionList,
    Select,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from monitor.core.entry import format_entry
from monitor.core.gate import minutes_between
from monitor.core.rules import Severity, Thresholds
from monitor.core.vitals import Measure
from monitor.errors import Refused
from monitor.views import SessionView, UserView
from tui.render import severity_style


def _local(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone().strftime("%H:%M")


class SignInScreen(ModalScreen[UserView]):
    """Pick your user and type your PIN; everything saved after carries that user."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_sign_in")]

    def __init__(self, users: list[UserView], authenticate, allow_cancel: bool) -> None:
        super().__init__()
        self.users = users
        self.authenticate = authenticate
        self.allow_cancel = allow_cancel

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Sign in: pick your name, type your PIN, Enter", classes="title")
            if not self.users:
                yield Static(
                    "No users yet. Add one with `monitor user add NAME --role nurse`, "
                    "or try `monitor demo`.",
                    id="no-users",
                )
            yield OptionList(
                *[Option(f"{u.name}  ({u.role})", id=u.name) for u in self.users], id="users"
            )
            yield Input(placeholder="PIN", password=True, id="pin")
            yield Static(id="sign-in-error", classes="error")

    def on_mount(self) -> None:
        if self.users:
            self.query_one("#users", OptionList).highlighted = 0
        self.query_one("#users", OptionList).focus()

    @on(OptionList.OptionSelected, "#users")
    def _to_pin(self) -> None:
        self.query_one("#pin", Input).focus()

    @on(Input.Submitted, "#pin")
    def _check(self, event: Input.Submitted) -> None:
        options = self.query_one("#users", OptionList)
        if options.highlighted is None or not self.users:
            return
        name = self.users[options.highlighted].name
        pin = event.value
        self.run_worker(
            lambda: self.authenticate(name, pin),
            thread=True,
            group="sign-in",
            name="sign-in",
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "sign-in":
            return
        if event.state is WorkerState.SUCCESS:
            self.dismiss(event.worker.result)
        elif event.state is WorkerState.ERROR:
            error = event.worker.error
            message = str(error) if isinstance(error, Refused) else f"cannot sign in: {error}"
            self.query_one("#sign-in-error", Static).update(message)
            pin = self.query_one("#pin", Input)
            pin.value = ""
            pin.focus()

    def action_cancel(self) -> None:
        if self.allow_cancel:
            self.dismiss(None)


@dataclass(frozen=True)
class NewSession:
    """What the new-session form asks for."""

    patient: str
    protocol: str
    dose_mg: float | None
    age: int | None
    bay: str | None
    lot: str | None
    dosed_now: bool


class NewSessionScreen(ModalScreen[NewSession]):
    """Patient, protocol, dose, age, bay, lot, and whether the dose was given just now."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_new")]

    def __init__(self, protocols: list[str], bays: tuple[str, ...]) -> None:
        super().__init__()
        self.protocols = protocols
        self.bays = bays

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("New session (Tab moves, Enter starts, Esc cancels)", classes="title")
            with Horizontal(classes="row"):
                yield Input(placeholder="patient id", id="patient")
                yield Select(
                    [(p, p) for p in self.protocols],
                    value=self.protocols[0],
                    allow_blank=False,
                    id="protocol",
                )
            with Horizontal(classes="row"):
                yield Input(placeholder="dose mg", id="dose", type="number")
                yield Input(placeholder="age", id="age", type="integer")
                if self.bays:
                    yield Select([(b, b) for b in self.bays], prompt="bay", id="bay")
                else:
                    yield Input(placeholder="bay", id="bay")
                yield Input(placeholder="lot", id="lot")
            yield Checkbox("dose given now", id="dosed-now")
            yield Static(id="form-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Start", variant="primary", id="start")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#patient", Input).focus()

    def _value(self, selector: str) -> str:
        widget = self.query_one(selector)
        if isinstance(widget, Select):
            return "" if widget.value is Select.NULL else str(widget.value)
        assert isinstance(widget, Input)
        return widget.value.strip()

    def _submit(self) -> None:
        error = self.query_one("#form-error", Static)
        patient = self._value("#patient")
        if not patient:
            error.update("a session needs a patient identifier")
            self.query_one("#patient", Input).focus()
            return
        try:
            dose = float(self._value("#dose")) if self._value("#dose") else None
            age = int(self._value("#age")) if self._value("#age") else None
        except ValueError:
            error.update("dose and age are numbers")
            return
        self.dismiss(
            NewSession(
                patient=patient,
                protocol=self._value("#protocol"),
                dose_mg=dose,
                age=age,
                bay=self._value("#bay") or None,
                lot=self._value("#lot") or None,
                dosed_now=self.query_one("#dosed-now", Checkbox).value,
            )
        )

    @on(Input.Submitted)
    def _enter(self) -> None:
        self._submit()

    @on(Button.Pressed, "#start")
    def _start(self) -> None:
        self._submit()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class Acknowledgement:
    """Which flags, and what was done."""

    flag_ids: list[int]
    action: str


class AcknowledgeScreen(ModalScreen[Acknowledgement]):
    """The open flags of a session; say what was done, Enter acknowledges the ticked ones."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_ack")]

    def __init__(self, view: SessionView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        flags = [f for r in self.view.in_force for f in r.flags if not f.acknowledged]
        flags.sort(key=lambda f: -f.severity.rank)
        with Vertical(id="dialog"):
            yield Label(
                f"Acknowledge alarms for {self.view.bay or ''} {self.view.patient}  (Esc cancels)",
                classes="title",
            )
            yield SelectionList[int](
                *[
                    (
                        Text(
                            f"{f.severity.symbol:<3} {f.message}", style=severity_style(f.severity)
                        ),
                        f.id,
                        f.severity.needs_action,
                    )
                    for f in flags
                ],
                id="flags",
            )
            yield Input(
                placeholder="what was done, e.g. 'rechecked, prescriber informed'", id="action"
            )
            yield Static(id="ack-error", classes="error")

    def on_mount(self) -> None:
        self.query_one("#action", Input).focus()

    @on(Input.Submitted, "#action")
    def _submit(self, event: Input.Submitted) -> None:
        chosen = list(self.query_one("#flags", SelectionList).selected)
        error = self.query_one("#ack-error", Static)
        if not chosen:
            error.update("tick at least one flag (Tab to the list, Space ticks)")
            return
        if not event.value.strip():
            error.update("say what was done, in a word or a sentence")
            return
        self.dismiss(Acknowledgement(chosen, event.value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDoseScreen(ModalScreen[bool]):
    """Record that the dose was given now: Enter yes, Escape no."""

    BINDINGS = [
        Binding("enter", "yes", "Dose given now", id="confirm_dose"),
        Binding("escape", "no", "Cancel", id="cancel_dose"),
    ]

    def __init__(self, view: SessionView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(
                f"Dose given now for {self.view.bay or ''} {self.view.patient}?", classes="title"
            )
            yield Static(f"{self.view.treatment}. Enter records the dosing time now; Esc cancels.")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)


@dataclass(frozen=True)
class Discharge:
    """Discharge, with a reason when the gate is overridden."""

    override_reason: str | None


class DischargeScreen(ModalScreen[Discharge]):
    """The discharge gate as a checklist; discharge when met, or override with a reason."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_discharge")]

    def __init__(self, view: SessionView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        gate = self.view.gate
        with Vertical(id="dialog"):
            yield Label(
                f"Discharge {self.view.bay or ''} {self.view.patient}  (Esc cancels)",
                classes="title",
            )
            checklist = Text()
            for item in gate.items:
                mark, style = ("[x]", "green") if item.ok else ("[ ]", "bold red")
                checklist.append(f"{mark} {item.label}", style=style)
                if item.detail:
                    checklist.append(f"  - {item.detail}", style="red")
                checklist.append("\n")
            yield Static(checklist, id="checklist")
            if gate.ready:
                yield Static("Gate met. Enter discharges.", classes="ok")
                yield Button("Discharge", variant="success", id="discharge")
            else:
                yield Static("Gate not met. To discharge anyway, write why:", classes="error")
                yield Input(placeholder="override reason", id="override")
            yield Static(id="discharge-error", classes="error")

    def on_mount(self) -> None:
        if self.view.gate.ready:
            self.query_one("#discharge", Button).focus()
        else:
            self.query_one("#override", Input).focus()

    @on(Button.Pressed, "#discharge")
    def _discharge(self) -> None:
        self.dismiss(Discharge(None))

    @on(Input.Submitted, "#override")
    def _override(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.query_one("#discharge-error", Static).update("an override needs a written reason")
            return
        self.dismiss(Discharge(event.value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)


class DetailScreen(ModalScreen[None]):
    """One session: its schedule, every reading and flag, and a BP/HR chart."""

    BINDINGS = [Binding("escape", "close", "Back", id="close_detail")]

    def __init__(self, view: SessionView, thresholds: Thresholds) -> None:
        super().__init__()
        self.view = view
        self.thresholds = thresholds

    def compose(self) -> ComposeResult:
        view = self.view
        with Vertical(id="detail"):
            yield Label(
                f"{view.bay or '-'}  {view.patient}  {view.treatment}  "
                f"dosed {_local(view.dosed_at)}  ({view.status})  Esc back",
                classes="title",
            )
            with TabbedContent():
                with TabPane("Schedule", id="tab-schedule"):
                    yield DataTable(id="schedule", cursor_type="row", zebra_stripes=True)
                with TabPane("Readings", id="tab-readings"), VerticalScroll():
                    yield Static(self._readings(), id="readings")
                with TabPane("Chart", id="tab-chart"):
                    from textual_plotext import PlotextPlot

                    yield PlotextPlot(id="chart")

    def _readings(self) -> Text:
        out = Text()
        if not self.view.readings:
            out.append("No readings yet.")
        for reading in self.view.readings:
            style = "strike dim" if not reading.in_force else ""
            out.append(f"#{reading.id} {_local(reading.measured_at)} ", style=style)
            out.append(format_entry(reading.vitals), style=style or "bold")
            out.append(f"  by {reading.recorded_by}", style="dim")
            if reading.superseded_by:
                out.append(f"  corrected by #{reading.superseded_by}", style="dim")
            if reading.corrects:
                out.append(f"  corrects #{reading.corrects}: {reading.reason}", style="italic")
            out.append("\n")
            for flag in reading.flags:
                out.append(
                    f"    {flag.severity.symbol:<3} {flag.message}",
                    style=severity_style(flag.severity),
                )
                if flag.acknowledged:
                    when = _local(flag.acknowledged_at)
                    out.append(f"  ack {flag.acknowledged_by} {when}: {flag.action}", style="green")
                elif flag.severity.needs_action and reading.in_force:
                    out.append("  not acknowledged", style="bold")
                out.append("\n")
        return out

    def on_mount(self) -> None:
        table = self.query_one("#schedule", DataTable)
        table.add_columns("check", "due", "measures", "status")
        for check in self.view.checks:
            status = check.status.value + (" (late)" if check.late else "")
            style = {
                "overdue": "bold yellow",
                "missed": "bold red",
                "done": "green",
                "due": "bold",
            }.get(check.status.value, "")
            table.add_row(
                check.label,
                _local(check.due_at),
                " ".join(m.value for m in check.measures),
                Text(status, style=style),
            )
        self._draw_chart()

    def _draw_chart(self) -> None:
        from textual_plotext import PlotextPlot

        plot = self.query_one("#chart", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        view = self.view
        origin = view.dosed_at or (view.readings[0].measured_at if view.readings else None)
        plt.title("SBP / DBP / HR against minutes since dose")
        if origin is None:
            return
        series: dict[Measure, tuple[list[int], list[int]]] = {
            Measure.SYSTOLIC: ([], []),
            Measure.DIASTOLIC: ([], []),
            Measure.HEART_RATE: ([], []),
        }
        for reading in view.in_force:
            minute = minutes_between(origin, reading.measured_at)
            for measure, (xs, ys) in series.items():
                value = reading.vitals.get(measure)
                if value is not None:
                    xs.append(minute)
                    ys.append(value)
        for (measure, (xs, ys)), colour in zip(
            series.items(), ("red", "blue", "green"), strict=True
        ):
            if xs:
                plt.plot(xs, ys, label=measure.abbreviation, color=colour, marker="dot")
        high_sbp = [
            b
            for b in self.thresholds.absolute.bands[Measure.SYSTOLIC].get(Severity.HIGH, ())
            if b.low
        ]
        for band in high_sbp:
            if band.low is not None:
                plt.hline(band.low, "red")
        if view.dosed_at is not None:
            plt.vline(0, "magenta")
        plt.xlabel("min since dose (dose at 0)")
        plot.refresh()

    def action_close(self) -> None:
        self.dismiss(None)
