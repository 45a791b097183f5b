"""The reads behind the exports (issue #12): which sessions a selection holds, their views a
batch at a time, and a lean stream of reading rows for the CSV of readings.

Nothing here writes. The selection is read by the session's id and start time (the indexes
``session list`` uses); sessions are then loaded a batch at a time, so an export of any length
holds one batch in memory, never the whole history.

- :func:`session_views` builds the same views ``session show`` does
  (:meth:`QueryServices._views`, with the REMS proposal of an active esketamine session), for
  the JSON, FHIR, PDF, chart and events exports;
- :func:`reading_reads` reads only what a row of the readings CSV holds, by plain Core
  selects per batch (the sessions; the readings corrected, voided or correcting; the flags
  with their acknowledgement; the readings sent by a bedside monitor, with their device and
  validation; the readings themselves, a chunk at a time), because judging
  every session (checks, gate) is most of the cost of a view and a CSV of readings needs
  none of it. ``tests/export/test_export.py`` holds both to the same values as
  ``session show --json``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    DateTime,
    Integer,
    Select,
    String,
    Table,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy import cast as convert

from monitor.core.rems import RemsForm, rems_form
from monitor.core.vitals import Measure
from monitor.errors import NotFound
from monitor.services.history import SESSIONS, check_page, session_filters
from monitor.services.rems import rems_input
from monitor.store import models as m
from monitor.views import SessionView

if TYPE_CHECKING:
    from monitor.services import Service

_READINGS = cast(Table, m.Reading.__table__)
_PATIENTS = cast(Table, m.Patient.__table__)
_FLAGS = cast(Table, m.Flag.__table__)
_ACKS = cast(Table, m.Acknowledgement.__table__)
_VOIDS = cast(Table, m.Void.__table__)
_USERS = cast(Table, m.User.__table__)
_DEVICES = cast(Table, m.Device.__table__)
_VALIDATIONS = cast(Table, m.Validation.__table__)
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


class ReadingReads(NamedTuple):
    """What the CSV of readings reads of a batch of sessions (``monitor.export.csv_out``
    makes the rows): everything but the readings themselves in small selects, read whole;
    the readings a chunk at a time while the read is open. Times are as the database gives
    them (:attr:`text_times`: SQLite's stored text, else aware datetimes)."""

    #: SQLite: times are the stored text (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC).
    text_times: bool
    #: Each user's name by id.
    names: dict[int, str]
    #: ``(id, patient, protocol, dosed_at, discharged_at)`` of each session.
    sessions: Sequence[Any]
    #: ``(id, superseded_by, voided_by_id, voided_at, void_reason, adds_measures)`` of each
    #: reading corrected, voided or correcting (``adds_measures``: whether a correction adds
    #: a measure its original lacked).
    marks: Sequence[Any]
    #: ``(id, reading_id, severity, rule, message, acknowledged_at, by_id, action,
    #: cosigned_by_id, raised_by)`` of each flag, by id.
    flags: Sequence[Any]
    #: ``(id, device_name, validated_by_id, validated_at)`` of each reading sent by a
    #: bedside monitor (few; ``validated_*`` empty while it awaits a nurse's validation).
    devices: Sequence[Any]
    #: Chunks of ``(session_id, id, measured_at, recorded_at, recorded_by_id, before_dosing,
    #: corrects_id, reason, vitals)``, in the order ``session show`` lists them; ``vitals``
    #: is the seven measures as one text, comma separated (empty for none).
    rows: Iterator[Sequence[Any]]
    #: The seven measures of one reading, as stored (for a value SQLite holds as text).
    odd: Callable[[int], Any]


def _moment(column: ColumnElement[Any], sqlite: bool) -> ColumnElement[Any]:
    """A stored time read without the UTC decorator's Python call per value: SQLite's text
    as it is, PostgreSQL's as the driver makes it."""
    return type_coerce(column, String() if sqlite else DateTime()).label(column.key)


def _vitals() -> ColumnElement[Any]:
    """The seven measures as one text, comma separated, empty for none, as the ``csv``
    module writes whole numbers (made by the database: cheaper than fetching seven values).
    SQLite does not enforce a column's type: a measure written there by hand as text is in
    it as it is (the CSV's maker reads such a reading again, :attr:`ReadingReads.odd`)."""
    joined: Any = None
    for column in _VITAL_COLUMNS:
        part = func.coalesce(convert(column, String()), literal(""))
        joined = part if joined is None else joined + "," + part
    return type_coerce(joined, String()).label("vitals")


class _Reads(NamedTuple):
    """The selects behind :class:`ReadingReads`, each for the sessions ``:ids`` (an
    expanding parameter: built and compiled once, not once a batch)."""

    sessions: Select[Any]
    marks: Select[Any]
    flags: Select[Any]
    devices: Select[Any]
    readings: Select[Any]
    odd: Select[Any]


@functools.cache
def _reads(sqlite: bool) -> _Reads:
    ids: BindParameter[Any] = bindparam("ids", expanding=True)
    in_batch = _READINGS.c.session_id.in_(ids)
    return _Reads(
        sessions=select(
            SESSIONS.c.id,
            _PATIENTS.c.identifier,
            SESSIONS.c.protocol,
            _moment(SESSIONS.c.dosed_at, sqlite),
            _moment(SESSIONS.c.discharged_at, sqlite),
        )
        .join_from(SESSIONS, _PATIENTS, _PATIENTS.c.id == SESSIONS.c.patient_id)
        .where(SESSIONS.c.id.in_(ids)),
        # The readings corrected, voided or correcting (one in ten).
        marks=select(
            _READINGS.c.id,
            _CORRECTION.c.id,
            _VOIDS.c.by_id,
            _moment(_VOIDS.c.at, sqlite),
            _VOIDS.c.reason,
            _ADDS_MEASURES,
        )
        .outerjoin(_CORRECTION, _CORRECTION.c.corrects_id == _READINGS.c.id)
        .outerjoin(_VOIDS, _VOIDS.c.reading_id == _READINGS.c.id)
        .outerjoin(_ORIGINAL, _ORIGINAL.c.id == _READINGS.c.corrects_id)
        .where(
            in_batch,
            or_(
                _CORRECTION.c.id.is_not(None),
                _VOIDS.c.id.is_not(None),
                _READINGS.c.corrects_id.is_not(None),
            ),
        ),
        flags=select(
            _FLAGS.c.id,
            _FLAGS.c.reading_id,
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
        .where(in_batch)
        .order_by(_FLAGS.c.id),
        devices=select(
            _READINGS.c.id,
            _DEVICES.c.name,
            _VALIDATIONS.c.by_id,
            _moment(_VALIDATIONS.c.at, sqlite),
        )
        .join_from(_READINGS, _DEVICES, _DEVICES.c.id == _READINGS.c.device_id)
        .outerjoin(_VALIDATIONS, _VALIDATIONS.c.reading_id == _READINGS.c.id)
        .where(in_batch),
        readings=select(
            _READINGS.c.session_id,
            _READINGS.c.id,
            _moment(_READINGS.c.measured_at, sqlite),
            _moment(_READINGS.c.recorded_at, sqlite),
            _READINGS.c.recorded_by_id,
            type_coerce(_READINGS.c.before_dosing, Integer()),
            _READINGS.c.corrects_id,
            _READINGS.c.reason,
            _vitals(),
        )
        .where(in_batch)
        .order_by(_READINGS.c.session_id, _READINGS.c.measured_at, _READINGS.c.id),
        odd=select(*_VITAL_COLUMNS).where(_READINGS.c.id == bindparam("id")),
    )


@contextmanager
def reading_reads(service: Service, ids: Sequence[int]) -> Iterator[ReadingReads]:
    """What the CSV of readings holds of the sessions ``ids`` (:class:`ReadingReads`), read
    by plain Core selects, because judging every session (checks, gate) is most of the cost
    of a view and a CSV of readings needs none of it; the readings' chunks are read while
    the block runs."""
    sqlite = service.engine.dialect.name == "sqlite"
    reads = _reads(sqlite)
    given = {"ids": list(ids)}
    with service.engine.connect() as connection:

        def odd(reading_id: int) -> Any:
            return connection.execute(reads.odd, {"id": reading_id}).one()

        yield ReadingReads(
            text_times=sqlite,
            names=dict(connection.execute(select(_USERS.c.id, _USERS.c.name)).all()),
            sessions=connection.execute(reads.sessions, given).all(),
            marks=connection.execute(reads.marks, given).all(),
            flags=connection.execute(reads.flags, given).all(),
            devices=connection.execute(reads.devices, given).all(),
            rows=connection.execute(reads.readings, given).partitions(2000),
            odd=odd,
        )


__all__ = [
    "Period",
    "ReadingReads",
    "count_in_period",
    "ids_in_period",
    "in_period",
    "reading_reads",
    "refuse_unknown",
    "rems_forms",
    "session_views",
]
