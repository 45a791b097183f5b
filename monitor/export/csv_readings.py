"""The CSV of readings, one line per reading (``--what readings``; the columns:
:data:`monitor.export.csv_out.READING_COLUMNS`, docs/exports.md, "The CSV of readings").

A hundred thousand readings are one export, and the benchmark holds it to half the
throughput of a bare select written with the ``csv`` module (docs/benchmarks.md, "Exports"),
so each line is made once, as the text that is written:

- what repeats is made once: a session's id, patient and protocol (one piece of text), each
  user's name, each flagged reading's six flag cells, each corrected or voided reading's
  cells, the minutes after dosing of each time from the dose, the words ``yes``, ``no``,
  ``in force``; each text cell escaped for a spreadsheet and quoted as the ``csv`` module
  quotes (:func:`~monitor.export.csv_out.csv_cell`) when it is made, not once a row;
- the database gives SQLite's times as ISO 8601 and the seven measures as one text
  (:class:`monitor.services.exports.ReadingReads`): a line is one f-string of a dozen pieces;
- the readings sent by a bedside monitor (few) are read apart, with their device and their
  validation (:attr:`monitor.services.exports.ReadingReads.devices`, made into cells by
  :func:`_device_cells`); every other reading is ``typed``, its recorder standing
  behind it.

The file is byte for byte what the ``csv`` module writes for the same cells
(``tests/export/test_csv_safe.py`` writes it again with the module and compares). A value
stored in a form the database's shortcut does not take (text written by hand into SQLite) is
read again alone and written as the module writes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from monitor.core.observations import IN_FORCE, SUPERSEDED, VOIDED
from monitor.core.rules import Severity
from monitor.core.timing import LATE_ENTRY_AFTER
from monitor.export.csv_out import csv_cell, spreadsheet_cell
from monitor.unreadable import Unreadable

if TYPE_CHECKING:
    from monitor.services import Service
    from monitor.services.exports import ReadingReads

_RANK = {"high": 3, "medium": 2, "low": 1}
_SYMBOL = {"high": "!!!", "medium": "!!", "low": "!"}
#: A cell as written: escaped for a spreadsheet (or not) and quoted.
Cell = Callable[[str], str]


def _naive(moment: datetime | str) -> datetime:
    """A stored time (SQLite's text or the driver's datetime) as a naive UTC datetime: cheap
    to subtract and compare."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _aware(moment: datetime) -> datetime:
    """The driver's datetime (PostgreSQL's, aware) as it is when its offset is nought, else
    in UTC (a naive one is UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment if not moment.utcoffset() else moment.astimezone(UTC)


def _iso(moment: datetime | str | None) -> str:
    """ISO 8601 with the offset, as ``session show --json`` writes it, or empty."""
    return "" if moment is None else _naive(moment).isoformat() + "+00:00"


def _flag_cells(
    reads: ReadingReads, cell: Cell, unreadable: list[Unreadable] | None
) -> dict[int, tuple[str, str]]:
    """Each flagged reading's ``highest_flag``, ``flags`` and ``acknowledgements`` (one piece
    of text), and its ``flags_acknowledged_by``, ``flags_cosigned_by`` and ``flags_raised_by``
    (another), as :func:`monitor.export.common.flag_text` and ``ack_text`` write a flag, a
    line per flag in the order of their ids. A flag whose severity cannot be read is written
    as high, marked, and its marker added to ``unreadable`` (docs/storage.md, "Unreadable
    records")."""
    from monitor.services.stored import severity_of

    names = reads.names
    each: dict[int, list[tuple[str, str, str, str, str, str]]] = {}
    for (
        fid,
        reading_id,
        severity,
        rule,
        message,
        at,
        by_id,
        action,
        cosigner,
        raised,
    ) in reads.flags:
        if severity in _RANK:
            level = said = severity
        else:
            marker = severity_of(severity, fid)
            if isinstance(marker, Unreadable):  # counted as high, and said so
                if unreadable is not None:
                    unreadable.append(marker)
                level = Severity.HIGH.value
                said = f"{level} (severity UNREADABLE: {marker.why})"
            else:
                level = said = marker.value
        by = None if by_id is None else names.get(by_id, "?")
        flag = (
            level,
            f"{_SYMBOL[level]} {said}: {message} (flag {fid}, {rule})",
            f"flag {fid}: not acknowledged"
            if at is None
            else f"flag {fid}: acknowledged by {by} at {_iso(at)}: {action}",
            by or "",
            "" if cosigner is None else names.get(cosigner, "?"),
            raised or "reading",
        )
        found = each.get(reading_id)
        if found is None:
            each[reading_id] = [flag]
        else:
            found.append(flag)
    levels = {level: cell(level) for level in _RANK}
    raised_cells = {raised: cell(raised) for raised in ("reading", "baseline change")}
    cells: dict[int, tuple[str, str]] = {}
    for reading_id, found in each.items():
        if len(found) == 1:
            level, shown, acks, ackers, cosigners, raised = found[0]
        else:
            worst, *lines = zip(*found, strict=True)
            level = max(worst, key=_RANK.__getitem__)
            shown, acks, ackers, cosigners, raised = ("\n".join(line) for line in lines)
        # ``flags`` begins with a severity's symbol and ``acknowledgements`` with "flag":
        # never a formula, only quoted.
        cells[reading_id] = (
            f"{levels[level]},{csv_cell(shown)},{csv_cell(acks)}",
            f"{cell(ackers) if ackers else ''},{cell(cosigners) if cosigners else ''},"
            f"{raised_cells.get(raised) or cell(raised)}",
        )
    return cells


def _marks(reads: ReadingReads, cell: Cell, names: dict[int, str]) -> dict[int, Any]:
    """Each reading corrected, voided or correcting: its ``status`` and ``superseded_by``
    (one piece of text), its ``voided_by``, ``voided_at`` and ``void_reason`` (another), and
    whether it adds a measure to the reading it corrects (a correction is late only then)."""
    marks = {}
    for rid, correction, by_id, at, reason, adds in reads.marks:
        status = VOIDED if by_id is not None else IN_FORCE if correction is None else SUPERSEDED
        marks[rid] = (
            f"{cell(status)},{'' if correction is None else correction}",
            ",,"
            if by_id is None
            else f"{names.get(by_id, cell('?'))},{_iso(at)},"
            f"{'' if reason is None else cell(reason)}",
            bool(adds),
        )
    return marks


def _device_cells(reads: ReadingReads, cell: Cell, names: dict[int, str]) -> dict[int, str]:
    """Each device reading's ``source``, ``validated_by`` and ``validated_at`` (one piece of
    text), by reading id: ``device NAME``, and the nurse who validated it and when, or
    nothing while it awaits one (docs/devices.md). ``names``: the users' cells."""
    cells: dict[int, str] = {}
    for rid, name, by_id, at in reads.devices:
        # "device ..." never begins a formula; cell() still quotes a comma or a quote.
        source = cell(f"device {name}")
        validated = "," if by_id is None else f"{names.get(by_id, cell('?'))},{_iso(at)}"
        cells[rid] = f"{source},{validated}"
    return cells


def reading_lines(
    service: Service,
    ids: Sequence[int],
    unreadable: list[Unreadable] | None = None,
    *,
    spreadsheet: bool = True,
) -> Iterator[list[str]]:
    """The lines of the CSV of readings (``\\r\\n`` ended) for every reading of the sessions
    ``ids``, superseded and voided ones included: session by session in the order of
    ``ids``, each session's readings in the order ``session show`` lists them (measurement
    time, then id), with their flags (by id) and acknowledgements. Times are ISO 8601 with
    their offset exactly as ``session show --json`` writes them. ``spreadsheet``: text cells
    escaped (:func:`monitor.export.csv_out.spreadsheet_text`). Yields a list of lines a chunk
    of the database's rows at a time. Each line ends with the reading's source (``typed``,
    ``device NAME``) and who stands behind its values, and when: a typed reading's recorder
    as it was saved, a device reading's validating nurse (empty while it awaits one)."""
    from monitor.services.exports import reading_reads

    if not ids:
        return
    cell: Cell = spreadsheet_cell if spreadsheet else csv_cell
    yes, no = cell("yes"), cell("no")
    # Sessions in id order (as every export asks) come back in the order asked; any other
    # order is regrouped session by session.
    in_order = all(a < b for a, b in pairwise(ids))
    by_session: dict[int, list[str]] = {}
    with reading_reads(service, ids) as reads:
        # Times compared and subtracted as the database gives them: SQLite's text parsed
        # naive (UTC), PostgreSQL's datetimes aware.
        time = _naive if reads.text_times else _aware
        names = {key: cell(name) for key, name in reads.names.items()}
        sessions = {
            sid: (
                f"{sid},{cell(patient)},{cell(protocol)}",
                None if dosed is None else time(dosed),
                None if discharged is None else time(discharged),
            )
            for sid, patient, protocol, dosed, discharged in reads.sessions
        }
        flags = _flag_cells(reads, cell, unreadable).get
        marks = _marks(reads, cell, names).get
        devices = _device_cells(reads, cell, names).get
        typed = cell("typed")
        no_flags = (",,", ",,")
        plain = f"{cell(IN_FORCE)},,,,,,"  # status to void_reason of a reading never changed
        unmarked = (f"{cell(IN_FORCE)},", ",,", True)
        unknown = cell("?")
        #: minutes_after_dosing of each time from the dose (most repeat, session after session).
        minutes: dict[timedelta, str] = {}
        late_after = LATE_ENTRY_AFTER
        parse = datetime.fromisoformat
        text_times = reads.text_times
        current = None
        head = ""
        dosed_at = discharged_at = None
        for chunk in reads.rows:
            made: list[str] = []
            add = made.append
            for (
                session_id,
                rid,
                measured_at,
                recorded_at,
                by,
                before,
                corrects,
                reason,
                vitals,
            ) in chunk:
                if session_id != current:
                    current = session_id
                    head, dosed_at, discharged_at = sessions[session_id]
                if text_times and len(measured_at) == 26 and len(recorded_at) == 26:
                    # SQLite's `YYYY-MM-DD HH:MM:SS.ffffff`, parsed in C and sliced into
                    # what isoformat() writes (microseconds only when there are some).
                    measured, recorded = parse(measured_at), parse(recorded_at)
                    measured_at = (
                        f"{measured_at[:10]}T{measured_at[11:19]}+00:00"
                        if measured_at.endswith("000000")
                        else f"{measured_at[:10]}T{measured_at[11:]}+00:00"
                    )
                    recorded_at = (
                        f"{recorded_at[:10]}T{recorded_at[11:19]}+00:00"
                        if recorded_at.endswith("000000")
                        else f"{recorded_at[:10]}T{recorded_at[11:]}+00:00"
                    )
                elif text_times:  # SQLite text of another form
                    measured, recorded = _naive(measured_at), _naive(recorded_at)
                    measured_at = measured.isoformat() + "+00:00"
                    recorded_at = recorded.isoformat() + "+00:00"
                else:  # PostgreSQL's datetimes, aware (in UTC as the database gives them)
                    measured, recorded = measured_at, recorded_at
                    measured_at, recorded_at = measured.isoformat(), recorded.isoformat()
                    if measured_at[-6:] != "+00:00" or recorded_at[-6:] != "+00:00":
                        measured, recorded = _aware(measured), _aware(recorded)
                        measured_at, recorded_at = measured.isoformat(), recorded.isoformat()
                if vitals.count(",") != 6 or '"' in vitals or "\n" in vitals or "\r" in vitals:
                    # A measure SQLite holds as text (written by hand) that needs quoting.
                    vitals = ",".join("" if v is None else csv_cell(str(v)) for v in reads.odd(rid))
                if dosed_at is None:
                    after = ""
                else:
                    since = measured - dosed_at
                    known = minutes.get(since)
                    if known is None:
                        known = minutes[since] = f"{since.total_seconds() / 60:.1f}"
                    after = known
                mark = marks(rid)
                if mark is None and corrects is None and reason is None:
                    middle = plain
                    late = yes if recorded - measured > late_after else no
                else:
                    status, void, adds = mark or unmarked
                    middle = (
                        f"{status},{'' if corrects is None else corrects},"
                        f"{'' if reason is None else cell(reason)},{void}"
                    )
                    # A correction is a late entry only when it adds a measure its original
                    # lacked (monitor.core.timing.is_late_reading), as ReadingView.late_entry.
                    late = (
                        yes
                        if recorded - measured > late_after and (corrects is None or adds)
                        else no
                    )
                shown, who = flags(rid, no_flags)
                recorder = names.get(by, unknown)
                source = devices(rid) or f"{typed},{recorder},{recorded_at}"
                line = (
                    f"{head},{rid},{measured_at},{recorded_at},{recorder},{after},"
                    f"{yes if before else no},{vitals},{middle},{late},{shown},"
                    f"{yes if discharged_at is not None and recorded > discharged_at else no},"
                    f"{who},{source}\r\n"
                )
                if in_order:
                    add(line)
                else:
                    by_session.setdefault(session_id, []).append(line)
            if made:
                yield made
    for session_id in ids:
        lines = by_session.get(session_id)
        if lines:
            yield lines


__all__ = ["reading_lines"]
