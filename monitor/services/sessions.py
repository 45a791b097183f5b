"""Treatment sessions and dosing: opening a session for a patient, recording the dose."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from monitor.errors import EntryError, Refused
from monitor.services.base import ServiceBase
from monitor.store import models as m


class SessionServices(ServiceBase):
    """Opening sessions and recording when the dose was given."""

    def start_session(
        self,
        *,
        patient: str,
        protocol: str,
        by: str,
        dose_mg: float | None = None,
        age: int | None = None,
        bay: str | None = None,
        lot: str | None = None,
        dosed_at: datetime | None = None,
    ) -> int:
        """Open a session for a patient; returns its id."""
        patient = patient.strip()
        if not patient:
            raise EntryError("a session needs a patient identifier")
        chosen = self.config.protocol(protocol)
        if age is not None and not 0 <= age <= 130:
            raise EntryError(f"age {age} is impossible: accepted 0-130")
        if dose_mg is not None and not 0 < dose_mg <= 1000:
            raise EntryError(f"dose {dose_mg} mg is impossible: accepted above 0 up to 1000")
        if dose_mg is None and chosen.key.startswith("esketamine-"):
            dose_mg = float(chosen.key.rsplit("-", 1)[1])
        if bay is not None and self.config.bays and bay not in self.config.bays:
            raise EntryError(f"bay '{bay}' is unknown: use one of {', '.join(self.config.bays)}")
        now = self.now()
        if dosed_at is not None:
            dosed_at = self._check_time(dosed_at, now, "dosing time")
        with self._action() as session:
            user = self._user(session, by)
            person = session.scalar(select(m.Patient).where(m.Patient.identifier == patient))
            if person is None:
                person = m.Patient(identifier=patient, created_at=now)
                session.add(person)
                session.flush()
            row = m.TreatmentSession(
                patient_id=person.id,
                protocol=chosen.key,
                dose_mg=dose_mg,
                lot=lot,
                age=age,
                bay=bay,
                started_at=now,
                started_by_id=user.id,
                dosed_at=dosed_at,
            )
            session.add(row)
            session.flush()
            self._audit(
                session,
                now,
                user,
                "session.start",
                "session",
                row.id,
                session_id=row.id,
                after={
                    "patient": patient,
                    "protocol": chosen.key,
                    "dose_mg": dose_mg,
                    "age": age,
                    "bay": bay,
                    "lot": lot,
                    "dosed_at": dosed_at.isoformat() if dosed_at else None,
                },
            )
            return row.id

    def record_dose(self, session_id: int, *, by: str, at: datetime | None = None) -> datetime:
        """Record when the dose was given (or the infusion started)."""
        now = self.now()
        dosed_at = self._check_time(at, now, "dosing time")
        with self._action() as session:
            user = self._user(session, by)
            row = self._session_row(session, session_id, lock=True)
            if row.discharged_at is not None:
                raise Refused(f"session {session_id} is discharged")
            if row.dosed_at is not None:
                raise Refused(
                    f"session {session_id} was already dosed at {row.dosed_at.isoformat()}"
                )
            row.dosed_at = dosed_at
            self._audit(
                session,
                now,
                user,
                "session.dose",
                "session",
                row.id,
                session_id=row.id,
                before={"dosed_at": None},
                after={"dosed_at": dosed_at.isoformat()},
            )
            return dosed_at
