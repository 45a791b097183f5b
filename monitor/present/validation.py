"""How every face words a reading sent by a bedside monitor (docs/devices.md): where it came
from and whether a nurse validated it, told once.

A device's reading raises its flags at once but counts for no check and no value of the
gate until a nurse validates it. So wherever a reading is listed it says so:
``from monitor MP5-001, not validated`` while it waits, then ``from monitor MP5-001,
validated by ana 10:42`` (:func:`validation_text`). The review (:mod:`monitor.present.review`)
names the readings still waiting (:func:`pending_line`), so that a supervisor signing the
record sees them. A typed reading says nothing here: its recorder stands behind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.present.parts import Line, Part, Role, clock, plural

if TYPE_CHECKING:
    from monitor.views import ReadingView, SessionView

#: The words of a device reading, in every face.
FROM_MONITOR = "from monitor"
NOT_VALIDATED = "not validated"
#: ``ReadingView.source`` of a device reading begins with this.
_DEVICE = "device "


def device_name(reading: ReadingView) -> str | None:
    """The name of the device that sent ``reading`` (None for a typed one)."""
    if not reading.from_device:
        return None
    return reading.source.removeprefix(_DEVICE)


def validation_text(reading: ReadingView, day_of: datetime | None = None) -> str | None:
    """``from monitor MP5-001, not validated`` or ``from monitor MP5-001, validated by ana
    10:42`` (the time as :func:`monitor.present.record.clock` gives it, with its day when it
    falls on another day than ``day_of``); None for a typed reading."""
    name = device_name(reading)
    if name is None:
        return None
    if reading.validated_at is None:
        return f"{FROM_MONITOR} {name}, {NOT_VALIDATED}"
    when = clock(reading.validated_at, day_of)
    return f"{FROM_MONITOR} {name}, validated by {reading.validated_by or '?'} {when}"


def validation_part(reading: ReadingView, day_of: datetime | None = None) -> Part | None:
    """:func:`validation_text` as a piece of a line: a warning while the reading awaits a
    nurse, a note (who, when) once validated; None for a typed reading."""
    text = validation_text(reading, day_of)
    if text is None:
        return None
    return Part(text, Role.WARN if reading.validated_at is None else Role.NOTE)


def pending(readings: Iterable[ReadingView]) -> tuple[ReadingView, ...]:
    """The device readings still awaiting a nurse's validation (neither voided nor
    corrected: those no longer wait for anything)."""
    return tuple(
        r for r in readings if r.awaits_validation and r.voided is None and r.superseded_by is None
    )


def pending_line(view: SessionView) -> Line | None:
    """``2 readings from monitor not validated (#47, #48): they count for no check until a
    nurse validates them``, an alert; None when none waits."""
    waiting = pending(view.readings)
    if not waiting:
        return None
    ids = ", ".join(f"#{r.id}" for r in waiting)
    return (
        Part(
            f"{plural(len(waiting), 'reading')} {FROM_MONITOR} {NOT_VALIDATED} ({ids}): "
            "they count for no check until a nurse validates them",
            Role.ALERT,
        ),
    )


__all__ = [
    "FROM_MONITOR",
    "NOT_VALIDATED",
    "device_name",
    "pending",
    "pending_line",
    "validation_part",
    "validation_text",
]
