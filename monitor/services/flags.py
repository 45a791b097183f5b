"""Flags and checks: acknowledging the flags a reading raised, with what was done."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from monitor.errors import EntryError, NotFound, Refused
from monitor.services.base import ServiceBase, _flag_view
from monitor.store import models as m
from monitor.views import FlagView


class FlagServices(ServiceBase):
    """Acknowledging flags."""

    def acknowledge(self, flag_id: int, *, by: str, action: str) -> FlagView:
        """Acknowledge a flag with what was done."""
        return self.acknowledge_many([flag_id], by=by, action=action)[0]

    def acknowledge_many(self, flag_ids: Sequence[int], *, by: str, action: str) -> list[FlagView]:
        """Acknowledge several flags with one statement of what was done, in one transaction."""
        if not action or not action.strip():
            raise EntryError("say what was done (--action), in a word or a sentence")
        if not flag_ids:
            raise EntryError("choose at least one flag to acknowledge")
        action = action.strip()
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
                earlier = session.scalar(
                    select(m.Acknowledgement).where(m.Acknowledgement.flag_id == flag_id)
                )
                if earlier is not None:
                    raise Refused(
                        f"flag {flag_id} was already acknowledged at {earlier.at.isoformat()}"
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
