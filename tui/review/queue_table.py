"""The review queue's table: its columns and one row's cells."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import (
    DataTable,
)

from monitor.present.record import column_minutes
from monitor.services.review import SessionFacts
from tui.render import PROTOCOL_SHORT, truncate

#: (key, label, width) of the queue; each width counts the space before the column.
QUEUE_COLUMNS = (
    ("discharged", "Discharged", 13),
    ("patient", "Patient", 11),
    ("protocol", "Proto", 6),
    ("flags", "Flags H/M/L", 12),
    ("ack", "Ack", 7),
    ("checks", "Late/Miss", 10),
    ("late_entries", "LE", 3),
    ("adverse", "AE", 3),
    ("override", "Ovr", 4),
    ("signed", "Signed", 8),
)


def queue_cell(text: str | Text, style: str = "") -> Text:
    out = Text(" ")
    out.append_text(text if isinstance(text, Text) else Text(text, style=style))
    return out


def queue_cells(row: SessionFacts) -> list[Text]:
    """A session's cells in the queue; a number that matters is bold and coloured, and says
    so in text too (``unack``, ``yes``)."""
    flags = Text()
    flags.append(str(row.flags_high), style="bold red" if row.flags_high else "")
    flags.append(f"/{row.flags_medium}", style="bold yellow" if row.flags_medium else "")
    flags.append(f"/{row.flags_low}")
    if row.high_unacknowledged:
        ack = Text("unack", style="bold reverse red")
    elif row.slowest_high_ack_min is not None:
        ack = Text(column_minutes(row.slowest_high_ack_min))
    else:
        ack = Text("-", style="dim")
    checks = Text(
        f"{row.checks_late}/{row.checks_missed}",
        style="bold yellow" if row.checks_late_or_missed else "",
    )
    signed = Text(truncate(row.signed_by or "", 7), style="green") if row.signed else Text("")
    # A session with a value that could not be read says so on its line (docs/storage.md,
    # "Unreadable records"); the status line and its log name the value.
    patient = (
        Text("?" + truncate(row.patient, 9), style="bold reverse red")
        if row.unreadable
        else Text(truncate(row.patient, 10))
    )
    return [
        queue_cell(row.discharged_at.astimezone().strftime("%d %b %H:%M")),
        queue_cell(patient),
        queue_cell(PROTOCOL_SHORT.get(row.protocol, truncate(row.protocol, 5))),
        queue_cell(flags),
        queue_cell(ack),
        queue_cell(checks),
        queue_cell(str(row.late_entries), "bold yellow" if row.late_entries else ""),
        queue_cell(str(len(row.adverse)), "bold yellow" if row.adverse else ""),
        queue_cell("yes" if row.override else "no", "bold yellow" if row.override else ""),
        queue_cell(signed),
    ]


class QueueTable(DataTable[Any]):
    """The queue: Enter opens the highlighted session's log, and the footer says so."""

    BINDINGS = [Binding("enter", "select_cursor", "Log", id="review_open")]
