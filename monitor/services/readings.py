"""Readings: recording one, correcting one, and the flags judged as each is saved.

Readings are never updated or deleted: a correction is a new reading that supersedes the
original. Recording a reading is the hot path, so its statements are built once here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, exists, select
from sqlalchemy.orm import Session, aliased

from monitor.core.entry import parse_entry
from monitor.core.rules import evaluate
from monitor.core.vitals import Vitals, validate_vitals
from monitor.errors import EntryError, NotFound, PermissionDenied, Refused
from monitor.services.base import ServiceBase, _Actor, _vitals_of
from monitor.store import models as m
from monitor.store.types import UTCDateTime
from monitor.views import FlagView, ReadingView

# Built once: a reading that corrects another.
_NEWER = aliased(m.Reading)

# Statements on the hot path (recording a reading), built once so SQLAlchemy's compiled cache
# serves them: a nurse's entry costs a few plain inserts, not ORM bookkeeping.
_READINGS = cast(Table, m.Reading.__table__)
_FLAGS = cast(Table, m.Flag.__table__)
_INSERT_READING = _READINGS.insert().returning(_READINGS.c.id)
_INSERT_FLAGS = _FLAGS.insert().returning(_FLAGS.c.id, sort_by_parameter_order=True)
_SESSION_FOR_READING = (
    select(
        m.TreatmentSession.id,
        m.TreatmentSession.dosed_at,
        m.TreatmentSession.discharged_at,
        m.TreatmentSession.age,
    )
    .where(m.TreatmentSession.id == bindparam("session_id"))
    .with_for_update()
)
_BASELINE = (
    select(*(_READINGS.c[name] for name in m.MEASURE_COLUMNS))
    .where(_READINGS.c.session_id == bindparam("session_id"))
    .where(_READINGS.c.measured_at <= bindparam("dosed_at", type_=UTCDateTime()))
    .where(_READINGS.c.id != bindparam("excluding"))
    .where(~exists().where(_NEWER.corrects_id == _READINGS.c.id))
    .order_by(_READINGS.c.measured_at, _READINGS.c.id)
)


class ReadingServices(ServiceBase):
    """Recording and correcting readings."""

    @staticmethod
    def _baseline(session: Session, row: Any, excluding: int | None = None) -> Vitals:
        """The latest pre-dose value of each measure, from readings in force."""
        if row.dosed_at is None:
            return Vitals()
        values = session.connection().execute(
            _BASELINE,
            {"session_id": row.id, "dosed_at": row.dosed_at, "excluding": excluding or -1},
        )
        baseline: dict[str, int] = {}
        for found in values:  # in time order: later values win
            baseline.update(
                {k: v for k, v in zip(m.MEASURE_COLUMNS, found, strict=True) if v is not None}
            )
        return Vitals(**baseline)

    def _save_reading(
        self,
        session: Session,
        row: m.TreatmentSession | Any,
        user: m.User | _Actor,
        vitals: Vitals,
        measured_at: datetime,
        now: datetime,
        *,
        corrects: m.Reading | None = None,
        reason: str | None = None,
    ) -> ReadingView:
        """Judge the flags as of now (the dosing time known now) and save reading and flags."""
        before = row.dosed_at is None or measured_at <= row.dosed_at
        baseline = (
            Vitals() if before else self._baseline(session, row, corrects.id if corrects else None)
        )
        flags = evaluate(
            vitals,
            before_dosing=before,
            age=row.age,
            baseline=baseline,
            thresholds=self.config.thresholds,
        )
        connection = session.connection()
        reading_id = connection.execute(
            _INSERT_READING,
            {
                "session_id": row.id,
                "measured_at": measured_at,
                "recorded_at": now,
                "recorded_by_id": user.id,
                "before_dosing": before,
                "corrects_id": corrects.id if corrects else None,
                "reason": reason,
                **vitals.as_dict(),
            },
        ).scalar_one()
        flag_ids: list[int] = []
        if flags:
            flag_ids = list(
                connection.execute(
                    _INSERT_FLAGS,
                    [
                        {
                            "reading_id": reading_id,
                            "measure": flag.measure,
                            "severity": flag.severity.value,
                            "rule": flag.rule,
                            "message": flag.message,
                        }
                        for flag in flags
                    ],
                ).scalars()
            )
        return ReadingView(
            id=reading_id,
            session_id=row.id,
            measured_at=measured_at,
            recorded_at=now,
            recorded_by=user.name,
            vitals=vitals,
            before_dosing=before,
            flags=tuple(
                FlagView(fid, reading_id, f.measure, f.severity, f.rule, f.message)
                for fid, f in zip(flag_ids, flags, strict=True)
            ),
            corrects=corrects.id if corrects else None,
            reason=reason,
        )

    def record_reading(
        self,
        session_id: int,
        entry: str | Vitals,
        *,
        by: str,
        measured_at: datetime | None = None,
    ) -> ReadingView:
        """Parse, validate, flag and save one reading with its audit row, in one transaction."""
        vitals = parse_entry(entry) if isinstance(entry, str) else validate_vitals(entry)
        now = self.now()
        when = self._check_time(measured_at, now, "measurement time")
        with self._action() as session:
            user = self._actor(session, by)
            # The row lock (PostgreSQL) orders this reading against a discharge in progress.
            row = (
                session.connection()
                .execute(_SESSION_FOR_READING, {"session_id": session_id})
                .first()
            )
            if row is None:
                raise NotFound(f"no session {session_id}: see `monitor session list`")
            if row.discharged_at is not None:
                raise Refused(f"session {session_id} is discharged: no more readings")
            reading = self._save_reading(session, row, user, vitals, when, now)
            self._audit(
                session,
                now,
                user,
                "reading.record",
                "reading",
                reading.id,
                session_id=row.id,
                after={"measured_at": when.isoformat(), **vitals.as_dict()},
            )
            return reading

    def amend(self, reading_id: int, entry: str | Vitals, *, by: str, reason: str) -> ReadingView:
        """Correct a reading: a new reading supersedes it; the original stays.

        The entry gives the corrected measures; measures it does not name keep the original's
        values. A nurse corrects only readings they recorded, before sign-off; a supervisor any.
        """
        if not reason or not reason.strip():
            raise EntryError("a correction needs a reason (--reason)")
        given = parse_entry(entry) if isinstance(entry, str) else validate_vitals(entry)
        now = self.now()
        with self._action() as session:
            user = self._user(session, by)
            original = session.get(m.Reading, reading_id)
            if original is None:
                raise NotFound(f"no reading {reading_id}")
            row = self._session_row(session, original.session_id, lock=True)
            newer = session.scalar(select(m.Reading.id).where(m.Reading.corrects_id == reading_id))
            if newer is not None:
                raise Refused(
                    f"reading {reading_id} was already corrected by reading {newer}: amend {newer}"
                )
            signed = session.scalar(select(m.SignOff.id).where(m.SignOff.session_id == row.id))
            if user.role != "supervisor":
                if original.recorded_by_id != user.id:
                    raise PermissionDenied(
                        f"{user.name} is a nurse and did not record reading {reading_id}: "
                        "a supervisor must correct it"
                    )
                if signed is not None:
                    raise PermissionDenied(
                        f"session {row.id} is signed off: a supervisor must correct it"
                    )
            old = _vitals_of(original)
            merged = Vitals(
                **{**old.as_dict(), **{k: v for k, v in given.as_dict().items() if v is not None}}
            )
            validate_vitals(merged)
            reading = self._save_reading(
                session,
                row,
                user,
                merged,
                original.measured_at,
                now,
                corrects=original,
                reason=reason.strip(),
            )
            self._audit(
                session,
                now,
                user,
                "reading.amend",
                "reading",
                reading.id,
                session_id=row.id,
                before={"reading": original.id, **old.as_dict()},
                after={"reading": reading.id, **merged.as_dict()},
                reason=reason.strip(),
            )
            return reading
