"""CSV exports: one row per reading (``--what readings``), or one row per event,
acknowledgement, check skip, gate override, sign-off and reopening (``--what events``).

The columns below are the stable contract (docs/exports.md, "The CSV of readings"): new columns may
be added at the end, none is renamed, moved or removed. UTF-8 (no byte-order mark), a header row,
RFC 4180 quoting (``csv`` module, ``\\r\\n`` line ends), empty for "none". Times are ISO 8601 with
their offset (stored in UTC, so ``+00:00``), exactly as ``session show --json`` gives them. Flags
and acknowledgements are in the reading's own row, one line each inside the cell (free text is one
line, so a line break can only separate two flags). Each column holds one vocabulary: the
events file's ``severity`` is an adverse event's (mild/moderate/severe), ``flag_severity`` an
acknowledged flag's (high/medium/low).

**Two kinds of file** (docs/exports.md, "For a spreadsheet or for data"): for a spreadsheet (the
default), a text cell that a spreadsheet would read as a formula (it begins with ``=``, ``+``,
``-``, ``@``, a tab, a carriage return; see :data:`FORMULA_STARTS`) is written with a ``'`` in
front, and so is a text cell that begins with ``'`` itself, so that taking one ``'`` off any text
cell that begins with one gives back exactly what was typed; ids, numbers and times are never
touched (``-5.0`` minutes stays a number). For data, every value is written exactly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from monitor.core.observations import reading_status
from monitor.core.vitals import Measure
from monitor.export.common import iso, minutes_after, severity_text, yes_no
from monitor.views import SignOffView

#: The measures' columns, in the order of the quick-entry line (docs/exports.md).
MEASURES = tuple(m.value for m in Measure)

__all__ = [
    "EVENT_COLUMNS",
    "FORMULA_STARTS",
    "READING_COLUMNS",
    "CsvWriter",
    "csv_cell",
    "event_records",
    "reading_status",
    "spreadsheet_text",
    "text_columns",
]

if TYPE_CHECKING:
    from monitor.views import SessionView

#: The columns of the CSV of readings (one row per reading, made by
#: :mod:`monitor.export.csv_readings`): the stable contract (docs/exports.md, "The CSV of
#: readings"). New columns may be added at the end; none is renamed, moved or removed.
READING_COLUMNS = (
    "session_id",
    "patient",
    "protocol",
    "reading_id",
    "measured_at",
    "recorded_at",
    "recorded_by",
    "minutes_after_dosing",
    "before_dosing",
    *MEASURES,
    "status",
    "superseded_by",
    "corrects",
    "correction_reason",
    "voided_by",
    "voided_at",
    "void_reason",
    "late_entry",
    "highest_flag",
    "flags",
    "acknowledgements",
    # Revision 3 (added at the end, as the contract allows).
    "entered_after_discharge",
    "flags_acknowledged_by",
    "flags_cosigned_by",
    "flags_raised_by",
    # Issue 24: where the reading came from (``typed`` or ``device NAME``) and who stands
    # behind its values: a typed reading's recorder, a device reading's validating nurse
    # (both empty while it awaits one), as ``session show --json``'s ``validated``.
    "source",
    "validated_by",
    "validated_at",
)

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
    # Issue 22: the acknowledged flag's severity, apart from the adverse event's `severity`.
    "flag_severity",
)

#: What makes a spreadsheet read a cell as a formula (OWASP "CSV Injection", ASVS 1.2.10):
#: ``=``, ``+``, ``-``, ``@``, tab, carriage return, NUL, and their full-width forms, which some
#: spreadsheets read as the same. A cell beginning with ``'`` is escaped too (the escape itself),
#: so that one ``'`` taken off gives back the value.
FORMULA_STARTS = frozenset("=+-@\t\r\0'\uff1d\uff0b\uff0d\uff20")

#: The columns that are never text: ids, numbers and times (never escaped; ``-5.0`` minutes
#: is a number). Every other column is text.
_NOT_TEXT = frozenset(
    {
        "session_id",
        "reading_id",
        "flag_id",
        "measured_at",
        "recorded_at",
        "voided_at",
        "validated_at",
        "at",
        "minutes_after_dosing",
        *MEASURES,
        "superseded_by",
        "corrects",
    }
)


def text_columns(columns: Sequence[str]) -> tuple[int, ...]:
    """The positions of the text columns of ``columns`` (those a spreadsheet file escapes)."""
    return tuple(i for i, name in enumerate(columns) if name not in _NOT_TEXT)


def _blank(value: Any) -> Any:
    return "" if value is None else value


def _minutes(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def event_records(view: SessionView) -> list[list[Any]]:
    """The rows of one session for ``--what events``, in time order: its notes, adverse
    events and interventions, the acknowledgements of its flags and of its serious events'
    alarms (who, the co-signing clinician), the checks not done with their reason, the
    reasons for overriding the dosing or discharge gate (who overrode, who co-signed), and
    the review: every sign-off (``signoff``, a withdrawn one's text ``reviewed (withdrawn)``)
    and every reopening that withdrew one (``reopen``, with its reason)."""
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
                    _blank(rest.get("flag_severity")),
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
                flag_severity=severity_text(f),
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
    _review(view, add)
    found.sort(key=lambda item: (item[0], item[1]))
    return [row for _, _, row in found]


def _review(view: SessionView, add: Any) -> None:
    """The review's rows: every sign-off, withdrawn ones marked, and every reopening (as the
    record's review, monitor.present.record.review_lines, tells them)."""
    given = list(view.signoffs)
    if not given and view.signed_by is not None and view.signed_at is not None:
        given = [SignOffView(view.signed_by, view.signed_at)]  # a view without its history
    in_force = len(given) - 1 if view.signed_by is not None else len(given)
    for number, signoff in enumerate(given):
        withdrawn = "" if number == in_force else " (withdrawn)"
        add("signoff", signoff.at, None, signoff.by, 0, text=f"reviewed{withdrawn}")
    for again in view.reopened:
        add("reopen", again.at, None, again.by, 1, text=again.reason)


def spreadsheet_text(value: str) -> str:
    """A text cell of the file for a spreadsheet: with a ``'`` in front when a spreadsheet
    would read it as a formula (or it begins with ``'``)."""
    return "'" + value if value and value[0] in FORMULA_STARTS else value


def csv_cell(value: str) -> str:
    """``value`` as the ``csv`` module writes a cell (RFC 4180, the module's default
    dialect): in double quotes, each of its own doubled, when it holds a comma, a double
    quote or a line break; as it is otherwise."""
    if '"' in value:
        return '"' + value.replace('"', '""') + '"'
    if "," in value or "\n" in value or "\r" in value:
        return '"' + value + '"'
    return value


def spreadsheet_cell(value: str) -> str:
    """A text cell of the file for a spreadsheet, as written: escaped, then quoted."""
    return csv_cell("'" + value if value and value[0] in FORMULA_STARTS else value)


def _escaped(rows: Sequence[Sequence[Any]], text_at: tuple[int, ...]) -> list[Sequence[Any]]:
    """``rows`` with each text cell a spreadsheet would read as a formula given a ``'`` in front
    (a row is copied only when it has one)."""
    starts = FORMULA_STARTS
    safe: list[Sequence[Any]] = []
    for row in rows:
        for i in text_at:
            value = row[i]
            if value and value[0] in starts:
                row = [
                    "'" + v if n in text_at and v and v[0] in starts else v
                    for n, v in enumerate(row)
                ]
                break
        safe.append(row)
    return safe


class CsvWriter:
    """Rows to a binary file as UTF-8 CSV, a chunk of rows at a time; ``spreadsheet``: with
    formula-like text cells escaped (the module's docstring)."""

    def __init__(self, out: Any, columns: Sequence[str], *, spreadsheet: bool = True) -> None:
        self._out = out
        self._text_at = text_columns(columns) if spreadsheet else ()
        self._rows([columns])

    def _rows(self, rows: Iterable[Sequence[Any]]) -> None:
        # The csv module writes into a text layer over the binary file, encoded as it fills
        # (no copy of the chunk as one string); the layer is taken off again after each
        # chunk, which leaves the file open and everything written to it.
        text = io.TextIOWrapper(self._out, encoding="utf-8", newline="")
        try:
            csv.writer(text).writerows(rows)
        finally:
            text.detach()

    def write(self, rows: Sequence[Sequence[Any]]) -> int:
        """Write rows; returns how many."""
        self._rows(_escaped(rows, self._text_at) if self._text_at else rows)
        return len(rows)

    def write_lines(self, lines: Sequence[str]) -> int:
        """Write lines already made as this file's (the readings':
        :mod:`monitor.export.csv_readings`); returns how many."""
        self._out.write("".join(lines).encode("utf-8"))
        return len(lines)
