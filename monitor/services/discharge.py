"""Discharge and review: the discharge gate (or its written override) and the sign-off.

Both build on the session views of :mod:`monitor.services.queries`: the gate is judged on every
saved reading at the discharge time, which may not be before the latest reading, and is stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from monitor.core.gate import Departure, minutes_monitored
from monitor.core.intake import expected_dose
from monitor.core.rems_rules import unconfirmed_refusal
from monitor.core.review import SUPERVISOR, Refusal, reopen_refusal, sign_refusal
from monitor.core.schedule import ends_early
from monitor.core.timing import check_discharged_at
from monitor.errors import EntryError, GateNotMet, Refused
from monitor.judge import gate_record, judge_view
from monitor.services.base import clean_text
from monitor.services.queries import QueryServices
from monitor.services.rems import RemsServices
from monitor.services.rems_record import rems_proposals
from monitor.services.users import UserServices
from monitor.store import models as m
from monitor.views import SessionView


class DischargeServices(UserServices, RemsServices, QueryServices):
    """Discharging a session and a supervisor's sign-off."""

    def discharge(
        self,
        session_id: int,
        *,
        by: str,
        at: datetime | None = None,
        override_reason: str | None = None,
        escort: str | None = None,
        instructions_given: bool | None = None,
        ready_minute: int | None = None,
        cosign: str | None = None,
    ) -> SessionView:
        """Discharge when the gate is met, or with a written reason and a clinician that
        override it (docs/clinical.md, "Discharge gate").

        The gate is judged at the discharge time (not later than now) on every saved reading
        measured by then, under the rules in force, with the escort (who accompanies the
        patient home, or "none: why") and the no-driving instruction as conditions; its
        outcome is stored with the rules version it used, so it is never judged again. An
        override needs the acting user to be a supervisor, or ``cosign`` naming one (whose PIN
        the caller checked). For esketamine the REMS proposal is kept, with ``ready_minute``
        (default: the proposal; 1 to the minutes monitored) as the discharging user's answer.
        """
        override = clean_text(override_reason, "the override reason", required=False)
        companion = clean_text(escort, "the escort", required=False)
        now = self.now()
        with self._action() as session:
            user = self._user(session, by)
            row = self._session_row(session, session_id, lock=True)
            if row.discharged_at is not None:
                raise Refused(f"session {session_id} was already discharged")
            current = self._views(session, [row], as_of=now)[0]
            latest = max((r.measured_at for r in current.readings), default=None)
            when = check_discharged_at(self._utc(at, now), now, row.dosed_at, latest)
            view = self._views(session, [row], as_of=when)[0]
            version, rules = self.rules_in_force(session)
            _, gate = judge_view(view, when, rules, Departure(companion, instructions_given))
            cosigner = None
            if not gate.ready:
                if not override:
                    raise GateNotMet(list(gate.reasons))
                cosigner = self._clinician(session, user, cosign, "a discharge-gate override")
            schedule = view.schedule or self.schedule_of(row)
            rems = expected_dose(row.protocol) is not None
            proposals = (
                rems_proposals(view, criteria=rules.discharge, windows=rules.windows)
                if rems
                else None
            )
            proposed = proposals.get("ready_minute") if proposals else None
            assert proposed is None or isinstance(proposed, int)
            stayed = minutes_monitored(row.dosed_at, when)
            if ready_minute is not None:
                if not rems:
                    raise EntryError("the REMS ready minute is asked for esketamine sessions only")
                if stayed is None or not 1 <= ready_minute <= max(stayed, 1):
                    raise EntryError(
                        f"ready minute {ready_minute} is impossible: accepted 1 to the minutes "
                        f"monitored ({stayed if stayed is not None else 'no dose recorded'})"
                    )
            ended_early = not gate.ready and ends_early(schedule, row.dosed_at, when)
            row.discharged_at = when
            row.discharged_by_id = user.id
            row.override_reason = None if gate.ready else override
            row.discharge_cosigned_by_id = cosigner.id if cosigner is not None else None
            row.escort = companion
            row.instructions_given = instructions_given
            row.ready_minute_proposed = proposed
            row.ready_minute = ready_minute if ready_minute is not None else proposed
            row.ready_minute_by_id = user.id if row.ready_minute is not None else None
            record = gate_record(gate, schedule, rules, when) | {
                "config_version": version,
                "ended_early": ended_early,
                # When the discharge was saved: what is saved later was entered after it.
                "saved_at": now.isoformat(),
            }
            row.gate_at_discharge = json.dumps(record, sort_keys=True)
            row.rems_at_discharge = (
                json.dumps(proposals, sort_keys=True) if proposals is not None else None
            )
            # The database writes its own audit row of the change; the action's row, with
            # who and why, follows it.
            session.flush()
            self._audit(
                session,
                now,
                user,
                "session.discharge",
                "session",
                row.id,
                session_id=row.id,
                before={"status": "active"},
                after={
                    "status": "discharged",
                    "discharged_at": when.isoformat(),
                    "gate_ready": gate.ready,
                    "gate_reasons": list(gate.reasons),
                    "config_version": version,
                    "ended_early": ended_early,
                    "cosigned_by": cosigner.name if cosigner is not None else None,
                    "escort": companion,
                    "instructions_given": instructions_given,
                    "ready_minute_proposed": proposed,
                    "ready_minute": row.ready_minute,
                },
                reason=row.override_reason,
            )
            session.flush()
            return self._views(session, [row], as_of=when)[0]

    def _reviewed(
        self,
        session: Session,
        session_id: int,
        user: m.User,
        rule: Callable[[m.TreatmentSession | None, bool], Refusal | None],
    ) -> m.TreatmentSession:
        """The session's row, locked, once the review ``rule`` (of the row and whether it is
        signed off now) allows the action; a nurse is refused before the row is read."""
        row = None
        if user.role == SUPERVISOR:
            row = self._session_row(session, session_id, lock=True)
        refusal = rule(row, row is not None and self._signed(session, row.id))
        if refusal is not None:
            raise refusal.error()
        assert row is not None
        return row

    def sign(self, session_id: int, *, by: str, pin: str) -> SessionView:
        """A supervisor's sign-off ("reviewed") of a discharged session; the PIN is checked
        again (audited and counted like every PIN)."""
        self.authenticate(by, pin)
        now = self.now()
        with self._action() as session:
            user = self._user(session, by)
            row = self._reviewed(
                session,
                session_id,
                user,
                lambda row, signed: sign_refusal(
                    session_id,
                    user=user.name,
                    role=user.role,
                    discharged=row is not None and row.discharged_at is not None,
                    signed=signed,
                ),
            )
            view = self._views(session, [row], as_of=row.discharged_at)[0]
            open_alarms = view.open_flags()
            if open_alarms:
                count = len(open_alarms)
                raise Refused(
                    f"session {session_id} has {count} unacknowledged "
                    f"{'alarm' if count == 1 else 'alarms'} (flags or serious events): "
                    "acknowledge them before signing off (monitor flag ack)"
                )
            refusal = unconfirmed_refusal(row.id, self._rems_unconfirmed(session, row.id))
            if refusal is not None:
                raise refusal.error()
            session.add(m.SignOff(session_id=row.id, by_id=user.id, at=now, meaning="reviewed"))
            self._audit(
                session,
                now,
                user,
                "session.sign",
                "session",
                row.id,
                session_id=row.id,
                after={"signed_by": user.name, "meaning": "reviewed"},
            )
            session.flush()
            return self._views(session, [row], as_of=row.discharged_at)[0]

    def reopen(self, session_id: int, *, by: str, reason: str) -> SessionView:
        """A supervisor withdraws a sign-off, with the reason (kept), so that the record can be
        corrected; it must then be signed again."""
        why = clean_text(reason, "the reason for reopening (--reason)")
        now = self.now()
        with self._action() as session:
            user = self._user(session, by)
            row = self._reviewed(
                session,
                session_id,
                user,
                lambda _, signed: reopen_refusal(
                    session_id, user=user.name, role=user.role, signed=signed
                ),
            )
            session.add(m.Reopening(session_id=row.id, by_id=user.id, at=now, reason=why))
            self._audit(
                session,
                now,
                user,
                "session.reopen",
                "session",
                row.id,
                session_id=row.id,
                reason=why,
            )
            session.flush()
            return self._views(session, [row], as_of=row.discharged_at)[0]
