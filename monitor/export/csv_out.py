"""CSV exports: one row per reading (``--what readings``), or one row per event,
acknowledgement and check skip (``--what events``).

The columns below are the stable contract (docs/exports.md, "The CSV of readings"): new columns may
be added at the end, none is renamed, moved or removed. UTF-8 (no byte-order mark), a header row,
RFC 4180 quoting (``csv`` module, ``\\r\\n`` line ends), empty for "none". Times are ISO 8601 with
their offset (stored in UTC, so ``+00:00``), exactly as ``session show --json`` gives them. Flags
and acknowledgements are in the reading's own row, one line each inside the cell (free text is one
line, so a line break can only separate two flags).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from monitor.core.observations import reading_status
from monitor.export.common import iso, minutes_after, severity_text, yes_no

# The readings' rows are made by the read itself (monitor.services.exports.reading_table):
# a hundred thousand of them are one export. Their columns are the contract.
from monitor.services.exports import READING_COLUMNS

__all__ = ["EVENT_COLUMNS", "READING_COLUMNS", "CsvWriter", "event_records", "reading_status"]

if TYPE_CHECKING:
    from monitor.views import SessionView

EVENT_COLUMNS = (
    "session_id",
    "patient",
    "protocol",
    "kind",
    "at",
    "recorded_at",
    "by",
    "minutes_after_dosing",
    "type",
    "severity",
    "serious",
    "text",
    "flag_id",
    "reading_id",
    "flag",
    "check",
    # Revision 3 (added at the end, as the contract allows).
    "cosigned_by",
)


def _blank(value: Any) -> Any:
    return "" if value is None else value


def _minutes(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def event_records(view: SessionView) -> list[list[Any]]:
    """The rows of one session for ``--what events``, in time order: its notes, adverse
    events and interventions, the acknowledgements of its flags and of its serious events'
    alarms (who, the co-signing clinician), the checks not done with their reason, and the
    reasons for overriding the dosing or discharge gate (who overrode, who co-signed)."""
    head = [view.id, view.patient, view.protocol]
    found: list[tuple[Any, int, list[Any]]] = []

    def add(kind: str, at: Any, recorded: Any, by: Any, order: int, **rest: Any) -> None:
        found.append(
            (
                at,
                order,
                [
                    *head,
                    kind,
                    iso(at),
                    iso(recorded),
                    _blank(by),
                    _minutes(minutes_after(view.dosed_at, at)),
                    _blank(rest.get("type")),
                    _blank(rest.get("severity")),
                    rest.get("serious", ""),
                    _blank(rest.get("text")),
                    _blank(rest.get("flag_id")),
                    _blank(rest.get("reading_id")),
                    _blank(rest.get("flag")),
                    _blank(rest.get("check")),
                    _blank(rest.get("cosigned_by")),
                ],
            )
        )

    for e in view.events:
        add(
            e.kind,
            e.at,
            e.recorded_at,
            e.by,
            e.id,
            type=e.type,
            severity=e.severity,
            serious=yes_no(e.serious),
            text=e.text,
        )
    acknowledged = [(f, r.id) for r in view.readings for f in r.flags] + [
        (e.alarm, None) for e in view.events if e.alarm is not None
    ]
    for f, reading_id in acknowledged:
        if f.acknowledged_at is not None:
            add(
                "acknowledgement",
                f.acknowledged_at,
                None,
                f.acknowledged_by,
                f.id,
                severity=severity_text(f),
                text=f.action,
                flag_id=f.id,
                reading_id=reading_id,
                flag=f.message,
                cosigned_by=f.cosigned_by,
            )
    for check in view.checks:
        skip = check.skip
        if skip is None:
            continue
        if check.label == "baseline" and skip.reason == view.dose_override_reason:
            continue  # the dosing override's reason, written below as what it is
        add("check skip", skip.at, None, skip.by, 0, text=skip.reason, check=check.label)
    if view.dose_override_reason and view.dosed_at is not None:
        add(
            "dosing override",
            view.dosed_at,
            None,
            view.dose_override_by or view.dosed_by,
            0,
            text=view.dose_override_reason,
            cosigned_by=view.dose_override_cosigned_by,
        )
    if view.override_reason and view.discharged_at is not None:
        add(
            "discharge override",
            view.discharged_at,
            None,
            view.discharged_by,
            0,
            text=view.override_reason,
            cosigned_by=view.discharge_cosigned_by,
        )
    found.sort(key=lambda item: (item[0], item[1]))
    return [row for _, _, row in found]


class CsvWriter:
    """Rows to a binary file as UTF-8 CSV, a chunk of rows at a time."""

    def __init__(self, out: Any, columns: Iterable[str]) -> None:
        self._out = out
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer)
        self._csv.writerow(columns)
        self._flush()

    def _flush(self) -> None:
        self._out.write(self._buffer.getvalue().encode("utf-8"))
        self._buffer.seek(0)
        self._buffer.truncate()

    def write(self, rows: Sequence[Sequence[Any]]) -> int:
        """Write rows; returns how many."""
        self._csv.writerows(rows)
        self._flush()
        return len(rows)
