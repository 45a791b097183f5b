"""How the PDF session record (:mod:`monitor.export.pdf`) words and colours what the story
(:mod:`monitor.present.record`) tells: times, cells, a reading's notes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from monitor.core.gate import minutes_from_dosing
from monitor.core.rules import Severity
from monitor.present.parts import Line, Role
from monitor.present.record import NOTE_TEXT, NoteKind, ReadingNote, event_late, note_texts
from monitor.present.validation import validation_text

if TYPE_CHECKING:
    from monitor.views import EventView, ReadingView

#: RGB of each severity on paper (red, amber, cyan; darkened for print).
INK = {
    Severity.HIGH: (183, 28, 28),
    Severity.MEDIUM: (176, 106, 0),
    Severity.LOW: (0, 121, 134),
}
GREY = (110, 110, 110)
BLACK = (0, 0, 0)


def zone(moment: datetime) -> str:
    """The local zone at ``moment``: ``CET (UTC+01:00)``."""
    shown = moment.astimezone()
    return f"{shown.tzname()} (UTC{shown.strftime('%z')[:3]}:{shown.strftime('%z')[3:]})"


def minute(dosed_at: datetime | None, moment: datetime) -> str:
    """Minutes after dosing (:func:`monitor.core.gate.minutes_from_dosing`), signed
    (``+40``); empty without a dose."""
    if dosed_at is None:
        return ""
    return f"{minutes_from_dosing(dosed_at, moment):+d}"


def bp(reading: ReadingView) -> str:
    """``184/102``, ``-/90``; empty without a BP."""
    v = reading.vitals
    if v.systolic is None and v.diastolic is None:
        return ""
    return f"{v.systolic if v.systolic is not None else '-'}/" + (
        f"{v.diastolic if v.diastolic is not None else '-'}"
    )


def number(value: int | None) -> str:
    """A value in a cell, empty for none."""
    return "" if value is None else str(value)


def notes_cell(reading: ReadingView) -> str:
    """The reading's notes in its row's last cell: first, for a reading from a bedside
    monitor, its device and validation (:func:`monitor.present.validation.validation_text`:
    ``from monitor MP5-001, not validated``), then :func:`monitor.present.record.note_texts`."""
    device = validation_text(reading, reading.measured_at)
    return "; ".join((device, *note_texts(reading)) if device else note_texts(reading))


def event_cell(event: EventView) -> str:
    """An event's text; written late (:func:`monitor.present.record.event_late`), with the
    late-entry note worded as a reading's (:data:`monitor.present.record.NOTE_TEXT`)."""
    if not event_late(event):
        return event.text
    late = NOTE_TEXT[NoteKind.LATE](ReadingNote(NoteKind.LATE, event.recorded_at))
    return f"{event.text} [{late}]"


def ink(line: Line) -> tuple[int, int, int]:
    """The colour of a line of the story on paper: red with an alert anywhere in it, else
    amber with a warning, else grey when it is only a note, else black."""
    roles = {part.role for part in line}
    if Role.ALERT in roles:
        return INK[Severity.HIGH]
    if Role.WARN in roles:
        return INK[Severity.MEDIUM]
    return GREY if roles == {Role.NOTE} else BLACK
