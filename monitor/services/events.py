"""Events: a note, an adverse event or an intervention during a session (docs/clinical.md,
"Recorded besides vitals"): each timed, by a user, append-only and audited. A serious event
opens its alarm in the same transaction (docs/clinical.md, "Serious events")."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from monitor.core.timing import check_event_at
from monitor.errors import EntryError
from monitor.services.alarms import open_event_alarm
from monitor.services.base import ServiceBase, clean_text
from monitor.services.stored import flag_view
from monitor.store import models as m
from monitor.views import EventView


class EventServices(ServiceBase):
    """Adding notes, adverse events and interventions."""

    def add_event(
        self,
        session_id: int,
        *,
        kind: str,
        by: str,
        text: str,
        type: str | None = None,
        severity: str | None = None,
        serious: bool | None = None,
        at: datetime | None = None,
    ) -> EventView:
        """Add a note (free text), an adverse event (type, severity, serious yes/no, what
        happened) or an intervention (type, what was given).

        A serious event (an adverse event marked serious or severe, suicidal thoughts, oxygen
        or an antihypertensive given) is saved with its alarm, which the returned view holds
        (``alarm``): a flag only a clinician acknowledges.
        """
        if kind not in m.EVENT_KINDS:
            raise EntryError(f"event kind '{kind}' is unknown: use {', '.join(m.EVENT_KINDS)}")
        described = clean_text(text, "the event's text")
        assert described is not None
        types = m.EVENT_TYPES[kind]
        if kind == "note":
            if type or severity or serious:
                raise EntryError("a note has only its text: no --type, --severity or --serious")
        else:
            if type not in types:
                raise EntryError(
                    f"{kind} event type {type!r} is unknown: use --type with one of "
                    f"{', '.join(types)}"
                )
        if kind == "adverse":
            if severity not in m.EVENT_SEVERITIES:
                raise EntryError(
                    f"an adverse event needs --severity: {', '.join(m.EVENT_SEVERITIES)}"
                )
            serious = bool(serious)
        elif severity or serious:
            raise EntryError("only an adverse event has a severity and a serious flag")
        now = self.now()
        with self._action() as session:
            user = self._user(session, by)
            row = self._session_row(session, session_id, lock=True)
            self._refuse_if_signed(session, row.id, "event")
            when = check_event_at(self._utc(at, now), now, row.started_at, row.discharged_at)
            event = m.Event(
                session_id=row.id,
                kind=kind,
                type=type,
                severity=severity,
                serious=serious if kind == "adverse" else None,
                text=described,
                at=when,
                recorded_at=now,
                by_id=user.id,
            )
            session.add(event)
            session.flush()
            view = EventView(
                event.id,
                row.id,
                kind,
                type,
                severity,
                event.serious,
                described,
                when,
                now,
                user.name,
            )
            alarm = open_event_alarm(session, event, view.summary, row.config_version, now)
            after: dict[str, object] = {
                "kind": kind,
                "type": type,
                "severity": severity,
                "serious": event.serious,
                "text": described,
                "at": when.isoformat(),
            }
            if alarm is not None:
                after["alarm"] = {"flag": alarm.id, "severity": alarm.severity, "rule": alarm.rule}
            self._audit(
                session,
                now,
                user,
                f"event.{kind}",
                "event",
                event.id,
                session_id=row.id,
                after=after,
            )
            if alarm is None:
                return view
            return replace(view, alarm=flag_view(alarm, None, None, None))
