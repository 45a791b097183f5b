"""The reads: sessions as plain views (readings, flags, checks, gate).

Reads return plain dataclasses (:mod:`monitor.views`), loaded with a fixed number of queries
however many readings a session has. The audit trail and the list of sessions, which grow with
the whole history, are paged and streamed by :mod:`monitor.services.history`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from monitor.core.gate import (
    Departure,
    Patient,
    StoredGate,
    dosing_refusals,
    minutes_monitored,
)
from monitor.core.intake import expected_dose, parse_meds
from monitor.core.ready_minute import ready_to_leave_minute
from monitor.core.rems_answers import Correction
from monitor.core.schedule import (
    CheckSkip,
    Protocol,
    for_infusion,
    infusion_minutes,
    served_checks,
)
from monitor.judge import event_alarms, judge, observations, stored_judgement
from monitor.services.alarms import event_alarms as load_event_alarms
from monitor.services.base import ServiceBase, _flag_view, _vitals_of
from monitor.services.rems_record import rems_changed_after_discharge, rems_corrections
from monitor.store import models as m
from monitor.views import (
    EventView,
    FlagView,
    InfusionEndCorrectionView,
    ReadingView,
    ReopenView,
    SessionView,
    SignOffView,
    VoidView,
)

# Built once: the user who acknowledged a flag.
_ACKER = aliased(m.User)


def _acknowledged(
    flag: m.Flag, ack: m.Acknowledgement | None, who: str | None, users: dict[int, str]
) -> FlagView:
    """A flag with its acknowledgement: who, when, what was done, and the co-signer."""
    if ack is None:
        return _flag_view(flag, None, None, None)
    cosigner = users.get(ack.cosigned_by_id) if ack.cosigned_by_id is not None else None
    return _flag_view(flag, ack.at, who, ack.action, cosigner)


def _adds_measures(correction: m.Reading, original: m.Reading | None) -> bool:
    """The correction holds a measure its original lacked."""
    if original is None:
        return False
    return any(
        getattr(correction, name) is not None and getattr(original, name) is None
        for name in m.MEASURE_COLUMNS
    )


def _closed_at(row: m.TreatmentSession, stored: StoredGate | None) -> datetime | None:
    """When the discharge was saved (what is saved after it was entered after discharge): kept
    with the stored gate since revision 3, else the discharge time."""
    saved = stored.record.get("saved_at") if stored is not None else None
    if isinstance(saved, str):
        try:
            return datetime.fromisoformat(saved)
        except ValueError:
            pass
    return row.discharged_at


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


@dataclass(frozen=True)
class _Loaded:
    """Rows of one or more sessions, loaded with a fixed number of queries."""

    readings: dict[int, list[m.Reading]]
    flags: dict[int, list[tuple[m.Flag, m.Acknowledgement | None, str | None]]]
    superseded_by: dict[int, int]
    users: dict[int, str]
    voids: dict[int, VoidView] = field(default_factory=dict)
    skips: dict[int, dict[str, CheckSkip]] = field(default_factory=dict)
    events: dict[int, list[EventView]] = field(default_factory=dict)
    infusion_corrections: dict[int, list[InfusionEndCorrectionView]] = field(default_factory=dict)


class QueryServices(ServiceBase):
    """Sessions read as plain views."""

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
        users = {row.id: row.name for row in session.execute(select(m.User.id, m.User.name))}
        voids: dict[int, VoidView] = {}
        for chunk_start in range(0, len(reading_ids), 5000):
            chunk = reading_ids[chunk_start : chunk_start + 5000]
            for flag, ack, who in session.execute(
                select(m.Flag, m.Acknowledgement, _ACKER.name)
                .outerjoin(m.Acknowledgement, m.Acknowledgement.flag_id == m.Flag.id)
                .outerjoin(_ACKER, _ACKER.id == m.Acknowledgement.by_id)
                .where(m.Flag.reading_id.in_(chunk))
                .order_by(m.Flag.id)
            ):
                assert flag.reading_id is not None
                flags[flag.reading_id].append((flag, ack, who))
            for void in session.scalars(select(m.Void).where(m.Void.reading_id.in_(chunk))):
                voids[void.reading_id] = VoidView(users.get(void.by_id, "?"), void.at, void.reason)
        skips: dict[int, dict[str, CheckSkip]] = defaultdict(dict)
        for skip in session.scalars(
            select(m.CheckSkipRow).where(m.CheckSkipRow.session_id.in_(session_ids))
        ):
            skips[skip.session_id][skip.label] = CheckSkip(
                users.get(skip.by_id, "?"), skip.at, skip.reason
            )
        event_rows = session.scalars(
            select(m.Event)
            .where(m.Event.session_id.in_(session_ids))
            .order_by(m.Event.at, m.Event.id)
        ).all()
        alarms = load_event_alarms(session, session_ids) if event_rows else {}
        events: dict[int, list[EventView]] = defaultdict(list)
        for event in event_rows:
            events[event.session_id].append(
                EventView(
                    event.id,
                    event.session_id,
                    event.kind,
                    event.type,
                    event.severity,
                    event.serious,
                    event.text,
                    event.at,
                    event.recorded_at,
                    users.get(event.by_id, "?"),
                    alarm=alarms.get(event.id),
                )
            )
        corrections: dict[int, list[InfusionEndCorrectionView]] = defaultdict(list)
        for fix in session.scalars(
            select(m.InfusionEndCorrection)
            .where(m.InfusionEndCorrection.session_id.in_(session_ids))
            .order_by(m.InfusionEndCorrection.id)
        ):
            corrections[fix.session_id].append(
                InfusionEndCorrectionView(
                    fix.ended_at, fix.previous, users.get(fix.by_id, "?"), fix.at, fix.reason
                )
            )
        return _Loaded(readings, flags, superseded, users, voids, skips, events, corrections)

    @staticmethod
    def _flag_views(loaded: _Loaded, reading_id: int) -> tuple[FlagView, ...]:
        return tuple(
            _acknowledged(flag, ack, who, loaded.users)
            for flag, ack, who in loaded.flags.get(reading_id, [])
        )

    def _reading_views(
        self, loaded: _Loaded, session_id: int, discharged_at: datetime | None
    ) -> tuple[ReadingView, ...]:
        rows = loaded.readings.get(session_id, [])
        by_id = {r.id: r for r in rows}
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
                voided=loaded.voids.get(r.id),
                entered_after_discharge=discharged_at is not None and r.recorded_at > discharged_at,
                adds_measures=r.corrects_id is not None
                and _adds_measures(r, by_id.get(r.corrects_id)),
            )
            for r in rows
        )

    def schedule_of(self, row: m.TreatmentSession) -> Protocol:
        """The schedule a session follows: its protocol's under the rules version in force
        when it started, moved by the actual end of an IV infusion once it is recorded."""
        protocol = self.rules_of(row.config_version).protocol(row.protocol)
        if row.dosed_at is not None and row.infusion_ended_at is not None:
            return for_infusion(protocol, infusion_minutes(row.dosed_at, row.infusion_ended_at))
        return protocol

    def _views(
        self,
        session: Session,
        rows: Sequence[m.TreatmentSession],
        *,
        as_of: datetime | None = None,
        propose: bool = False,
    ) -> list[SessionView]:
        """Sessions judged as of ``as_of`` (default: now, or the discharge for a discharged
        one). A discharged session with a stored gate keeps it, and its checks are judged
        under the configuration stored with it. ``propose`` computes the REMS proposal of an
        active esketamine session up to now (it tries every moment, so only on request)."""
        loaded = self._load(session, [r.id for r in rows])
        ids = [r.id for r in rows]
        signs: dict[int, list[m.SignOff]] = defaultdict(list)
        reopenings: dict[int, list[ReopenView]] = defaultdict(list)
        if ids:
            for given in session.scalars(
                select(m.SignOff).where(m.SignOff.session_id.in_(ids)).order_by(m.SignOff.id)
            ):
                signs[given.session_id].append(given)
            for again in session.scalars(
                select(m.Reopening).where(m.Reopening.session_id.in_(ids)).order_by(m.Reopening.id)
            ):
                reopenings[again.session_id].append(
                    ReopenView(loaded.users.get(again.by_id, "?"), again.at, again.reason)
                )
        now = self.now() if as_of is None or propose else as_of
        version, rules = self.rules_in_force(session)
        fixes: dict[int, list[Correction]] | None = None
        views = []
        for row in rows:
            moment = as_of or row.discharged_at or now
            stored = StoredGate.decode(
                json.loads(row.gate_at_discharge) if row.gate_at_discharge else None
            )
            readings = self._reading_views(loaded, row.id, _closed_at(row, stored))
            events = tuple(loaded.events.get(row.id, []))
            config, gate_version = rules, cast(int | None, version)
            schedule = self.schedule_of(row)
            if stored is not None:
                stored_gate, schedule, config = stored_judgement(stored)
                gate_version = stored.record.get("config_version")
                config = replace(config, thresholds=self.rules_of(gate_version).thresholds)
            skips = dict(loaded.skips.get(row.id, {}))
            checks, gate = judge(
                schedule,
                row.dosed_at,
                readings,
                skips,
                moment,
                config,
                row.discharged_at,
                age=row.age,
                events=events,
                infusion_ended_at=row.infusion_ended_at,
            )
            served = served_checks(checks)
            readings = tuple(
                replace(r, served_check=served[r.id]) if r.id in served else r for r in readings
            )
            gate_now = None
            if stored is not None:
                gate = stored_gate
                closed = _closed_at(row, stored)
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
                        age=row.age,
                        events=events,
                        infusion_ended_at=row.infusion_ended_at,
                    )
            seen = observations(readings)
            refusals = dosing_refusals(schedule, seen) if row.dosed_at is None else []
            proposed = row.ready_minute_proposed
            if propose and row.discharged_at is None and expected_dose(row.protocol) is not None:
                proposed = ready_to_leave_minute(
                    schedule,
                    row.dosed_at,
                    seen,
                    moment,
                    criteria=config.discharge,
                    windows=config.windows,
                    patient=Patient(row.age, config.thresholds),
                    alarms=event_alarms(events),
                )
            signed = len(signs[row.id]) > len(reopenings[row.id])
            sign = signs[row.id][-1] if signed else None
            name = loaded.users.get
            views.append(
                SessionView(
                    id=row.id,
                    patient=row.patient.identifier,
                    protocol=row.protocol,
                    treatment=schedule.treatment,
                    dose_mg=row.dose_mg,
                    age=row.age,
                    bay=row.bay,
                    lot=row.lot,
                    started_at=row.started_at,
                    started_by=name(row.started_by_id, "?"),
                    dosed_at=row.dosed_at,
                    discharged_at=row.discharged_at,
                    discharged_by=name(row.discharged_by_id or -1),
                    override_reason=row.override_reason,
                    ready_minute=row.ready_minute,
                    signed_by=name(sign.by_id) if sign else None,
                    signed_at=sign.at if sign else None,
                    readings=readings,
                    checks=tuple(checks),
                    gate=gate,
                    as_of=moment,
                    schedule=schedule,
                    weight_kg=row.weight_kg,
                    first_treatment=row.first_treatment,
                    dose_number=row.dose_number,
                    meds=None if row.meds is None else tuple(parse_meds(row.meds) or ()),
                    infusion_ended_at=row.infusion_ended_at,
                    dose_override_reason=row.dose_override_reason,
                    escort=row.escort,
                    instructions_given=row.instructions_given,
                    ready_minute_proposed=proposed,
                    ready_minute_by=name(row.ready_minute_by_id or -1),
                    stored_gate=stored,
                    events=events,
                    dosing_refusals=tuple(refusals),
                    skips=skips,
                    reopened=tuple(reopenings[row.id]),
                    config_version=row.config_version,
                    gate_config_version=gate_version,
                    dosed_by=name(row.dosed_by_id or -1),
                    dose_override_by=name(row.dosed_by_id or -1)
                    if row.dose_override_reason
                    else None,
                    dose_override_cosigned_by=name(row.dose_cosigned_by_id or -1),
                    infusion_ended_by=name(row.infusion_ended_by_id or -1),
                    infusion_end_corrections=tuple(loaded.infusion_corrections.get(row.id, [])),
                    discharge_cosigned_by=name(row.discharge_cosigned_by_id or -1),
                    ended_early=bool(stored is not None and stored.record.get("ended_early")),
                    minutes_monitored=minutes_monitored(row.dosed_at, moment),
                    signoffs=tuple(
                        SignOffView(name(given.by_id, "?"), given.at) for given in signs[row.id]
                    ),
                    gate_now=gate_now,
                )
            )
            if gate_now is not None and row.rems_at_discharge is not None:
                # Which REMS answers a change after discharge moved, not confirmed since.
                if fixes is None:
                    fixes = rems_corrections(session, ids, loaded.users)
                views[-1] = replace(
                    views[-1],
                    rems_changed_after_discharge=rems_changed_after_discharge(
                        views[-1],
                        row.rems_at_discharge,
                        fixes[row.id],
                        criteria=config.discharge,
                        windows=config.windows,
                    ),
                )
        return views

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
