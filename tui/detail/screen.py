"""The session detail screen (Enter on the floor): everything about one patient, and `p` for
the PDF record. It saves nothing; it gets plain data when built."""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import (
    DataTable,
    Label,
    Static,
    TabbedContent,
    TabPane,
)
from textual.worker import Worker

from monitor.core.entry import format_entry
from monitor.core.rules import Thresholds
from monitor.core.schedule import CheckState
from monitor.present.floor import source_words
from monitor.present.record import (
    NOTE_TEXT,
    NoteKind,
    check_notes,
    check_status,
    discharge_lines,
    flag_line,
    reading_notes,
    review_lines,
    session_facts,
)
from monitor.views import SessionView
from tui.exporting import EXPORT_BINDING, ExportKey
from tui.footer import ScreenFooter
from tui.render import checklist, hm
from tui.styled import DETAIL_STYLE, line_text

#: The schedule's status column is never narrower (a narrow terminal scrolls it sideways).
STATUS_MIN = 24
#: Measures as a nurse reads them in the schedule.
_MEASURE_SHORT = {"bp": "BP", "hr": "HR", "spo2": "SpO2", "rr": "RR", "moaas": "M", "cadss": "C"}


#: How each note on a reading looks (its words are the record's, as the PDF prints them).
_NOTE_STYLE = {
    NoteKind.LATE: "bold yellow",
    NoteKind.AFTER_DISCHARGE: "bold yellow",
    NoteKind.CORRECTS: "italic",
    NoteKind.SUPERSEDED: "dim",
    NoteKind.VOIDED: "bold magenta",
    NoteKind.BEFORE_DOSING: "dim",
}


class DetailScreen(ExportKey, ModalScreen[None]):
    """One session: its schedule, every reading, its events, the session's facts and gate, and
    a BP/HR chart; `p` writes its PDF record."""

    CSS_PATH = Path(__file__).with_name("detail.tcss")
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
        #: The width the schedule was laid out for.
        self._schedule_width = 0

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
                    from tui.detail.chart_widget import SessionChart

                    yield SessionChart(id="chart")
        yield ScreenFooter()

    def _readings(self) -> Text:
        out = Text()
        if not self.view.readings:
            out.append("No readings yet.")
        for reading in self.view.readings:
            # A monitor's reading awaiting validation is not struck: it only does not count yet.
            standing = reading.superseded_by is None and reading.voided is None
            style = "" if standing else "strike dim"
            out.append(f"#{reading.id} {hm(reading.measured_at)} ", style=style)
            out.append(format_entry(reading.vitals), style=style or "bold")
            out.append(f"  by {reading.recorded_by}", style="dim")
            if (source := source_words(reading)) is not None:
                pending = reading.awaits_validation and standing
                out.append(f"  {source}", style="bold yellow" if pending else "dim")
            for note in reading_notes(reading):
                out.append(f"  {NOTE_TEXT[note.kind](note)}", style=_NOTE_STYLE[note.kind])
            out.append("\n")
            for flag in reading.flags:
                out.append("    ")
                line_text(flag_line(flag, reading.recorded_at), out)
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
        """The session's record as :mod:`monitor.present.record` tells it: its facts, the
        discharge (the gate as of now, or the one stored at discharge) and the review; then the
        gate's checklist (docs/clinical.md, "Discharge gate")."""
        view = self.view
        out = Text()
        for label, value in session_facts(view):
            out.append(f"{label:<18}", style="bold")
            out.append(f"{value}\n")
        out.append("\n")
        for line in (*discharge_lines(view), (), *review_lines(view)):
            out.append_text(line_text(line, styles=DETAIL_STYLE))
            out.append("\n")
        stored = view.stored_gate
        if view.discharged_at is None:
            out.append("\nDischarge gate now:\n", style="bold")
            out.append_text(checklist(view.gate.items))
        elif stored is not None and stored.items:
            out.append("\nGate stored at discharge:\n", style="bold")
            out.append_text(checklist(stored.items))
        out.rstrip()
        return out

    def _status(self, check: CheckState) -> Text:
        """The check's status and, each on a line of its own, its notes, as the story words them
        (a note on the status's line would be cut at 80 columns)."""
        discharged_at = self.view.discharged_at
        text = line_text((check_status(check, discharged_at),))
        for note in check_notes(check, discharged_at):
            text.append("\n")
            line_text(note, text)
        return text

    def on_mount(self) -> None:
        self._fill_schedule(self.app.size.width)
        self._draw_chart()

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._schedule_width:
            self._fill_schedule(event.size.width)

    def _fill_schedule(self, width: int) -> None:
        """The schedule, its status column as wide as what is left of ``width``: a check's
        note ("not done: patient in the bathroom ...") wraps there, never cut off."""
        self._schedule_width = width
        rows = [
            (
                check.label,
                hm(check.due_at),
                hm(check.done_at),
                " ".join(_MEASURE_SHORT.get(m.value, m.value) for m in check.measures),
            )
            for check in self.view.checks
        ]
        headers = ("check", "due", "done", "measures")
        widths = [
            max(cell_len(cell) for cell in column) for column in zip(headers, *rows, strict=False)
        ]
        # Each column has a cell of padding either side; the detail one, the scrollbar two.
        left = width - 2 - 2 - sum(w + 2 for w in widths) - 2
        table = self.query_one("#schedule", DataTable)
        table.clear(columns=True)
        table.add_columns(*headers)
        table.add_column("status", width=max(STATUS_MIN, left))
        for row, check in zip(rows, self.view.checks, strict=True):
            table.add_row(*row, self._status(check), height=None)

    def _draw_chart(self) -> None:
        from tui.detail.chart_widget import SessionChart

        self.query_one("#chart", SessionChart).show(self.view, self.thresholds)

    def action_close(self) -> None:
        self.dismiss(None)
