"""Flags and checks: acknowledging the flags a reading raised and serious events' alarms, with
what was done (a clinician for a before-dosing flag or a serious event), and recording why an
overdue or missed check was not done."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.core.schedule import CheckSkip, CheckState
from monitor.errors import EntryError, NotFound, Refused
from monitor.services.base import clean_text
from monitor.services.queries import QueryServices
from monitor.services.stored import flag_view
from monitor.store import models as m
from monitor.views import FlagView


class FlagServices(QueryServices):
    """Acknowledging flags; explaining checks not done."""

    def acknowledge(
        self, flag_id: int, *, by: str, action: str, cosign: str | None = None
    ) -> FlagView:
        """Acknowledge a flag with what was done (``cosign``: see :meth:`acknowledge_many`)."""
        return self.acknowledge_many([flag_id], by=by, action=action, cosign=cosign)[0]

    def acknowledge_many(
        self, flag_ids: Sequence[int], *, by: str, action: str, cosign: str | None = None
    ) -> list[FlagView]:
        """Acknowledge several flags with one statement of what was done, in one transaction.

        Any user acknowledges a flag, except a before-dosing flag and a serious event's alarm,
        which need a clinician (docs/clinical.md, "Serious events"): the acting user is a
        supervisor, or ``cosign`` names another supervisor, whose PIN the caller has checked
        (``authenticate``). The whole set is refused, naming the flag, if one needs a
        clinician who is not there. The co-signer is kept with each acknowledgement.
        """
        said = clean_text(action, "what was done (--action)")
        assert said is not None
        action = said
        if not flag_ids:
            raise EntryError("choose at least one flag to acknowledge")
        now = self.now()
        done: list[FlagView] = []
        with self._action() as session:
            user = self._user(session, by)
            cosigner = (
                self._clinician(session, user, cosign, "the acknowledgement")
                if cosign is not None
                else None
            )
            for flag_id in flag_ids:
                flag = session.get(m.Flag, flag_id)
                if flag is None:
                    raise NotFound(f"no flag {flag_id}")
                session_id, clinical = self._flag_owner(session, flag)
                self._session_row(session, session_id, lock=True)
                self._refuse_if_signed(session, session_id, "acknowledgement")
                earlier = session.scalar(
                    select(m.Acknowledgement).where(m.Acknowledgement.flag_id == flag_id)
                )
                if earlier is not None:
                    who = session.get(m.User, earlier.by_id)
                    raise Refused(
                        f"flag {flag_id} was already acknowledged by {who.name if who else '?'} "
                        f"at {earlier.at.astimezone().strftime('%Y-%m-%d %H:%M')}"
                    )
                if clinical and cosigner is None:
                    self._clinician(session, user, None, f"flag {flag_id} ({clinical})")
                session.add(
                    m.Acknowledgement(
                        flag_id=flag_id,
                        by_id=user.id,
                        at=now,
                        action=action,
                        cosigned_by_id=cosigner.id if cosigner else None,
                    )
                )
                after: dict[str, object] = {
                    "flag": flag_id,
                    "message": flag.message,
                    "action": action,
                }
                if cosigner is not None:
                    after["cosigned_by"] = cosigner.name
                if flag.event_id is not None:
                    after["event"] = flag.event_id
                self._audit(
                    session,
                    now,
                    user,
                    "flag.acknowledge",
                    "flag",
                    flag_id,
                    session_id=session_id,
                    after=after,
                )
                done.append(
                    flag_view(flag, now, user.name, action, cosigner.name if cosigner else None)
                )
        return done

    @staticmethod
    def _flag_owner(session: Session, flag: m.Flag) -> tuple[int, str | None]:
        """The session a flag belongs to, and why acknowledging it needs a clinician (a
        before-dosing flag, a serious event's alarm), or ``None``."""
        if flag.event_id is not None:
            event = session.get(m.Event, flag.event_id)
            assert event is not None
            return event.session_id, f"the alarm of serious event {event.id}"
        reading = session.get(m.Reading, flag.reading_id)
        assert reading is not None
        return reading.session_id, "a before-dosing flag" if reading.before_dosing else None

    def skip_check(self, session_id: int, label: str, *, by: str, reason: str) -> CheckState:
        """Record why an overdue or missed check was not done ("patient asleep", "refused").

        Its alarm ends; the check keeps its status, and the reason is kept, audited and shown
        in review and exports. It does not make a pre-discharge check done.
        """
        why = clean_text(reason, "why the check was not done (--reason)")
        assert why is not None
        now = self.now()
        with self._action() as session:
            user = self._user(session, by)
            row = self._session_row(session, session_id, lock=True)
            self._refuse_if_signed(session, row.id, "check skip")
            view = self._views(session, [row], as_of=row.discharged_at or now)[0]
            check = next((c for c in view.checks if c.label == label), None)
            if check is None:
                labels = ", ".join(c.label for c in view.checks)
                raise NotFound(
                    f"session {session_id} has no check '{label}': its checks are {labels}"
                )
            if check.skip is not None:
                raise Refused(
                    f"check '{label}' was already explained by {check.skip.by}: {check.skip.reason}"
                )
            if not check.can_skip:
                raise Refused(
                    f"check '{label}' is {check.status.value}: only an overdue or missed check "
                    "can be recorded as not done"
                )
            session.add(
                m.CheckSkipRow(session_id=row.id, label=label, by_id=user.id, at=now, reason=why)
            )
            self._audit(
                session,
                now,
                user,
                "check.skip",
                "check",
                None,
                session_id=row.id,
                after={"label": label, "status": check.status.value},
                reason=why,
            )
            return replace(check, skip=CheckSkip(user.name, now, why))
