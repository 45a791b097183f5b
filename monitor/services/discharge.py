"""Discharge and review: the discharge gate (or its written override) and the sign-off.

Both build on the session views of :mod:`monitor.services.queries`: the gate is judged on the
readings in force as of the discharge time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from monitor.core.gate import ready_to_leave_minute
from monitor.errors import GateNotMet, PermissionDenied, Refused
from monitor.pins import verify_pin
from monitor.services.queries import QueryServices
from monitor.store import models as m
from monitor.views import SessionView


class DischargeServices(QueryServices):
    """Discharging a session and a supervisor's sign-off."""

    def discharge(
        self,
        session_id: int,
        *,
        by: str,
        at: datetime | None = None,
        override_reason: str | None = None,
    ) -> SessionView:
        """Discharge when the gate is met, or with a written reason that overrides it."""
        now = self.now()
        when = self._check_time(at, now, "discharge time")
        override = override_reason.strip() if override_reason else None
        with self._action() as session:
            user = self._user(session, by)
            row = self._session_row(session, session_id, lock=True)
            if row.discharged_at is not None:
                raise Refused(f"session {session_id} was already discharged")
            view = self._views(session, [row], as_of=when)[0]
            if not view.gate.ready and not override:
                raise GateNotMet(list(view.gate.reasons))
            protocol = self.config.protocol(row.protocol)
            if row.protocol.startswith("esketamine"):
                row.ready_minute = ready_to_leave_minute(
                    protocol,
                    row.dosed_at,
                    self._observations(view),
                    when,
                    criteria=self.config.discharge,
                    windows=self.config.windows,
                )
            row.discharged_at = when
            row.discharged_by_id = user.id
            row.override_reason = None if view.gate.ready else override
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
                    "gate_reasons": list(view.gate.reasons),
                    "ready_minute": row.ready_minute,
                },
                reason=row.override_reason,
            )
            session.flush()
            return self._views(session, [row], as_of=when)[0]

    def sign(self, session_id: int, *, by: str, pin: str) -> SessionView:
        """A supervisor's sign-off ("reviewed") of a discharged session; the PIN is checked."""
        now = self.now()
        with self._action() as session:
            user = self._user(session, by)
            if user.role != "supervisor":
                raise PermissionDenied(f"{user.name} is a nurse: only a supervisor can sign off")
            if not verify_pin(pin, user.pin_hash):
                raise PermissionDenied(f"wrong PIN for {user.name}")
            row = self._session_row(session, session_id, lock=True)
            if row.discharged_at is None:
                raise Refused(f"session {session_id} is still active: discharge it first")
            if session.scalar(select(m.SignOff.id).where(m.SignOff.session_id == row.id)):
                raise Refused(f"session {session_id} is already signed off")
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
