"""The monitor dialog (`m`): the selected patient's readings from the bedside monitor that
await validation, validated in one go, or one rejected as an artefact with the reason (it is
voided). docs/devices.md, "Validation"; docs/station.md, "Readings from the bedside monitor"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, SelectionList, Static

from monitor.present.floor import awaiting_validation, pending_line
from monitor.views import ReadingView, SessionView
from tui.dialogs.base import FieldRefusal, SavingDialog
from tui.inputs import Input
from tui.render import severity_style
from tui.ticks import Ticks

#: The word a rejection's reason starts with, said once when the nurse did not.
ARTEFACT = "artefact"


@dataclass(frozen=True)
class MonitorDecision:
    """The readings validated, or the one rejected (voided) with its reason."""

    reading_ids: list[int]
    #: Set when the one reading is rejected as an artefact (None: the readings are validated).
    reject_reason: str | None = None


def reading_option(reading: ReadingView) -> tuple[Text, str, bool]:
    """A pending reading as a ticked line: its time, values and monitor, in the colour of its
    worst flag, with its flags' marks."""
    worst = max(reading.flags, key=lambda f: f.severity.rank).severity if reading.flags else None
    marks = f"{worst.symbol:<3} " if worst else "    "
    text = Text(f"{marks}{pending_line(reading)}", style=severity_style(worst))
    return text, str(reading.id), True


def artefact_reason(text: str) -> str:
    """The void's reason: what the nurse typed, said to be an artefact."""
    return text if text.lower().startswith(ARTEFACT) else f"{ARTEFACT}: {text}"


class MonitorScreen(SavingDialog[MonitorDecision]):
    """Validate the ticked monitor readings (Enter), or reject the one ticked as an artefact:
    the reason typed, then the Reject button (or Enter in the reason)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_monitor")]
    REFUSAL_FIELD = "readings"

    def __init__(self, view: SessionView, save: Callable[[MonitorDecision], Any]) -> None:
        super().__init__(save)
        self.view = view
        self.pending = awaiting_validation(view)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(
                f"Monitor, not validated: {self.view.bay or ''} {self.view.patient}"
                "  (Space ticks, Enter validates)",
                classes="title",
            )
            yield self.error_line()
            yield Ticks(*(reading_option(r) for r in self.pending), id="readings")
            yield Static(
                "Validated, they count for the checks and the gate. A wrong one (a cuff that "
                "moved, a probe off the finger): tick only it, say why, Reject.",
                classes="explain",
            )
            yield Input(placeholder="why reject it, e.g. cuff moved", id="reason", max_length=500)
            with Horizontal(classes="buttons"):
                yield Button("Validate", variant="primary", id="save", compact=True)
                yield Button("Reject", variant="error", id="reject", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#readings", Ticks))

    def _ticked(self) -> list[int]:
        return [int(v) for v in self.query_one("#readings", SelectionList).selected]

    @on(Ticks.Submitted)
    def _validate_from_list(self) -> None:
        self.submit_form()

    def form(self) -> MonitorDecision:
        """The ticked readings, to validate."""
        ticked = self._ticked()
        if not ticked:
            raise FieldRefusal("tick at least one reading (arrows move, Space ticks)", "readings")
        return MonitorDecision(ticked)

    def rejection(self) -> MonitorDecision:
        """The one ticked reading, to reject with the reason typed."""
        ticked = self._ticked()
        if len(ticked) != 1:
            raise FieldRefusal("tick only the reading to reject (Space unticks)", "readings")
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            raise FieldRefusal("say why it is wrong, e.g. cuff moved", "reason")
        return MonitorDecision(ticked, artefact_reason(reason))

    @on(Button.Pressed, "#reject")
    @on(Input.Submitted, "#reason")
    def _reject(self) -> None:
        try:
            decision = self.rejection()
        except FieldRefusal as refusal:
            self.refuse(str(refusal), field=refusal.field)
            return
        self.submit(decision)
