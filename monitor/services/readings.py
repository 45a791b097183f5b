"""Readings: correcting or voiding one, and the flags judged as each is saved.

Readings are never updated or deleted: a correction is a new reading that supersedes the
original; a void ("entered in error") is a row beside it. Neither clears the original's flags.
Recording a reading, the hot path, is :mod:`monitor.services.recording` (SQLAlchemy Core alone),
which :class:`ReadingServices` includes: a correction is saved by the same code as a reading.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.core.entry import parse_entry
from monitor.core.review import change_refusal
from monitor.core.timing import check_measured_at
from monitor.core.vitals import Vitals, validate_vitals
from monitor.errors import EntryError, NotFound
from monitor.services.base import _vitals_of, clean_text
from monitor.services.queries import QueryServices
from monitor.services.recording import Recorded, RecordServices
from monitor.store import models as m
from monitor.views import ReadingView

__all__ = ["ReadingServices", "Recorded"]


class ReadingServices(RecordServices, QueryServices):
    """Correcting and voiding readings, over saving them (:class:`RecordServices`)."""

    def _correctable(
        self, session: Session, reading_id: int, by: str, what: str
    ) -> tuple[m.User, m.Reading, m.TreatmentSession]:
        """The user, the reading in force and its session, if this user may correct it now:
        a nurse only readings they recorded or a monitor sent, a supervisor any; never after
        sign-off."""
        user = self._user(session, by)
        original = session.get(m.Reading, reading_id)
        if original is None:
            raise NotFound(f"no reading {reading_id}")
        row = self._session_row(session, original.session_id, lock=True)
        newer = session.scalar(select(m.Reading.id).where(m.Reading.corrects_id == reading_id))
        voided = session.scalar(select(m.Void.id).where(m.Void.reading_id == reading_id))
        refusal = change_refusal(
            reading_id,
            what,
            user=user.name,
            role=user.role,
            # A monitor's reading is no nurse's own: any nurse may void or correct it
            # (docs/devices.md, "Validation").
            recorded_it=original.recorded_by_id == user.id or original.device_id is not None,
            superseded_by=newer,
            voided=voided is not None,
            session_id=row.id,
            signed=self._signed(session, row.id),
            discharged=row.discharged_at is not None,
        )
        if refusal is not None:
            raise refusal.error()
        return user, original, row

    def amend(
        self,
        reading_id: int,
        entry: str | Vitals,
        *,
        by: str,
        reason: str,
        at: datetime | None = None,
        replace: bool = False,
    ) -> ReadingView:
        """Correct a reading: a new reading supersedes it; the original stays, with its flags
        (a correction never clears an alarm).

        The entry gives the corrected measures; measures it does not name keep the original's
        values, unless ``replace`` (the entry is the whole reading). ``at`` corrects the
        measurement time. A nurse corrects only readings they recorded; a supervisor any;
        nobody after sign-off.
        """
        why = clean_text(reason, "a correction's reason (--reason)")
        given = parse_entry(entry) if isinstance(entry, str) else validate_vitals(entry)
        now = self.now()
        with self._action() as session:
            user, original, row = self._correctable(session, reading_id, by, "amend")
            old = _vitals_of(original)
            if replace:
                merged = given
            else:
                merged = Vitals(
                    **{
                        **old.as_dict(),
                        **{k: v for k, v in given.as_dict().items() if v is not None},
                    }
                )
            validate_vitals(merged)
            when = original.measured_at if at is None else self._utc(at, now)
            check_measured_at(when, now, row.started_at, row.discharged_at)
            if row.dosed_at is not None and (when <= row.dosed_at) != (
                original.measured_at <= row.dosed_at
            ):
                raise EntryError(
                    "a correction may not move a reading across the dosing time (it was judged "
                    "as before or after dosing): void it and record it again"
                )
            reading = self._save_reading(
                session, row, user, merged, when, now, corrects=original, reason=why
            )
            self._audit(
                session,
                now,
                user,
                "reading.amend",
                "reading",
                reading.id,
                session_id=row.id,
                before={
                    "reading": original.id,
                    "measured_at": original.measured_at.isoformat(),
                    **old.as_dict(),
                },
                after={"reading": reading.id, "measured_at": when.isoformat(), **merged.as_dict()},
                reason=why,
            )
            return reading

    def void(self, reading_id: int, *, by: str, reason: str) -> ReadingView:
        """Void a reading ("entered in error", e.g. the wrong patient): it stays, struck
        through, and serves no check and no value; its open flags are acknowledged with the
        reason. The same permissions as :meth:`amend`."""
        why = clean_text(reason, "the reason for voiding (--reason)")
        assert why is not None
        now = self.now()
        with self._action() as session:
            user, original, row = self._correctable(session, reading_id, by, "void")
            session.add(m.Void(reading_id=original.id, by_id=user.id, at=now, reason=why))
            acknowledged = []
            for flag in session.scalars(
                select(m.Flag)
                .outerjoin(m.Acknowledgement, m.Acknowledgement.flag_id == m.Flag.id)
                .where(m.Flag.reading_id == original.id, m.Acknowledgement.id.is_(None))
                .order_by(m.Flag.id)
            ):
                session.add(
                    m.Acknowledgement(
                        flag_id=flag.id, by_id=user.id, at=now, action=f"voided: {why}"
                    )
                )
                acknowledged.append(flag.id)
            raised: list[int] = []
            if row.dosed_at is not None and original.measured_at <= row.dosed_at:
                session.flush()
                raised = self._rejudge_rise(session, row, now)
            self._audit(
                session,
                now,
                user,
                "reading.void",
                "reading",
                original.id,
                session_id=row.id,
                before={"reading": original.id, **_vitals_of(original).as_dict()},
                after={
                    "voided": True,
                    "acknowledged_flags": acknowledged,
                    "flags_raised_by_baseline_change": raised,
                },
                reason=why,
            )
            session.flush()
            view = self._views(session, [row], as_of=now)[0].reading(original.id)
            assert view is not None
            return view
