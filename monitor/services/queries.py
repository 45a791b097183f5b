"""The reads: sessions as plain views (readings, flags, checks, gate), summaries, the audit.

Reads return plain dataclasses (:mod:`monitor.views`), loaded with a fixed number of queries
however many readings a session has.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from monitor.core.gate import evaluate_gate
from monitor.core.observations import Observation, RecordedFlag
from monitor.core.rules import Flag as CoreFlag
from monitor.core.schedule import check_states
from monitor.services.base import ServiceBase, _flag_view, _vitals_of
from monitor.store import models as m
from monitor.views import AuditView, FlagView, ReadingView, SessionSummary, SessionView

# Built once: the user who acknowledged a flag.
_ACKER = aliased(m.User)


@dataclass(frozen=True)
class _Loaded:
    """Rows of one or more sessions, loaded with a fixed number of queries."""

    readings: dict[int, list[m.Reading]]
    flags: dict[int, list[tuple[m.Flag, m.Acknowledgement | None, str | None]]]
    superseded_by: dict[int, int]
    users: dict[int, str]


class QueryServices(ServiceBase):
    """Sessions, summaries and the audit trail, read as plain views."""

    def _load(self, session: Session, session_ids: Sequence[int]) -> _Loaded:
        readings: dict[int, list[m.Reading]] = defaultdict(list)
        flags: dict[int, list[tuple[m.Flag, m.Acknowledgement | None, str | None]]] = defaultdict(
            list
        )
        superseded: dict[int, int] = {}
        if not session_ids:
            return _Loaded(readings, flags, superseded, {})
        rows = session.scalars(
            select(m.Reading)
            .where(m.Reading.session_id.in_(session_ids))
            .order_by(m.Reading.measured_at, m.Reading.id)
        ).all()
        for row in rows:
            readings[row.session_id].append(row)
            if row.corrects_id is not None:
                superseded[row.corrects_id] = row.id
        reading_ids = [r.id for r in rows]
        for chunk_start in range(0, len(reading_ids), 5000):
            chunk = reading_ids[chunk_start : chunk_start + 5000]
            for flag, ack, who in session.execute(
                select(m.Flag, m.Acknowledgement, _ACKER.name)
                .outerjoin(m.Acknowledgement, m.Acknowledgement.flag_id == m.Flag.id)
                .outerjoin(_ACKER, _ACKER.id == m.Acknowledgement.by_id)
                .where(m.Flag.reading_id.in_(chunk))
                .order_by(m.Flag.id)
            ):
                flags[flag.reading_id].append((flag, ack, who))
        users = {row.id: row.name for row in session.execute(select(m.User.id, m.User.name))}
        return _Loaded(readings, flags, superseded, users)

    @staticmethod
    def _flag_views(loaded: _Loaded, reading_id: int) -> tuple[FlagView, ...]:
        return tuple(
            _flag_view(flag, ack.at if ack else None, who, ack.action if ack else None)
            for flag, ack, who in loaded.flags.get(reading_id, [])
        )

    def _reading_views(self, loaded: _Loaded, session_id: int) -> tuple[ReadingView, ...]:
        return tuple(
            ReadingView(
                id=r.id,
                session_id=r.session_id,
                measured_at=r.measured_at,
                recorded_at=r.recorded_at,
                recorded_by=loaded.users.get(r.recorded_by_id, "?"),
                vitals=_vitals_of(r),
                before_dosing=r.before_dosing,
                flags=self._flag_views(loaded, r.id),
                superseded_by=loaded.superseded_by.get(r.id),
                corrects=r.corrects_id,
                reason=r.reason,
            )
            for r in loaded.readings.get(session_id, [])
        )

    @staticmethod
    def _observations(view: SessionView | Iterable[ReadingView]) -> list[Observation]:
        readings = view.readings if isinstance(view, SessionView) else view
        return [
            Observation(
                r.id,
                r.measured_at,
                r.vitals,
                tuple(
                    RecordedFlag(
                        CoreFlag(f.measure, f.severity, f.rule, f.message), f.acknowledged_at
                    )
                    for f in r.flags
                ),
            )
            for r in readings
            if r.in_force
        ]

    def _views(
        self, session: Session, rows: Sequence[m.TreatmentSession], *, as_of: datetime | None = None
    ) -> list[SessionView]:
        loaded = self._load(session, [r.id for r in rows])
        signoffs = (
            {
                s.session_id: s
                for s in session.scalars(
                    select(m.SignOff).where(m.SignOff.session_id.in_([r.id for r in rows]))
                )
            }
            if rows
            else {}
        )
        now = self.now()
        views = []
        for row in rows:
            moment = as_of or row.discharged_at or now
            readings = self._reading_views(loaded, row.id)
            protocol = self.config.protocol(row.protocol)
            observations = self._observations(readings)
            checks = check_states(protocol, row.dosed_at, observations, moment, self.config.windows)
            gate = evaluate_gate(
                protocol,
                row.dosed_at,
                observations,
                moment,
                criteria=self.config.discharge,
                windows=self.config.windows,
            )
            sign = signoffs.get(row.id)
            views.append(
                SessionView(
                    id=row.id,
                    patient=row.patient.identifier,
                    protocol=row.protocol,
                    treatment=protocol.treatment,
                    dose_mg=row.dose_mg,
                    age=row.age,
                    bay=row.bay,
                    lot=row.lot,
                    started_at=row.started_at,
                    started_by=loaded.users.get(row.started_by_id, "?"),
                    dosed_at=row.dosed_at,
                    discharged_at=row.discharged_at,
                    discharged_by=loaded.users.get(row.discharged_by_id or -1),
                    override_reason=row.override_reason,
                    ready_minute=row.ready_minute,
                    signed_by=loaded.users.get(sign.by_id) if sign else None,
                    signed_at=sign.at if sign else None,
                    readings=readings,
                    checks=tuple(checks),
                    gate=gate,
                    as_of=moment,
                )
            )
        return views

    def session(self, session_id: int) -> SessionView:
        """One session as of now (as of discharge, once discharged)."""
        with self._read() as session:
            return self._views(session, [self._session_row(session, session_id)])[0]

    def sessions(self, ids: Sequence[int]) -> list[SessionView]:
        """Several sessions, in the order asked."""
        with self._read() as session:
            rows = [self._session_row(session, i) for i in ids]
            return self._views(session, rows)

    def active_sessions(self) -> list[SessionView]:
        """Every session in observation: what the dashboard shows. Cost follows active work."""
        with self._read() as session:
            rows = list(
                session.scalars(
                    select(m.TreatmentSession)
                    .where(m.TreatmentSession.discharged_at.is_(None))
                    .order_by(m.TreatmentSession.id)
                )
            )
            return self._views(session, rows)

    def list_sessions(self, *, active_only: bool = False) -> list[SessionSummary]:
        """Sessions, newest first."""
        with self._read() as session:
            query = select(m.TreatmentSession).order_by(m.TreatmentSession.id.desc())
            if active_only:
                query = query.where(m.TreatmentSession.discharged_at.is_(None))
            rows = list(session.scalars(query))
            signed = set(session.scalars(select(m.SignOff.session_id)))
            return [
                SessionSummary(
                    id=r.id,
                    patient=r.patient.identifier,
                    protocol=r.protocol,
                    bay=r.bay,
                    status="active" if r.discharged_at is None else "discharged",
                    started_at=r.started_at,
                    dosed_at=r.dosed_at,
                    discharged_at=r.discharged_at,
                    signed=r.id in signed,
                )
                for r in rows
            ]

    def audit(self, session_id: int | None = None) -> list[AuditView]:
        """The audit trail of one session, or all of it, oldest first."""
        with self._read() as session:
            query = select(m.AuditEntry).order_by(m.AuditEntry.id)
            if session_id is not None:
                self._session_row(session, session_id)
                query = query.where(m.AuditEntry.session_id == session_id)
            return [
                AuditView(
                    a.id,
                    a.at,
                    a.user_name,
                    a.action,
                    a.session_id,
                    a.entity,
                    a.entity_id,
                    a.before,
                    a.after,
                    a.reason,
                )
                for a in session.scalars(query)
            ]
