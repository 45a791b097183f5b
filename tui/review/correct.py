"""The correct dialog: a reading's values or time corrected, signed with the PIN."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import (
    Button,
    Label,
    Static,
)

from monitor.core.entry import format_entry, parse_entry
from monitor.errors import EntryError
from monitor.timeparse import parse_time, shown_time, split_entry_time
from monitor.views import ReadingView
from tui.dialogs.base import FieldRefusal, SavingDialog
from tui.inputs import Input
from tui.review import DIALOG_CSS
from tui.review.log_text import reading_text


@dataclass(frozen=True)
class Correction:
    """A reading as it should have been (the whole line), why, and the PIN."""

    entry: str
    #: The corrected measurement time (``None``: the original's).
    measured_at: datetime | None
    reason: str
    pin: str = field(repr=False)


def measured_time(text: str, reading: ReadingView, now: datetime) -> datetime:
    """The measurement time typed after ``@``, as every time is read, the station's entry
    line's included (:func:`monitor.timeparse.parse_time`): ``10:28`` is the latest 10:28
    that has come, within the last 12 h; a reading of an earlier day is corrected with its
    date (``2026-11-26T10:28``), which a refusal names. EntryError otherwise."""
    return parse_time(text, now, example=reading.measured_at)


class CorrectScreen(SavingDialog[Correction]):
    """Correct a reading: the line as it should have been (every value; ``@ TIME`` corrects
    the measurement time) and why. The original stays, struck through, with its flags."""

    CSS_PATH = DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_correct")]
    ENTER_MOVES_ON = True
    #: What the services refuse of a correction is the line or its time.
    REFUSAL_FIELD = "entry"

    def __init__(
        self,
        reading: ReadingView,
        clock: Callable[[], datetime],
        save: Callable[[Correction], Any],
    ) -> None:
        super().__init__(save)
        self.reading = reading
        self.clock = clock

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="form"):
            yield Label(
                f"Correct reading #{self.reading.id}  (Enter moves on, Esc cancels)",
                classes="title",
            )
            yield self.error_line()
            yield Static(reading_text(self.reading), id="correct-reading")
            with Grid(classes="fields two"):
                yield Label("Reading")
                yield Input(
                    format_entry(self.reading.vitals),
                    id="entry",
                    compact=True,
                    max_length=200,
                )
                yield Label("Reason")
                yield Input(
                    placeholder="e.g. typo: SpO2 was 97", id="reason", compact=True, max_length=500
                )
                yield Label("Your PIN")
                yield self.pin_field()
            yield Static(id="correct-preview", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Correct", variant="primary", id="save", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self._preview()
        self.set_focus(self.query_one("#entry", Input))

    @on(Input.Changed, "#entry")
    def _preview(self) -> None:
        """What will be saved: the whole line as typed (a value left out is left out)."""
        target = self.query_one("#correct-preview", Static)
        try:
            entry, when = self._entry()
        except ValueError as error:
            target.update(Text(str(error), style="bold red"))
            return
        text = Text("Saves: ")
        text.append(format_entry(parse_entry(entry)), style="bold")
        if when is None:
            text.append(" at the original time")
        else:
            text.append(f" measured {shown_time(when, self.clock())}")
        target.update(text)

    def _entry(self) -> tuple[str, datetime | None]:
        """The line as typed and its measurement time; ValueError says what is wrong."""
        entry, when = split_entry_time(self.query_one("#entry", Input).value)
        try:
            parse_entry(entry)
            return entry, measured_time(when, self.reading, self.clock()) if when else None
        except (EntryError, ValueError) as error:
            raise ValueError(str(error)) from None

    def form(self) -> Correction:
        try:
            entry, when = self._entry()
        except ValueError as error:
            raise FieldRefusal(str(error), "entry") from None
        return Correction(entry, when, self.reason("a correction"), self.pin())
