"""The station's screens that save nothing themselves: sign-in and the session detail.

Attributes down, messages up: each screen gets plain data when built and returns what the nurse
decided through ``dismiss``. Sign-in checks the PIN in its own worker before closing. The
dialogs that save (new session, event, acknowledge, dose, infusion end, discharge) are in
:mod:`tui.dialogs`.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import (
    DataTable,
    Label,
    OptionList,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from monitor.core.entry import format_entry
from monitor.core.gate import GateItem, minutes_between
from monitor.core.rules import Severity, Thresholds
from monitor.core.schedule import CheckState, CheckStatus, status_text
from monitor.core.vitals import Measure
from monitor.errors import Refused
from monitor.views import SessionView, UserView
from tui.dialogs import MED_LABELS, checklist
from tui.exporting import EXPORT_BINDING, ExportKey
from tui.inputs import Input, pin_input
from tui.render import hm, severity_style

#: Measures as a nurse reads them in the schedule.
_MEASURE_SHORT = {"bp": "BP", "hr": "HR", "spo2": "SpO2", "rr": "RR", "moaas": "M", "cadss": "C"}
_STATUS_STYLE = {
    CheckStatus.OVERDUE: "bold yellow",
    CheckStatus.MISSED: "bold red",
    CheckStatus.DONE: "green",
    CheckStatus.DUE: "bold",
}


class SignInScreen(ModalScreen[UserView]):
    """Pick your user and type your PIN; everything saved after carries that user."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel or quit", id="cancel_sign_in"),
        # A modal screen does not inherit the app's keys; in the PIN field q is typed.
        Binding("q", "app.quit", "Quit", id="quit_at_sign_in"),
    ]

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
            yield pin_input("PIN", "pin")
            yield Static(id="sign-in-error", classes="error")

    def on_mount(self) -> None:
        if self.users:
            self.query_one("#users", OptionList).highlighted = 0
        self.query_one("#users", OptionList).focus()

    @on(OptionList.OptionSelected, "#users")
    def _to_pin(self) -> None:
        self.query_one("#pin", Input).focus()

    async def on_key(self, event: events.Key) -> None:
        """A PIN typed straight after the name's Enter, before the PIN field has the focus,
        is the PIN, not keys lost on the list: a digit reaching the screen goes into the PIN
        field (a PIN is digits only, so `q` still quits from the list), and once it holds
        something Backspace, the arrows and Enter edit or submit it, each in its turn."""
        if not self.users:
            return
        pin = self.query_one("#pin", Input)
        if event.character and event.character in "0123456789" and event.is_printable:
            pin.focus()
            pin.insert_text_at_cursor(event.character)
        elif pin.value and (editing := pin._bindings.key_to_bindings.get(event.key)):
            pin.focus()
            for binding in editing:
                await self.app.run_action(binding.action, pin)
        else:
            return
        event.stop()
        event.prevent_default()

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
        """Esc in the PIN field goes back to the names (so that q then quits); on the names it
        keeps the user already signed in, or with nobody signed in leaves the station (there
        is nothing else to do without a PIN)."""
        pin = self.query_one("#pin", Input)
        if pin.has_focus and self.users:
            pin.value = ""
            self.query_one("#users", OptionList).focus()
        elif self.allow_cancel:
            self.dismiss(None)
        else:
            self.app.exit()


def whole_minute_ticks(low: int, high: int) -> list[int]:
    """Axis ticks in whole minutes at a round step (5, 10, 15, 30 ...), at most 7 of them."""
    span = max(high - low, 1)
    step = next((s for s in (5, 10, 15, 30, 60, 120, 240) if span / s <= 6), 480)
    start = (low // step) * step
    return list(range(start, high + step, step))


#: The station's keys, as the help screen lists them.
KEY_HELP = (
    ("r", "record a reading for the selected patient (one line, e.g. 142/88 hr 76 spo2 98)"),
    ("a", "alarms: acknowledge flags with what was done; say why a check was not done"),
    ("e", "note, adverse event or intervention"),
    ("Enter", "session detail: schedule, readings, events, the session and its gate"),
    ("n", "new session"),
    ("d", "dose given now (the dosing gate; an override needs a reason and your PIN)"),
    ("i", "IV: the infusion ended"),
    ("x", "discharge (the gate; escort, no-driving instruction, REMS minute)"),
    ("u", "switch user"),
    ("v", "review: sessions to review and sign off (supervisors)"),
    ("Up/Down, Home/End", "choose a patient"),
    ("?", "this help"),
    ("q", "quit (in a text field, Esc closes the field first)"),
)


class HelpScreen(ModalScreen[None]):
    """Every key of the station on one screen."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="close_help"),
        Binding("q", "app.quit", "Quit", id="quit_from_help"),
        Binding("question_mark", "close", "Close", show=False, id="close_help_again"),
    ]

    def compose(self) -> ComposeResult:
        text = Text()
        for key, does in KEY_HELP:
            text.append(f"{key:>18}  ", style="bold")
            text.append(f"{does}\n")
        with Vertical(id="dialog"):
            yield Label("Keys  (Esc closes)", classes="title")
            yield Static(text, id="key-help")

    def action_close(self) -> None:
        self.dismiss(None)


class DetailScreen(ExportKey, ModalScreen[None]):
    """One session: its schedule, every reading, its events, the session's facts and gate, and
    a BP/HR chart; `p` writes its PDF record."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="close_detail"),
        EXPORT_BINDING,
        Binding("q", "app.quit", "Quit", id="quit_from_detail"),
    ]

    def __init__(self, view: SessionView, thresholds: Thresholds) -> None:
        super().__init__()
        self.view = view
        self.thresholds = thresholds
        self.export_session_id = view.id

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self._export_done(event)

    def compose(self) -> ComposeResult:
        view = self.view
        with Vertical(id="detail"):
            dose = f" {view.dose_mg:g} mg" if view.dose_mg else ""
            yield Label(
                f"{view.bay or '-'}  {view.patient}  {view.protocol}{dose}  "
                f"dosed {hm(view.dosed_at)}  {view.status}  (Esc, p PDF)",
                classes="title",
            )
            yield Static(id="export-line")
            with TabbedContent():
                with TabPane("Schedule", id="tab-schedule"):
                    yield DataTable(id="schedule", cursor_type="row", zebra_stripes=True)
                with TabPane("Readings", id="tab-readings"), VerticalScroll():
                    yield Static(self._readings(), id="readings")
                with TabPane(f"Events ({len(view.events)})", id="tab-events"), VerticalScroll():
                    yield Static(self._events(), id="events")
                with TabPane("Session", id="tab-session"), VerticalScroll():
                    yield Static(self._session(), id="session")
                with TabPane("Chart", id="tab-chart"):
                    from textual_plotext import PlotextPlot

                    yield PlotextPlot(id="chart")

    def _readings(self) -> Text:
        out = Text()
        if not self.view.readings:
            out.append("No readings yet.")
        for reading in self.view.readings:
            style = "strike dim" if not reading.in_force else ""
            out.append(f"#{reading.id} {hm(reading.measured_at)} ", style=style)
            out.append(format_entry(reading.vitals), style=style or "bold")
            out.append(f"  by {reading.recorded_by}", style="dim")
            if reading.late_entry:
                out.append(f"  late entry (saved {hm(reading.recorded_at)})", style="bold yellow")
            if reading.voided:
                void = reading.voided
                out.append(
                    f"  VOIDED by {void.by} {hm(void.at)}: {void.reason}", style="bold magenta"
                )
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
                    when = hm(flag.acknowledged_at)
                    out.append(f"  ack {flag.acknowledged_by} {when}: {flag.action}", style="green")
                elif flag.severity.needs_action:
                    out.append("  not acknowledged", style="bold")
                out.append("\n")
        out.rstrip()
        return out

    def _events(self) -> Text:
        out = Text()
        if not self.view.events:
            out.append(
                "No notes, adverse events or interventions. Press e on the floor to add one."
            )
        for event in self.view.events:
            style = {"adverse": "bold yellow", "intervention": "bold cyan"}.get(event.kind, "")
            if event.serious:
                style = "bold red"
            out.append(f"{hm(event.at)} ", style="bold")
            out.append(event.summary, style=style)
            out.append(f"  by {event.by}\n", style="dim")
        out.rstrip()
        return out

    def _session(self) -> Text:
        """The session's facts, the REMS answers, the dose override, and the gate: stored at
        discharge, or as it stands now."""
        view = self.view
        out = Text()

        def line(label: str, value: object, style: str = "") -> None:
            out.append(f"{label:<18}", style="bold")
            out.append(f"{value}\n", style=style)

        def yes_no(value: bool | None) -> str:
            return "not asked" if value is None else "yes" if value else "no"

        dose = "-" if view.dose_mg is None else f"{view.dose_mg:g} mg"
        if view.weight_kg:
            dose += f", {view.weight_kg:g} kg"
            if view.dose_mg:
                dose += f" ({view.dose_mg / view.weight_kg:.2f} mg/kg)"
        line("dose", dose + (f", lot {view.lot}" if view.lot else ""))
        line("age", "-" if view.age is None else view.age)
        line("first treatment", yes_no(view.first_treatment))
        line("dose number", "-" if view.dose_number is None else view.dose_number)
        if view.meds is None:
            meds = "not asked"
        else:
            meds = ", ".join(MED_LABELS.get(m, m) for m in view.meds) or "none"
        line("REMS medication", meds)
        line("started", f"{hm(view.started_at)} by {view.started_by}")
        line("dosed", hm(view.dosed_at))
        if view.dose_override_reason:
            line("dosing gate", f"overridden: {view.dose_override_reason}", "bold yellow")
        if view.schedule is not None and view.schedule.infusion_min is not None:
            if view.infusion_ended_at is not None and view.dosed_at is not None:
                length = minutes_between(view.dosed_at, view.infusion_ended_at)
                line("infusion ended", f"{hm(view.infusion_ended_at)} ({length} min)")
            else:
                line("infusion ended", f"not recorded (assumed {view.schedule.infusion_min} min)")
        if view.discharged_at is not None:
            line("discharged", f"{hm(view.discharged_at)} by {view.discharged_by}")
            line("escort", view.escort or "not recorded")
            line("no-driving instr.", yes_no(view.instructions_given))
            if view.ready_minute is not None or view.ready_minute_proposed is not None:
                line(
                    "REMS ready minute",
                    f"{view.ready_minute} (proposed {view.ready_minute_proposed}, "
                    f"by {view.ready_minute_by or '-'})",
                )
            if view.override_reason:
                line("gate overridden", view.override_reason, "bold yellow")
            out.append("\n")
            stored = view.gate_at_discharge
            if stored is None:
                out.append("Gate not stored (discharged before it was kept).", style="bold")
            else:
                verdict = "ready" if stored.get("ready") else "not ready"
                out.append(
                    f"Gate stored at discharge: {verdict}\n",
                    style="bold green" if stored.get("ready") else "bold red",
                )
                items = tuple(
                    GateItem(i["label"], i["ok"], i.get("detail")) for i in stored.get("items", [])
                )
                out.append_text(checklist(items))
        else:
            out.append("\n")
            verdict = "ready" if view.gate.ready else "not ready"
            out.append(
                f"Discharge gate now: {verdict}\n",
                style="bold green" if view.gate.ready else "bold red",
            )
            out.append_text(checklist(view.gate.items))
        return out

    def _status(self, check: CheckState) -> Text:
        status = status_text(check, self.view.discharged_at)
        if check.status is CheckStatus.DONE:
            status = f"done {hm(check.done_at)}" + (" late" if check.late else "")
        text = Text(status, style=_STATUS_STYLE.get(check.status, ""))
        if check.skip is not None:
            text.append(f" not done: {check.skip.reason} ({check.skip.by})", style="italic")
        return text

    def on_mount(self) -> None:
        table = self.query_one("#schedule", DataTable)
        table.add_columns("check", "due", "measures", "status")
        for check in self.view.checks:
            table.add_row(
                check.label,
                hm(check.due_at),
                " ".join(_MEASURE_SHORT.get(m.value, m.value) for m in check.measures),
                self._status(check),
            )
        self._draw_chart()

    def _draw_chart(self) -> None:
        from textual_plotext import PlotextPlot

        draw_session_chart(self.query_one("#chart", PlotextPlot), self.view, self.thresholds)

    def action_close(self) -> None:
        self.dismiss(None)


def draw_session_chart(plot: Any, view: SessionView, thresholds: Thresholds) -> None:
    """SBP, DBP and HR of the readings in force against minutes since the dose, with the
    high SBP limit and the dose marked, on a textual-plotext ``plot`` (the detail view's chart,
    also beside the review log)."""
    plt = plot.plt
    plt.clear_data()
    plt.clear_figure()
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
    for (measure, (xs, ys)), colour in zip(series.items(), ("red", "blue", "green"), strict=True):
        if xs:
            plt.plot(xs, ys, label=measure.abbreviation, color=colour, marker="dot")
    high_sbp = [
        b for b in thresholds.absolute.bands[Measure.SYSTOLIC].get(Severity.HIGH, ()) if b.low
    ]
    for band in high_sbp:
        if band.low is not None:
            plt.hline(band.low, "red")
    if view.dosed_at is not None:
        plt.vline(0, "magenta")
    minutes = [m for xs, _ in series.values() for m in xs] + ([0] if view.dosed_at else [])
    if minutes:
        plt.xticks([float(t) for t in whole_minute_ticks(min(minutes), max(minutes))])
    plt.xlabel("min since dose (dose at 0)")
    plot.refresh()
