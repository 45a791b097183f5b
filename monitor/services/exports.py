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
from datetime import datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, func, select

from monitor.core.rems import RemsForm, rems_form
from monitor.core.rules import Severity
from monitor.core.vitals import Measure, Vitals
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
_CORRECTION = _READINGS.alias("correction")

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


@dataclass(frozen=True)
class FlagRow:
    """One flag of a reading and its acknowledgement, as the CSV of readings shows it."""

    id: int
    measure: str
    severity: Severity
    rule: str
    message: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    action: str | None


@dataclass(frozen=True)
class ReadingRow:
    """One reading with what the CSV of readings says about it."""

    session_id: int
    patient: str
    protocol: str
    dosed_at: datetime | None
    id: int
    measured_at: datetime
    recorded_at: datetime
    recorded_by: str
    vitals: Vitals
    before_dosing: bool
    corrects: int | None
    reason: str | None
    superseded_by: int | None
    voided_by: str | None
    voided_at: datetime | None
    void_reason: str | None
    flags: tuple[FlagRow, ...]


def reading_rows(service: Service, ids: Sequence[int]) -> Iterator[ReadingRow]:
    """Every reading of the sessions ``ids`` (superseded and voided ones included), session
    by session in the order of ``ids``, each session's readings in the order ``session show``
    lists them (measurement time, then id), with their flags (by id) and acknowledgements.

    Two selects for the whole batch; the caller passes a batch, not the history."""
    if not ids:
        return
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
                _ACKS.c.at,
                _ACKS.c.by_id,
                _ACKS.c.action,
            )
            .join_from(_FLAGS, _READINGS, _READINGS.c.id == _FLAGS.c.reading_id)
            .outerjoin(_ACKS, _ACKS.c.flag_id == _FLAGS.c.id)
            .where(_READINGS.c.session_id.in_(ids))
            .order_by(_FLAGS.c.id)
        )
        for f in connection.execute(flag_query):
            flags[f.reading_id].append(
                FlagRow(
                    f.id,
                    f.measure,
                    Severity(f.severity),
                    f.rule,
                    f.message,
                    f.at,
                    None if f.by_id is None else users.get(f.by_id, "?"),
                    f.action,
                )
            )
        reading_query = (
            select(
                _READINGS.c.session_id,
                _PATIENTS.c.identifier,
                SESSIONS.c.protocol,
                SESSIONS.c.dosed_at,
                _READINGS.c.id,
                _READINGS.c.measured_at,
                _READINGS.c.recorded_at,
                _READINGS.c.recorded_by_id,
                *_VITAL_COLUMNS,
                _READINGS.c.before_dosing,
                _READINGS.c.corrects_id,
                _READINGS.c.reason,
                _CORRECTION.c.id.label("superseded_by"),
                _VOIDS.c.by_id.label("voided_by_id"),
                _VOIDS.c.at.label("voided_at"),
                _VOIDS.c.reason.label("void_reason"),
            )
            .join_from(_READINGS, SESSIONS, SESSIONS.c.id == _READINGS.c.session_id)
            .join(_PATIENTS, _PATIENTS.c.id == SESSIONS.c.patient_id)
            .outerjoin(_CORRECTION, _CORRECTION.c.corrects_id == _READINGS.c.id)
            .outerjoin(_VOIDS, _VOIDS.c.reading_id == _READINGS.c.id)
            .where(_READINGS.c.session_id.in_(ids))
            .order_by(_READINGS.c.session_id, _READINGS.c.measured_at, _READINGS.c.id)
        )
        by_session: dict[int, list[ReadingRow]] = defaultdict(list)
        for r in connection.execute(reading_query):
            by_session[r.session_id].append(
                ReadingRow(
                    session_id=r.session_id,
                    patient=r.identifier,
                    protocol=r.protocol,
                    dosed_at=r.dosed_at,
                    id=r.id,
                    measured_at=r.measured_at,
                    recorded_at=r.recorded_at,
                    recorded_by=users.get(r.recorded_by_id, "?"),
                    vitals=Vitals(*(r._mapping[c] for c in _VITAL_COLUMNS)),
                    before_dosing=bool(r.before_dosing),
                    corrects=r.corrects_id,
                    reason=r.reason,
                    superseded_by=r.superseded_by,
                    voided_by=None if r.voided_by_id is None else users.get(r.voided_by_id, "?"),
                    voided_at=r.voided_at,
                    void_reason=r.void_reason,
                    flags=tuple(flags.get(r.id, ())),
                )
            )
    for session_id in ids:
        yield from by_session.get(session_id, ())


__all__ = [
    "FlagRow",
    "Period",
    "ReadingRow",
    "count_in_period",
    "ids_in_period",
    "in_period",
    "reading_rows",
    "refuse_unknown",
    "rems_forms",
    "session_views",
]
