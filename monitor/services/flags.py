"""Flags and checks: acknowledging the flags a reading raised, with what was done, and
recording why an overdue or missed check was not done."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import select

from monitor.core.schedule import CheckSkip, CheckState
from monitor.errors import EntryError, NotFound, Refused
from monitor.services.base import _flag_view, clean_text
from monitor.services.queries import QueryServices
from monitor.store import models as m
from monitor.views import FlagView


class FlagServices(QueryServices):
    """Acknowledging flags; explaining checks not done."""

    def acknowledge(self, flag_id: int, *, by: str, action: str) -> FlagView:
        """Acknowledge a flag with what was done."""
        return self.acknowledge_many([flag_id], by=by, action=action)[0]

    def acknowledge_many(self, flag_ids: Sequence[int], *, by: str, action: str) -> list[FlagView]:
        """Acknowledge several flags with one statement of what was done, in one transaction."""
        said = clean_text(action, "what was done (--action)")
        assert said is not None
        action = said
        if not flag_ids:
            raise EntryError("choose at least one flag to acknowledge")
        now = self.now()
        done: list[FlagView] = []
        with self._action() as session:
            user = self._user(session, by)
            for flag_id in flag_ids:
                flag = session.get(m.Flag, flag_id)
                if flag is None:
                    raise NotFound(f"no flag {flag_id}")
                reading = session.get(m.Reading, flag.reading_id)
                assert reading is not None
                self._session_row(session, reading.session_id, lock=True)
                self._refuse_if_signed(session, reading.session_id, "acknowledgement")
                earlier = session.scalar(
                    select(m.Acknowledgement).where(m.Acknowledgement.flag_id == flag_id)
                )
                if earlier is not None:
                    who = session.get(m.User, earlier.by_id)
                    raise Refused(
                        f"flag {flag_id} was already acknowledged by {who.name if who else '?'} "
                        f"at {earlier.at.astimezone().strftime('%Y-%m-%d %H:%M')}"
                    )
                session.add(
                    m.Acknowledgement(flag_id=flag_id, by_id=user.id, at=now, action=action)
                )
                self._audit(
                    session,
                    now,
                    user,
                    "flag.acknowledge",
                    "flag",
                    flag_id,
                    session_id=reading.session_id,
                    after={"flag": flag_id, "message": flag.message, "action": action},
                )
                done.append(_flag_view(flag, now, user.name, action))
        return done

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
