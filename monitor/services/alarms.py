"""Serious events' alarms (docs/clinical.md, "Serious events"): opening one with its event, and
reading them back as flags.

A serious event's alarm is a row of ``flags`` with ``event_id`` set (and no reading), raised by
``event`` when the event was saved; like every flag it is never changed or deleted, its
acknowledgement is a row of ``acknowledgements``, and its id is shared with the readings' flags
(``flag ack ID`` acknowledges it). Only a clinician acknowledges it: that is the clinician's
review that the patient may continue toward discharge (:mod:`monitor.services.flags`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from monitor.core.events import EVENT_MEASURE, serious_event
from monitor.services.stored import flag_view
from monitor.store import models as m
from monitor.views import FlagView

# Built once: the users who acknowledged an alarm and co-signed it.
_ACKER = aliased(m.User)
_COSIGNER = aliased(m.User)


def open_event_alarm(
    session: Session, event: m.Event, summary: str, config_version: int | None, now: datetime
) -> m.Flag | None:
    """Save the alarm of ``event`` (flushed, so it has its id) if the event is serious; else
    ``None``. Called in the transaction that saves the event."""
    alarm = serious_event(event.kind, event.type, event.severity, event.serious)
    if alarm is None:
        return None
    flag = m.Flag(
        reading_id=None,
        event_id=event.id,
        measure=EVENT_MEASURE,
        severity=alarm.severity.value,
        rule=alarm.rule,
        message=alarm.message(event.id, summary),
        config_version=config_version,
        raised_by="event",
        raised_at=now,
    )
    session.add(flag)
    session.flush()
    return flag


def event_alarms(session: Session, session_ids: Sequence[int]) -> dict[int, FlagView]:
    """The serious events' alarms of these sessions, by event id, each with its
    acknowledgement (when, by whom, what was done, who co-signed) if any: one query."""
    if not session_ids:
        return {}
    alarms: dict[int, FlagView] = {}
    for flag, ack, by, cosigned in session.execute(
        select(m.Flag, m.Acknowledgement, _ACKER.name, _COSIGNER.name)
        .join(m.Event, m.Event.id == m.Flag.event_id)
        .outerjoin(m.Acknowledgement, m.Acknowledgement.flag_id == m.Flag.id)
        .outerjoin(_ACKER, _ACKER.id == m.Acknowledgement.by_id)
        .outerjoin(_COSIGNER, _COSIGNER.id == m.Acknowledgement.cosigned_by_id)
        .where(m.Event.session_id.in_(session_ids))
        .order_by(m.Flag.id)
    ):
        assert flag.event_id is not None
        alarms[flag.event_id] = flag_view(
            flag, ack.at if ack else None, by, ack.action if ack else None, cosigned
        )
    return alarms
