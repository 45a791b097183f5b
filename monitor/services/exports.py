"""The reads behind the exports (issue #12): which sessions a selection holds, their views a
batch at a time, and a lean stream of reading rows for the CSV of readings.

Nothing here writes. The selection is read by the session's id and start time (the indexes
``session list`` uses); sessions are then loaded a batch at a time, so an export of any length
holds one batch in memory, never the whole history.

- :func:`session_views` builds the same views ``session show`` does
  (:meth:`QueryServices._views`, with the REMS proposal of an active esketamine session), for
  the JSON, FHIR, PDF, chart and events exports;
- :func:`reading_rows` reads only what a row of the readings CSV holds, by two plain Core
  selects per batch (the readings with their session, correction and void; the flags with
  their acknowledgement), because judging every session (checks, gate) is most of the cost of
  a view and a CSV of readings needs none of it. ``tests/test_export.py`` holds both to the
  same values as ``session show --json``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    DateTime,
    String,
    Table,
    and_,
    func,
    or_,
    select,
    type_coerce,
)

from monitor.core.observations import reading_status
from monitor.core.rems import RemsForm, rems_form
from monitor.core.rules import Severity
from monitor.core.timing import LATE_ENTRY_AFTER
from monitor.core.vitals import Measure
from monitor.errors import NotFound
from monitor.services.history import SESSIONS, check_page, session_filters
from monitor.services.rems import rems_input
from monitor.services.stored import severity_of
from monitor.store import models as m
from monitor.unreadable import Unreadable
from monitor.views import SessionView

if TYPE_CHECKING:
    from monitor.services import Service

_READINGS = cast(Table, m.Reading.__table__)
_PATIENTS = cast(Table, m.Patient.__table__)
_FLAGS = cast(Table, m.Flag.__table__)
_ACKS = cast(Table, m.Acknowledgement.__table__)
_VOIDS = cast(Table, m.Void.__table__)
_USERS = cast(Table, m.User.__table__)
_CORRECTION = _READINGS.alias("correction")
#: The reading a correction corrects: a correction is a late entry only when it adds a
#: measure its original lacked.
_ORIGINAL = _READINGS.alias("original")
_ADDS_MEASURES = or_(
    *(
        and_(_READINGS.c[name].is_not(None), _ORIGINAL.c[name].is_(None))
        for name in m.MEASURE_COLUMNS
    )
).label("adds_measures")

#: Ids looked up at a time (well under SQLite's limit on bound parameters).
ID_CHUNK = 500
_VITAL_COLUMNS = tuple(_READINGS.c[measure.value] for measure in Measure)


@dataclass(frozen=True)
class Period:
    """Sessions started within ``since``..``until`` (aware times, both included; either may
    be open)."""

    since: datetime | None
    until: datetime | None


def _chunks(ids: Sequence[int], size: int = ID_CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def refuse_unknown(service: Service, ids: Sequence[int]) -> None:
    """Refuse, naming them, ids of sessions that do not exist (before anything is written)."""
    known: set[int] = set()
    with service.engine.connect() as connection:
        for chunk in _chunks(ids):
            known.update(
                connection.execute(select(SESSIONS.c.id).where(SESSIONS.c.id.in_(chunk))).scalars()
            )
    unknown = [i for i in ids if i not in known]
    if unknown:
        shown = ", ".join(str(i) for i in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        noun = "session" if len(unknown) == 1 else "sessions"
        raise NotFound(f"no {noun} {shown}: see `monitor session list`; nothing was exported")


def count_in_period(service: Service, period: Period) -> int:
    """How many sessions started in the period."""
    check_page(period.since, period.until, None)
    with service.engine.connect() as connection:
        where = session_filters(False, period.since, period.until)
        return int(connection.execute(select(func.count()).where(*where)).scalar_one())


def in_period(service: Service, ids: Sequence[int], period: Period) -> set[int]:
    """Which of ``ids`` started in the period."""
    found: set[int] = set()
    where = session_filters(False, period.since, period.until)
    with service.engine.connect() as connection:
        for chunk in _chunks(ids):
            found.update(
                connection.execute(
                    select(SESSIONS.c.id).where(SESSIONS.c.id.in_(chunk), *where)
                ).scalars()
            )
    return found


def ids_in_period(service: Service, period: Period, *, batch: int = ID_CHUNK) -> Iterator[int]:
    """The ids of the sessions started in the period, in id order, read a batch at a time
    (keyset: each batch starts after the last id read), so that no list of the whole
    history is ever held."""
    check_page(period.since, period.until, None)
    where = session_filters(False, period.since, period.until)
    last = 0
    while True:
        with service.engine.connect() as connection:
            found = list(
                connection.execute(
                    select(SESSIONS.c.id)
                    .where(SESSIONS.c.id > last, *where)
                    .order_by(SESSIONS.c.id)
                    .limit(batch)
                ).scalars()
            )
        yield from found
        if len(found) < batch:
            return
        last = found[-1]


def session_views(service: Service, ids: Sequence[int]) -> list[SessionView]:
    """The sessions as ``session show`` reads them (as of now, or as of the discharge; an
    active esketamine session with its REMS proposal), in the order asked."""
    with service._read() as session:
        rows = [service._session_row(session, i) for i in ids]
        return service._views(session, rows, propose=True)


def rems_forms(service: Service, views: Sequence[SessionView]) -> dict[int, RemsForm]:
    """The REMS forms of the esketamine sessions among ``views``, by session id, computed
    from the views already read (corrections and submissions read once for the batch)."""
    wanted = [v for v in views if v.protocol.startswith("esketamine-")]
    if not wanted:
        return {}
    with service._read() as session:
        corrections, submissions = service._rems_extras(session, [v.id for v in wanted])
    now = service.now()
    forms = {}
    for view in wanted:
        given = rems_input(
            view,
            corrections.get(view.id, ()),
            submissions.get(view.id),
            criteria=service.config.discharge,
            windows=service.config.windows,
        )
        forms[view.id] = rems_form(given, now=now, zone=service.rems_zone)
    return forms


class FlagRow(NamedTuple):
    """One flag of a reading and its acknowledgement, as the CSV of readings shows it
    (``acknowledged_at`` in ISO 8601 with its offset, as ``session show --json``)."""

    id: int
    measure: str
    severity: Severity
    rule: str
    message: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    action: str | None
    #: The clinician who co-signed the acknowledgement (revision 3).
    cosigned_by: str | None = None
    #: ``reading`` or ``baseline change``: how the flag was raised.
    raised_by: str = "reading"
    #: A severity that could not be read (it then counts as high): docs/storage.md,
    #: "Unreadable records".
    unreadable: Unreadable | None = None


#: The columns of the CSV of readings: the stable contract (docs/exports.md, "The CSV of readings").
#: New columns
#: may be added at the end; none is renamed, moved or removed.
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
    "systolic",
    "diastolic",
    "heart_rate",
    "spo2",
    "resp_rate",
    "moaas",
    "cadss",
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
)
_RANK = {"high": 3, "medium": 2, "low": 1}


def _moment(column: ColumnElement[Any], sqlite: bool) -> ColumnElement[Any]:
    """A stored time read without the UTC decorator's Python call per value: SQLite's text
    as it is, PostgreSQL's as the driver makes it (:func:`_naive` reads either)."""
    return type_coerce(column, String() if sqlite else DateTime()).label(column.key)


def _naive(moment: datetime | str) -> datetime:
    """A stored time as a naive UTC datetime (SQLite keeps UTC text; PostgreSQL gives an
    aware one): cheap to subtract, cheap to write out."""
    if isinstance(moment, str):
        return datetime.fromisoformat(moment)
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _iso_or_none(moment: datetime | str | None) -> str | None:
    """ISO 8601 with the offset, as ``datetime.isoformat()`` writes the aware UTC time."""
    return None if moment is None else _naive(moment).isoformat() + "+00:00"


_SYMBOL = {"high": "!!!", "medium": "!!", "low": "!"}


def _flags(rows: Sequence[FlagRow]) -> tuple[str, str, str, str, str, str]:
    """``highest_flag``, ``flags`` and ``acknowledgements`` of a reading with flags, as
    :func:`monitor.export.common.flag_text` and ``ack_text`` write them (inlined: one in five
    readings carries a flag); then ``flags_acknowledged_by``, ``flags_cosigned_by`` and
    ``flags_raised_by``, a line per flag in the same order (empty for none)."""
    highest = max((f.severity.value for f in rows), key=_RANK.__getitem__)
    shown = []
    acks = []
    for f in rows:
        severity = f.severity.value
        said = (
            severity
            if f.unreadable is None
            else f"{severity} (severity UNREADABLE: {f.unreadable.why})"
        )
        shown.append(f"{_SYMBOL[severity]} {said}: {f.message} (flag {f.id}, {f.rule})")
        if f.acknowledged_at is None:
            acks.append(f"flag {f.id}: not acknowledged")
        else:
            acks.append(
                f"flag {f.id}: acknowledged by {f.acknowledged_by} at {f.acknowledged_at}: "
                f"{f.action}"
            )
    return (
        highest,
        "\n".join(shown),
        "\n".join(acks),
        "\n".join(f.acknowledged_by or "" for f in rows),
        "\n".join(f.cosigned_by or "" for f in rows),
        "\n".join(f.raised_by for f in rows),
    )


def reading_table(
    service: Service, ids: Sequence[int], unreadable: list[Unreadable] | None = None
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of the CSV of readings (:data:`READING_COLUMNS`, in that order, ready to
    write: ``None`` for an empty cell) for every reading of the sessions ``ids``,
    superseded and voided ones included: session by session in the order of ``ids``, each
    session's readings in the order ``session show`` lists them (measurement time, then id),
    with their flags (by id) and acknowledgements. Times are ISO 8601 with their offset
    exactly as ``session show --json`` writes them.

    Yields lists of rows (a chunk of the database's rows at a time, while the read is
    open). Two selects for the
    whole batch, read by position, each row made once as the tuple that is written: a
    hundred thousand readings are one export, and making an aware datetime per time, a
    view per reading and then a row from it cost several times the rest (the benchmark's
    target is half the throughput of a bare select written with the ``csv`` module).

    A flag whose severity cannot be read is written as high, marked, and its marker added
    to ``unreadable`` (docs/storage.md, "Unreadable records")."""
    if not ids:
        return
    sqlite = service.engine.dialect.name == "sqlite"
    with service.engine.connect() as connection:
        users = {row.id: row.name for row in connection.execute(select(_USERS.c.id, _USERS.c.name))}
        flags: dict[int, list[FlagRow]] = defaultdict(list)
        flag_query = (
            select(
                _FLAGS.c.id,
                _FLAGS.c.reading_id,
                _FLAGS.c.measure,
                _FLAGS.c.severity,
                _FLAGS.c.rule,
                _FLAGS.c.message,
                _moment(_ACKS.c.at, sqlite),
                _ACKS.c.by_id,
                _ACKS.c.action,
                _ACKS.c.cosigned_by_id,
                _FLAGS.c.raised_by,
            )
            .join_from(_FLAGS, _READINGS, _READINGS.c.id == _FLAGS.c.reading_id)
            .outerjoin(_ACKS, _ACKS.c.flag_id == _FLAGS.c.id)
            .where(_READINGS.c.session_id.in_(ids))
            .order_by(_FLAGS.c.id)
        )
        for (
            fid,
            reading_id,
            measure,
            severity,
            rule,
            message,
            at,
            by_id,
            action,
            cosigned_by_id,
            raised_by,
        ) in connection.execute(flag_query):
            level = severity_of(severity, fid)
            if isinstance(level, Unreadable) and unreadable is not None:
                unreadable.append(level)
            flags[reading_id].append(
                FlagRow(
                    fid,
                    measure,
                    Severity.HIGH if isinstance(level, Unreadable) else level,
                    rule,
                    message,
                    _iso_or_none(at),
                    None if by_id is None else users.get(by_id, "?"),
                    action,
                    None if cosigned_by_id is None else users.get(cosigned_by_id, "?"),
                    raised_by or "reading",
                    level if isinstance(level, Unreadable) else None,
                )
            )
        reading_query = (
            select(
                _READINGS.c.session_id,
                _PATIENTS.c.identifier,
                SESSIONS.c.protocol,
                _moment(SESSIONS.c.dosed_at, sqlite),
                _moment(SESSIONS.c.discharged_at, sqlite),
                _READINGS.c.id,
                _moment(_READINGS.c.measured_at, sqlite),
                _moment(_READINGS.c.recorded_at, sqlite),
                _READINGS.c.recorded_by_id,
                _READINGS.c.before_dosing,
                _READINGS.c.corrects_id,
                _READINGS.c.reason,
                _CORRECTION.c.id.label("superseded_by"),
                _VOIDS.c.by_id.label("voided_by_id"),
                _moment(_VOIDS.c.at, sqlite).label("voided_at"),
                _VOIDS.c.reason.label("void_reason"),
                _ADDS_MEASURES,
                *_VITAL_COLUMNS,
            )
            .join_from(_READINGS, SESSIONS, SESSIONS.c.id == _READINGS.c.session_id)
            .join(_PATIENTS, _PATIENTS.c.id == SESSIONS.c.patient_id)
            .outerjoin(_CORRECTION, _CORRECTION.c.corrects_id == _READINGS.c.id)
            .outerjoin(_ORIGINAL, _ORIGINAL.c.id == _READINGS.c.corrects_id)
            .outerjoin(_VOIDS, _VOIDS.c.reading_id == _READINGS.c.id)
            .where(_READINGS.c.session_id.in_(ids))
            .order_by(_READINGS.c.session_id, _READINGS.c.measured_at, _READINGS.c.id)
        )
        # Sessions in id order (as every export asks) come back in the order asked, a chunk
        # of rows at a time; any other order is regrouped session by session.
        in_order = all(a < b for a, b in pairwise(ids))
        by_session: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        dosed_cache: dict[int, datetime | None] = {}
        discharged_cache: dict[int, datetime | None] = {}
        late_after = LATE_ENTRY_AFTER
        no_flags = ("", "", "", "", "", "")
        # SQLite's stored text parses in C; PostgreSQL's aware times go through _naive.
        naive = datetime.fromisoformat if sqlite else _naive
        name = users.get
        for chunk in connection.execute(reading_query).partitions(2000):
            made: list[tuple[Any, ...]] = []
            add = made.append
            for (
                session_id,
                patient,
                protocol,
                dosed,
                discharged,
                rid,
                measured_text,
                recorded_text,
                recorded_by,
                before,
                corrects,
                reason,
                superseded_by,
                voided_by,
                voided_at,
                void_reason,
                adds_measures,
                systolic,
                diastolic,
                heart_rate,
                spo2,
                resp_rate,
                moaas,
                cadss,
            ) in chunk:
                if session_id in dosed_cache:
                    dosed_at = dosed_cache[session_id]
                else:
                    dosed_at = dosed_cache[session_id] = None if dosed is None else naive(dosed)
                    discharged_cache[session_id] = None if discharged is None else naive(discharged)
                discharged_at = discharged_cache[session_id]
                measured, recorded = naive(measured_text), naive(recorded_text)
                if sqlite and len(measured_text) == 26 and len(recorded_text) == 26:
                    # SQLite's `YYYY-MM-DD HH:MM:SS.ffffff` sliced into what isoformat()
                    # writes (microseconds only when there are some): a third of the cost.
                    measured_iso = (
                        f"{measured_text[:10]}T{measured_text[11:19]}+00:00"
                        if measured_text.endswith("000000")
                        else f"{measured_text[:10]}T{measured_text[11:]}+00:00"
                    )
                    recorded_iso = (
                        f"{recorded_text[:10]}T{recorded_text[11:19]}+00:00"
                        if recorded_text.endswith("000000")
                        else f"{recorded_text[:10]}T{recorded_text[11:]}+00:00"
                    )
                else:
                    measured_iso = measured.isoformat() + "+00:00"
                    recorded_iso = recorded.isoformat() + "+00:00"
                found = flags.get(rid)
                highest, shown, acks, ackers, cosigners, raised = (
                    _flags(found) if found else no_flags
                )
                # A correction is a late entry only when it adds a measure its original
                # lacked (monitor.core.timing.is_late_reading), as ReadingView.late_entry.
                late = recorded - measured > late_after and (corrects is None or adds_measures)
                row = (
                    session_id,
                    patient,
                    protocol,
                    rid,
                    measured_iso,
                    recorded_iso,
                    name(recorded_by, "?"),
                    None
                    if dosed_at is None
                    else f"{(measured - dosed_at).total_seconds() / 60:.1f}",
                    "yes" if before else "no",
                    systolic,
                    diastolic,
                    heart_rate,
                    spo2,
                    resp_rate,
                    moaas,
                    cadss,
                    reading_status(superseded_by, voided_by is not None),
                    superseded_by,
                    corrects,
                    reason,
                    None if voided_by is None else name(voided_by, "?"),
                    _iso_or_none(voided_at),
                    void_reason,
                    "yes" if late else "no",
                    highest,
                    shown,
                    acks,
                    "yes" if discharged_at is not None and recorded > discharged_at else "no",
                    ackers,
                    cosigners,
                    raised,
                )
                if in_order:
                    add(row)
                else:
                    by_session[session_id].append(row)
            if made:
                yield made
    for session_id in ids:
        rows = by_session.get(session_id)
        if rows:
            yield rows


__all__ = [
    "READING_COLUMNS",
    "FlagRow",
    "Period",
    "count_in_period",
    "ids_in_period",
    "in_period",
    "reading_table",
    "refuse_unknown",
    "rems_forms",
    "session_views",
]
