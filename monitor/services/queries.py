"""The reads: sessions as plain views (readings, flags, checks, gate).

Reads return plain dataclasses (:mod:`monitor.views`), loaded with a fixed number of queries
however many readings a session has. The audit trail and the list of sessions, which grow with
the whole history, are paged and streamed by :mod:`monitor.services.history`.

A stored value that cannot be read (a forged gate, an unknown protocol, rules that are not
TOML) never fails a read of many sessions: the session is read without it and names it
(:mod:`monitor.services.stored`; docs/storage.md, "Unreadable records").

The rows are read with SQLAlchemy Core (:mod:`monitor.store.tables`); a caller may hand in
ORM rows of the sessions instead (their attributes are the same columns). The floor's read,
:meth:`QueryServices.active_sessions`, needs no ORM: the station draws its first rows without
it (issue #23).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, and_, select

from monitor.core.config import ClinicConfig
from monitor.core.gate import (
    Departure,
    GateResult,
    Patient,
    dosing_refusals,
    minutes_monitored,
)
from monitor.core.intake import expected_dose
from monitor.core.ready_minute import ready_to_leave_minute
from monitor.core.rems_answers import Correction
from monitor.core.schedule import (
    CheckState,
    Protocol,
    served_checks,
)
from monitor.judge import event_alarms, judge, observations
from monitor.services.base import ServiceBase, connection_of
from monitor.services.loaded import Loaded, load, reading_views
from monitor.services.stored import (
    KeptGate,
    kept_gate,
    meds_of,
    numbers_of,
    record_name,
)
from monitor.store import tables as t
from monitor.unreadable import (
    PARSE_ERRORS,
    READINGS,
    RECORD,
    REMS_AT_DISCHARGE,
    RULES,
    SCHEDULE,
    STORED_GATE,
    Unreadable,
    read,
    reason,
)
from monitor.views import (
    EventView,
    ReadingView,
    ReopenView,
    SessionView,
    SignOffView,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_SESSIONS = t.treatment_sessions.c
#: The sessions in observation, each with its patient's identifier.
_ACTIVE = (
    select(t.treatment_sessions, t.patients.c.identifier.label("patient_identifier"))
    .join(t.patients, t.patients.c.id == _SESSIONS.patient_id)
    .where(_SESSIONS.discharged_at.is_(None))
    .order_by(_SESSIONS.id)
)
_ACTIVE_IDS = select(_SESSIONS.id).where(_SESSIONS.discharged_at.is_(None)).order_by(_SESSIONS.id)
#: Audit rows of no session that change nothing on the floor (a user's sign-in, PIN, lock).
_NOT_THE_FLOORS = ("user",)
_SIGN_OFFS = select(t.sign_offs).order_by(t.sign_offs.c.id)
_REOPENINGS = select(t.reopenings).order_by(t.reopenings.c.id)


def _patient(row: Any) -> str:
    """A session's patient identifier: a Core row's joined column (``_ACTIVE``), or an ORM
    row's patient."""
    identifier = getattr(row, "patient_identifier", None)
    return identifier if identifier is not None else str(row.patient.identifier)


def _changed_after(
    discharged_at: datetime, readings: Sequence[ReadingView], events: Sequence[EventView]
) -> bool:
    """Something was entered after the discharge: a reading (late entry, correction), a void,
    an acknowledgement or an event."""
    return (
        any(r.recorded_at > discharged_at for r in readings)
        or any(r.voided is not None and r.voided.at > discharged_at for r in readings)
        or any(e.recorded_at > discharged_at for e in events)
    )


def _unjudged(
    row: Any, schedule: Protocol | Unreadable, config: ClinicConfig | Unreadable
) -> Unreadable:
    """Why a session is not judged: its schedule, or the rules in force, cannot be read."""
    if isinstance(schedule, Unreadable):
        return schedule
    assert isinstance(config, Unreadable)
    return Unreadable(record_name(row), SCHEDULE, f"{config.part}: {config.why}")


@dataclass
class _Batch:
    """What every session of one read is judged with: its rows loaded, its sign-offs and
    reopenings, the moments, and the rules in force (or their marker)."""

    session: Session | Connection
    ids: list[int]
    loaded: Loaded
    signs: dict[int, list[Row[Any]]]
    reopenings: dict[int, list[ReopenView]]
    now: datetime
    as_of: datetime | None
    propose: bool
    rules: tuple[int, ClinicConfig] | Unreadable
    #: The REMS corrections of the batch, read when first needed.
    fixes: dict[int, list[Correction]] | None = None


@dataclass(frozen=True)
class FloorChanges:
    """The floor's sessions since a version of the record (:meth:`active_sessions_since`)."""

    #: Every session in observation, in the floor's order.
    active: list[int]
    #: The views of those changed since, or not shown yet.
    views: list[SessionView]


class QueryServices(ServiceBase):
    """Sessions read as plain views."""

    def _views(
        self,
        session: Session | Connection,
        rows: Sequence[Any],
        *,
        as_of: datetime | None = None,
        propose: bool = False,
    ) -> list[SessionView]:
        """Sessions judged as of ``as_of`` (default: now, or the discharge for a discharged
        one). A discharged session with a stored gate keeps it, and its checks are judged
        under the configuration stored with it. ``propose`` computes the REMS proposal of an
        active esketamine session up to now (it tries every moment, so only on request).

        A stored value that cannot be read never fails the batch: the session is read
        without it and names it (:mod:`monitor.services.stored`; docs/storage.md,
        "Unreadable records")."""
        loaded = load(session, [r.id for r in rows])
        ids = [r.id for r in rows]
        signs: dict[int, list[Row[Any]]] = defaultdict(list)
        reopenings: dict[int, list[ReopenView]] = defaultdict(list)
        connection = connection_of(session)
        if ids:
            for given in connection.execute(_SIGN_OFFS.where(t.sign_offs.c.session_id.in_(ids))):
                signs[given.session_id].append(given)
            for again in connection.execute(_REOPENINGS.where(t.reopenings.c.session_id.in_(ids))):
                reopenings[again.session_id].append(
                    ReopenView(loaded.users.get(again.by_id, "?"), again.at, again.reason)
                )
        now = self.now() if as_of is None or propose else as_of
        batch = _Batch(
            session,
            ids,
            loaded,
            signs,
            reopenings,
            now,
            as_of,
            propose,
            read(lambda: self.rules_in_force(connection), "the clinic's rules", RULES),
        )
        return [self._tolerant_view(batch, row) for row in rows]

    def _tolerant_view(self, batch: _Batch, row: Any) -> SessionView:
        """One session's view; a stored gate that parsed but could not be used to judge is
        marked and the session judged without it; a session that cannot be put together even
        so is told by its plain columns and readings, marked "record unreadable"."""
        kept = kept_gate(row, self.rules_of)
        try:
            return self._view(batch, row, kept)
        except PARSE_ERRORS as error:
            failed = error
        if isinstance(kept, KeptGate):
            kept = Unreadable(record_name(row), STORED_GATE, reason(failed))
            try:
                return self._view(batch, row, kept)
            except PARSE_ERRORS as error:
                failed = error
        return self._unreadable_view(
            batch, row, Unreadable(record_name(row), RECORD, reason(failed))
        )

    def _unreadable_view(self, batch: _Batch, row: Any, marker: Unreadable) -> SessionView:
        """A session told by its plain columns (and its readings and events, when they can be
        read), unjudged: no checks, a gate "not ready" naming ``marker``."""
        numbers, odd = numbers_of(row)
        signs = batch.signs[row.id]
        sign = signs[-1] if len(signs) > len(batch.reopenings[row.id]) else None
        readings = read(
            lambda: reading_views(batch.loaded, row.id, row.discharged_at),
            record_name(row),
            READINGS,
        )
        return SessionView(
            id=row.id,
            patient=_patient(row),
            protocol=row.protocol,
            treatment=row.protocol,
            dose_mg=numbers.dose_mg,
            age=numbers.age,
            bay=row.bay,
            lot=row.lot,
            started_at=row.started_at,
            started_by=batch.loaded.users.get(row.started_by_id, "?"),
            dosed_at=row.dosed_at,
            discharged_at=row.discharged_at,
            discharged_by=batch.loaded.users.get(row.discharged_by_id or -1),
            override_reason=row.override_reason,
            ready_minute=numbers.ready_minute,
            signed_by=batch.loaded.users.get(sign.by_id) if sign else None,
            signed_at=sign.at if sign else None,
            readings=() if isinstance(readings, Unreadable) else readings,
            checks=(),
            gate=GateResult(False, (str(marker),)),
            as_of=batch.as_of or row.discharged_at or batch.now,
            events=tuple(batch.loaded.events.get(row.id, [])),
            signoffs=tuple(SignOffView(batch.loaded.users.get(s.by_id, "?"), s.at) for s in signs),
            reopened=tuple(batch.reopenings[row.id]),
            unreadable=tuple(u for u in (marker, odd, readings) if isinstance(u, Unreadable)),
        )

    def _view(self, batch: _Batch, row: Any, kept: KeptGate | Unreadable | None) -> SessionView:
        """One session of :meth:`_views`, with its stored gate as read (or its marker)."""
        marks: list[Unreadable] = [kept] if isinstance(kept, Unreadable) else []
        numbers, odd = numbers_of(row)
        if odd is not None:
            marks.append(odd)
        stored = kept if isinstance(kept, KeptGate) else None
        moment = batch.as_of or row.discharged_at or batch.now
        closed = stored.closed_at if stored is not None else row.discharged_at
        readings = reading_views(batch.loaded, row.id, closed)
        events = tuple(batch.loaded.events.get(row.id, []))
        skips = dict(batch.loaded.skips.get(row.id, {}))
        gate_version: int | None = None
        schedule: Protocol | Unreadable
        config: ClinicConfig | Unreadable
        if stored is not None:
            schedule, config, gate_version = stored.schedule, stored.config, stored.version
        else:
            schedule = read(lambda: self.schedule_of(row), record_name(row), SCHEDULE)
            config = batch.rules if isinstance(batch.rules, Unreadable) else batch.rules[1]
            if not isinstance(batch.rules, Unreadable):
                gate_version = batch.rules[0]
        checks: list[CheckState] = []
        gate_now = None
        if isinstance(schedule, Unreadable) or isinstance(config, Unreadable):
            # Not judged: the schedule or the rules to judge it by cannot be read.
            unjudged = _unjudged(row, schedule, config)
            marks.append(unjudged)
            gate = GateResult(False, (str(unjudged),))
            refusals = [str(unjudged)] if row.dosed_at is None else []
            rules: ClinicConfig | None = None
            judged: Protocol | None = None
        else:
            checks, gate = judge(
                schedule,
                row.dosed_at,
                readings,
                skips,
                moment,
                config,
                row.discharged_at,
                age=numbers.age,
                events=events,
                infusion_ended_at=row.infusion_ended_at,
            )
            served = served_checks(checks)
            readings = tuple(
                replace(r, served_check=served[r.id]) if r.id in served else r for r in readings
            )
            if stored is not None:
                gate = stored.gate
                if (
                    closed is not None
                    and row.discharged_at is not None
                    and _changed_after(closed, readings, events)
                ):
                    # Review shows the gate judged again on the changed record beside the
                    # stored one (docs/clinical.md, "The record after discharge").
                    _, gate_now = judge(
                        schedule,
                        row.dosed_at,
                        readings,
                        skips,
                        row.discharged_at,
                        config,
                        departure=Departure(row.escort, row.instructions_given),
                        age=numbers.age,
                        events=events,
                        infusion_ended_at=row.infusion_ended_at,
                    )
            seen = observations(readings)
            refusals = dosing_refusals(schedule, seen) if row.dosed_at is None else []
            rules, judged = config, schedule
        proposed = numbers.ready_minute_proposed
        if (
            batch.propose
            and judged is not None
            and rules is not None
            and row.discharged_at is None
            and expected_dose(row.protocol) is not None
        ):
            proposed = ready_to_leave_minute(
                judged,
                row.dosed_at,
                observations(readings),
                moment,
                criteria=rules.discharge,
                windows=rules.windows,
                patient=Patient(numbers.age, rules.thresholds),
                alarms=event_alarms(events),
            )
        meds = meds_of(row)
        if isinstance(meds, Unreadable):
            marks.append(meds)
        signs = batch.signs[row.id]
        signed = len(signs) > len(batch.reopenings[row.id])
        sign = signs[-1] if signed else None
        name = batch.loaded.users.get
        view = SessionView(
            id=row.id,
            patient=_patient(row),
            protocol=row.protocol,
            treatment=judged.treatment if judged is not None else row.protocol,
            dose_mg=numbers.dose_mg,
            age=numbers.age,
            bay=row.bay,
            lot=row.lot,
            started_at=row.started_at,
            started_by=name(row.started_by_id, "?"),
            dosed_at=row.dosed_at,
            discharged_at=row.discharged_at,
            discharged_by=name(row.discharged_by_id or -1),
            override_reason=row.override_reason,
            ready_minute=numbers.ready_minute,
            signed_by=name(sign.by_id) if sign else None,
            signed_at=sign.at if sign else None,
            readings=readings,
            checks=tuple(checks),
            gate=gate,
            as_of=moment,
            schedule=judged,
            weight_kg=numbers.weight_kg,
            first_treatment=row.first_treatment,
            dose_number=numbers.dose_number,
            meds=None if isinstance(meds, Unreadable) else meds,
            infusion_ended_at=row.infusion_ended_at,
            dose_override_reason=row.dose_override_reason,
            escort=row.escort,
            instructions_given=row.instructions_given,
            ready_minute_proposed=proposed,
            ready_minute_by=name(row.ready_minute_by_id or -1),
            stored_gate=stored.stored if stored is not None else None,
            events=events,
            dosing_refusals=tuple(refusals),
            skips=skips,
            reopened=tuple(batch.reopenings[row.id]),
            config_version=row.config_version,
            gate_config_version=gate_version,
            dosed_by=name(row.dosed_by_id or -1),
            dose_override_by=name(row.dosed_by_id or -1) if row.dose_override_reason else None,
            dose_override_cosigned_by=name(row.dose_cosigned_by_id or -1),
            infusion_ended_by=name(row.infusion_ended_by_id or -1),
            infusion_end_corrections=tuple(batch.loaded.infusion_corrections.get(row.id, [])),
            discharge_cosigned_by=name(row.discharge_cosigned_by_id or -1),
            ended_early=bool(stored is not None and stored.stored.record.get("ended_early")),
            minutes_monitored=minutes_monitored(row.dosed_at, moment),
            signoffs=tuple(SignOffView(name(given.by_id, "?"), given.at) for given in signs),
            gate_now=gate_now,
        )
        if gate_now is not None and rules is not None and row.rems_at_discharge is not None:
            changed = read(
                lambda: self._rems_changed(batch, view, row, rules),
                record_name(row),
                REMS_AT_DISCHARGE,
            )
            if isinstance(changed, Unreadable):
                marks.append(changed)
            else:
                view = replace(view, rems_changed_after_discharge=changed)
        flags = [f for r in readings for f in r.flags] + [e.alarm for e in events if e.alarm]
        marks += [r.unreadable for r in readings if r.unreadable is not None]
        marks += [f.unreadable for f in flags if f.unreadable is not None]
        return replace(view, unreadable=tuple(marks)) if marks else view

    def _rems_changed(
        self, batch: _Batch, view: SessionView, row: Any, config: ClinicConfig
    ) -> tuple[str, ...]:
        """Which REMS answers a change after discharge moved, not confirmed since (a
        discharged session's: never on the floor, so imported here)."""
        from sqlalchemy.orm import Session

        from monitor.services.rems_record import rems_changed_after_discharge, rems_corrections

        if batch.fixes is None:
            session = batch.session
            if isinstance(session, Connection):
                session = Session(bind=session)
            batch.fixes = rems_corrections(session, batch.ids, batch.loaded.users)
        return rems_changed_after_discharge(
            view,
            row.rems_at_discharge,
            batch.fixes[row.id],
            criteria=config.discharge,
            windows=config.windows,
        )

    def session(self, session_id: int) -> SessionView:
        """One session as of now (as of discharge, once discharged), with the REMS proposal."""
        with self._read() as session:
            row = self._session_row(session, session_id)
            return self._views(session, [row], propose=True)[0]

    def sessions(self, ids: Sequence[int]) -> list[SessionView]:
        """Several sessions, in the order asked."""
        with self._read() as session:
            rows = [self._session_row(session, i) for i in ids]
            return self._views(session, rows)

    def active_sessions_since(self, mark: int, shown: Collection[int]) -> FloorChanges | None:
        """What the floor must read again since the record's version ``mark``, the floor
        showing the sessions ``shown``: every active session's id, and the views of those
        changed since (an audit row of theirs after ``mark``) or not yet shown. ``None`` when
        a change since is not one session's (the clinic's rules, a demo): read everything.
        Saves a station reading 40 sessions again for one reading (docs/station.md, "Keeping
        up to date")."""
        trail = t.audit_log.c
        since = trail.id > mark
        with self.engine.connect() as connection:
            everyone = select(trail.id).where(
                and_(since, trail.session_id.is_(None), trail.entity.not_in(_NOT_THE_FLOORS))
            )
            if connection.execute(everyone.limit(1)).first() is not None:
                return None
            touched = set(
                connection.execute(
                    select(trail.session_id)
                    .where(and_(since, trail.session_id.is_not(None)))
                    .distinct()
                ).scalars()
            )
            active = list(connection.execute(_ACTIVE_IDS).scalars())
            wanted = [i for i in active if i in touched or i not in shown]
            rows = (
                connection.execute(_ACTIVE.where(_SESSIONS.id.in_(wanted))).all() if wanted else []
            )
            return FloorChanges(active, self._views(connection, rows))

    def active_sessions(self) -> list[SessionView]:
        """Every session in observation: what the dashboard shows. Cost follows active work.
        (SQLAlchemy Core alone, in one transaction: the station's floor.)"""
        with self.engine.connect() as connection:
            return self._views(connection, connection.execute(_ACTIVE).all())
