"""Treatment sessions and dosing: opening a session for a patient with what the REMS form asks
at the start, the dosing gate and the dosing time, and the actual end of an IV infusion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from monitor.core.gate import dosing_refusals
from monitor.core.intake import SessionRequest, check_intake, clean_name
from monitor.core.schedule import infusion_minutes
from monitor.core.timing import check_dosed_at, check_infusion_end, check_started_at
from monitor.errors import GateNotMet, PermissionDenied, Refused
from monitor.services.base import clean_text
from monitor.services.queries import QueryServices
from monitor.store import models as m


class SessionServices(QueryServices):
    """Opening sessions, dosing, and the end of an infusion."""

    def start_session(
        self,
        *,
        patient: str,
        protocol: str,
        by: str,
        dose_mg: float | None = None,
        weight_kg: float | None = None,
        age: int | None = None,
        bay: str | None = None,
        lot: str | None = None,
        started_at: datetime | None = None,
        dosed_at: datetime | None = None,
        dose_override_reason: str | None = None,
        first_treatment: bool | None = None,
        dose_number: int | None = None,
        meds: tuple[str, ...] | None = None,
        cosign: str | None = None,
    ) -> int:
        """Open a session for a patient; returns its id. Only one active session per patient.

        Esketamine needs the age and the four medication answers of the REMS form, and its
        dose is the protocol's. ``dosed_at`` (entry from paper) passes the dosing gate like
        :meth:`record_dose`: with no reading yet, only with ``dose_override_reason`` and a
        clinician (a supervisor acting, or ``cosign``). The session follows the rules version
        in force now (its schedule).
        """
        clean_name(patient, "a patient identifier", required=True)
        version, rules = self.rules_in_force()
        chosen = rules.protocol(protocol)
        asked: dict[str, Any] = dict(
            dose_mg=dose_mg,
            weight_kg=weight_kg,
            age=age,
            bay=bay,
            lot=lot,
            first_treatment=first_treatment,
            dose_number=dose_number,
        )
        request = check_intake(
            SessionRequest(patient=patient, protocol=chosen.key, meds=meds, **asked),
            rules.bays,
        )
        patient_id, meds = request.patient, request.meds
        kept = {key: getattr(request, key) for key in asked}
        assert patient_id is not None
        override = clean_text(dose_override_reason, "the dose override reason", required=False)
        now = self.now()
        begun = check_started_at(self._utc(started_at, now), now)
        refusals: list[str] = []
        if dosed_at is not None:
            dosed_at = check_dosed_at(self._utc(dosed_at, now), now, begun, None)
            refusals = dosing_refusals(chosen, [])
            if refusals and not override:
                raise GateNotMet(refusals, what="dosing")
        with self._action() as session:
            user = self._user(session, by)
            cosigner = None
            if dosed_at is not None and refusals:
                cosigner = self._clinician(session, user, cosign, "a dosing-gate override")
            person = session.scalar(select(m.Patient).where(m.Patient.identifier == patient_id))
            if person is None:
                person = m.Patient(identifier=patient_id, created_at=now)
                session.add(person)
                session.flush()
            active = session.scalar(
                select(m.TreatmentSession.id).where(
                    m.TreatmentSession.patient_id == person.id,
                    m.TreatmentSession.discharged_at.is_(None),
                )
            )
            if active is not None:
                raise Refused(
                    f"patient {patient_id} is already in observation (session {active}): "
                    "discharge it before starting another"
                )
            row = m.TreatmentSession(
                patient_id=person.id,
                protocol=chosen.key,
                started_at=begun,
                started_by_id=user.id,
                dosed_at=dosed_at,
                dosed_by_id=user.id if dosed_at is not None else None,
                dose_override_reason=override if dosed_at is not None and refusals else None,
                dose_cosigned_by_id=cosigner.id if cosigner is not None else None,
                config_version=version,
                meds=None if meds is None else (",".join(meds) or "none"),
                **kept,
            )
            session.add(row)
            try:
                session.flush()
            except IntegrityError:  # another station opened one at the same moment
                raise Refused(f"patient {patient_id} is already in observation") from None
            self._audit(
                session,
                now,
                user,
                "session.start",
                "session",
                row.id,
                session_id=row.id,
                after={
                    "patient": patient_id,
                    "protocol": chosen.key,
                    "dose_mg": kept["dose_mg"],
                    "weight_kg": weight_kg,
                    "age": age,
                    "bay": kept["bay"],
                    "lot": kept["lot"],
                    "started_at": begun.isoformat(),
                    "dosed_at": dosed_at.isoformat() if dosed_at else None,
                    "first_treatment": first_treatment,
                    "dose_number": dose_number,
                    "meds": row.meds,
                    "config_version": version,
                    "dose_cosigned_by": cosigner.name if cosigner is not None else None,
                },
                reason=row.dose_override_reason,
            )
            return row.id

    def record_dose(
        self,
        session_id: int,
        *,
        by: str,
        at: datetime | None = None,
        override_reason: str | None = None,
        cosign: str | None = None,
    ) -> datetime:
        """Record when the dose was given (or the infusion started), and who gave it.

        Refused while the baseline check is not done or a before-dosing flag is not
        acknowledged, unless a written override reason is given (kept with the session) and a
        clinician stands behind it: the acting user is a supervisor, or ``cosign`` names one.
        """
        override = clean_text(override_reason, "the override reason", required=False)
        now = self.now()
        with self._action() as session:
            user = self._user(session, by)
            row = self._session_row(session, session_id, lock=True)
            if row.discharged_at is not None:
                raise Refused(f"session {session_id} is discharged")
            if row.dosed_at is not None:
                raise Refused(
                    f"session {session_id} was already dosed at {row.dosed_at.isoformat()}"
                )
            view = self._views(session, [row], as_of=now)[0]
            latest = max((r.measured_at for r in view.readings), default=None)
            dosed_at = check_dosed_at(self._utc(at, now), now, row.started_at, latest)
            refusals = list(view.dosing_refusals)
            if refusals and not override:
                raise GateNotMet(refusals, what="dosing")
            cosigner = None
            if refusals:
                cosigner = self._clinician(session, user, cosign, "a dosing-gate override")
            row.dosed_at = dosed_at
            row.dosed_by_id = user.id
            row.dose_override_reason = override if refusals else None
            row.dose_cosigned_by_id = cosigner.id if cosigner is not None else None
            # The database writes its own audit row of the change; the action's row, with
            # who and why, follows it.
            session.flush()
            self._audit(
                session,
                now,
                user,
                "session.dose",
                "session",
                row.id,
                session_id=row.id,
                before={"dosed_at": None},
                after={
                    "dosed_at": dosed_at.isoformat(),
                    "dosing_gate": refusals,
                    "cosigned_by": cosigner.name if cosigner is not None else None,
                },
                reason=row.dose_override_reason,
            )
            return dosed_at

    def record_infusion_end(
        self,
        session_id: int,
        *,
        by: str,
        at: datetime | None = None,
        reason: str | None = None,
    ) -> datetime:
        """IV: when the infusion actually ended; the post-infusion checks and the minimum
        observation then count from it. Given again, with ``reason``, by who recorded it or a
        supervisor, it corrects the time: the first value and every correction are kept
        (docs/clinical.md, "Protocols and check schedules")."""
        why = clean_text(reason, "the reason for the correction (--reason)", required=False)
        now = self.now()
        with self._action() as session:
            user = self._user(session, by)
            row = self._session_row(session, session_id, lock=True)
            protocol = self.schedule_of(row)
            if protocol.infusion_min is None:
                raise Refused(f"session {session_id} is {row.protocol}: it has no infusion")
            if row.dosed_at is None:
                raise Refused(f"session {session_id}: record the start of the infusion first")
            if row.discharged_at is not None:
                raise Refused(f"session {session_id} is discharged")
            previous = row.infusion_ended_at
            if previous is not None:
                if why is None:
                    raise Refused(
                        f"session {session_id}: the infusion end is already recorded "
                        f"({previous.isoformat(timespec='minutes')}): to correct it, give the "
                        "time again with a reason (--reason)"
                    )
                if user.role != "supervisor" and user.id != row.infusion_ended_by_id:
                    raise PermissionDenied(
                        f"{user.name} did not record this infusion end: who recorded it or a "
                        "supervisor corrects it"
                    )
            self._refuse_if_signed(session, session_id, "infusion end")
            ended = check_infusion_end(self._utc(at, now), now, row.dosed_at, row.discharged_at)
            if previous is not None:
                if ended == previous:
                    raise Refused(f"session {session_id}: the infusion end is already that time")
                # The correction row first: the database lets the time change only beside it.
                session.add(
                    m.InfusionEndCorrection(
                        session_id=row.id,
                        ended_at=ended,
                        previous=previous,
                        by_id=user.id,
                        at=now,
                        reason=why,
                    )
                )
                session.flush()
            else:
                row.infusion_ended_by_id = user.id
            row.infusion_ended_at = ended
            # The database writes its own audit row of the change; the action's row, with
            # who and why, follows it.
            session.flush()
            self._audit(
                session,
                now,
                user,
                "session.infusion_end" if previous is None else "session.infusion_end.correct",
                "session",
                row.id,
                session_id=row.id,
                before={"infusion_ended_at": previous.isoformat() if previous else None},
                after={
                    "infusion_ended_at": ended.isoformat(),
                    "infusion_min": infusion_minutes(row.dosed_at, ended),
                },
                reason=why if previous is not None else None,
            )
            return ended
