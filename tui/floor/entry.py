"""The entry line: quick-entry vitals for the selected patient, with a live preview."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from monitor.core.entry import format_entry, parse_entry
from monitor.core.rules import Thresholds
from monitor.errors import Refused
from monitor.judge import preview_flags
from monitor.present.floor import saved_lines
from monitor.services.base import unreachable
from monitor.timeparse import parse_time, shown_time, split_entry_time
from monitor.views import SessionView
from tui.failures import error_message
from tui.inputs import Input
from tui.render import severity_style
from tui.styled import lines_text

if TYPE_CHECKING:
    from monitor.services.readings import Recorded


class EntryBar(Vertical):
    """Typed vitals for one session; Enter saves, Escape closes. The line stays open, with
    what was typed, until the app says the reading was saved."""

    DEFAULT_CSS = """
    EntryBar { height: auto; border-top: solid $accent; padding: 0 1; }
    EntryBar #entry-title { color: $text-muted; }
    EntryBar #entry-preview { height: auto; min-height: 1; }
    """

    @dataclass
    class Submitted(Message):
        """The nurse pressed Enter on a line that parses."""

        session_id: int
        #: Whom it is for, as the line's title names the patient.
        patient: str
        entry: str
        measured_at: datetime | None
        #: This entry's key: a retry of the same line after a lost reply saves it once.
        key: str

    class Closed(Message):
        """The nurse closed the entry line."""

    def __init__(self, thresholds: Callable[[], Thresholds], clock: Callable[[], datetime]) -> None:
        """``thresholds`` gives the rules' thresholds when a preview needs them (the rules in
        force are read after the station's first frame: tui.opening)."""
        super().__init__(id="entry-bar")
        self._thresholds = thresholds
        self.clock = clock
        #: The session the entry is for (set by the app).
        self.session: SessionView | None = None
        #: A reading is being saved: Enter again does not save it twice.
        self.saving = False
        #: The key of the line as typed now: kept for a retry of the same line, new when the
        #: line changes (a corrected line is a new entry, never the old reading).
        self.key = uuid.uuid4().hex

    def compose(self) -> ComposeResult:
        yield Static(id="entry-title")
        yield Input(
            placeholder="142/88 hr 76 spo2 98 rr 14 moaas 5 cadss 3   [@ 5 min ago]",
            id="entry-input",
        )
        yield Static(id="entry-preview")

    def open_for(self, session: SessionView) -> None:
        """Show the line for ``session`` and focus it."""
        self.session = session
        bay = f"{session.bay}  " if session.bay else ""
        self.query_one("#entry-title", Static).update(
            f"Record for {bay}{session.patient}  (Enter saves, Esc closes)"
        )
        field = self.query_one("#entry-input", Input)
        field.value = ""
        self.query_one("#entry-preview", Static).update("")
        self.saving = False
        self.key = uuid.uuid4().hex
        self.display = True
        field.focus()

    def close(self) -> None:
        """Hide the line (the reading was saved, or the nurse pressed Escape)."""
        self.saving = False
        self.display = False
        self.post_message(self.Closed())

    def refused(self, message: str) -> None:
        """The save failed: say why under the line, which keeps what was typed (the line
        and what it says go when it closes)."""
        self.saving = False
        self.query_one("#entry-preview", Static).update(Text(message, style="bold red"))
        self.query_one("#entry-input", Input).focus()

    def failed(self, error: BaseException | None) -> None:
        """The save failed: say so for whom, and whether Enter can fix it. Only a failure of
        the database itself (unreachable, timed out, locked) may pass on a retry of the same
        line; a refusal says what to change, and Enter again would be refused again."""
        patient = self.session.patient if self.session else "this patient"
        why = str(error) if isinstance(error, Refused) else error_message(error)
        retry = " (Enter tries again)" if unreachable(error) else ""
        self.refused(f"NOT saved for {patient}: {why}{retry}")

    def _interpret(self, line: str) -> tuple[str, datetime | None, Text]:
        """Parse the line; raises Refused with the core's message."""
        assert self.session is not None
        entry, when_text = split_entry_time(line)
        now = self.clock()
        measured_at = parse_time(when_text, now) if when_text else None
        vitals = parse_entry(entry)
        flags = preview_flags(self.session, vitals, measured_at or now, self._thresholds())
        preview = Text(format_entry(vitals), style="bold")
        if measured_at is not None:
            preview.append(f"  at {shown_time(measured_at, now)}")
        if not flags:
            preview.append("   no flags", style="green")
        for flag in flags:
            preview.append(
                f"   {flag.severity.symbol} {flag.message}", style=severity_style(flag.severity)
            )
        return entry, measured_at, preview

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.key = uuid.uuid4().hex
        target = self.query_one("#entry-preview", Static)
        if not event.value.strip() or self.session is None:
            target.update("")
            return
        try:
            _, _, preview = self._interpret(event.value)
        except Refused as error:
            target.update(Text(str(error), style="bold red"))
            return
        target.update(preview)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.session is None or self.saving:
            return
        try:
            entry, measured_at, _ = self._interpret(event.value)
        except Refused as error:
            self.query_one("#entry-preview", Static).update(Text(str(error), style="bold red"))
            return
        self.saving = True
        self.query_one("#entry-preview", Static).update(Text("saving…", style="dim"))
        self.post_message(
            self.Submitted(self.session.id, self.session.patient, entry, measured_at, self.key)
        )

    def key_escape(self) -> None:
        self.close()


class EntryNote(Static):
    """What the reading just saved did, where the entry line was: the check it counted for
    and the checks before it left not done (an alarm that stays is never a surprise). It
    stays until the entry line opens again, another save is announced, or the station locks;
    no toast covers it (the app announces a reading's save here only)."""

    DEFAULT_CSS = """
    EntryNote { display: none; height: auto; border-top: solid $accent; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__(id="entry-note")

    def show(self, patient: str, recorded: Recorded) -> None:
        """Say what the reading saved for ``patient`` raised and served
        (:func:`monitor.present.floor.saved_lines`), in lines of the screen's width."""
        if recorded.served is None:
            return
        width = self.app.size.width - 2  # its padding
        lines = saved_lines(patient, recorded.served, recorded.reading.flags, width)
        self.update(lines_text(lines))
        self.display = True

    def clear(self) -> None:
        """Nothing to say (it named a patient: the text goes too)."""
        self.update("")
        self.display = False
