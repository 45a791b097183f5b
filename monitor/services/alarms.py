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
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from monitor.core.events import EVENT_MEASURE, serious_event
from monitor.services.base import connection_of
from monitor.services.stored import flag_view
from monitor.store import tables as t
from monitor.views import FlagView

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from monitor.store import models as m

# Built once: the users who acknowledged an alarm and co-signed it.
_ACKER = t.users.alias("acker")
_COSIGNER = t.users.alias("cosigner")
_ACKS = t.acknowledgements.c
#: The serious events' alarms with their acknowledgements (Core: the station's floor reads
#: them without the ORM).
_ALARMS = (
    select(
        t.flags,
        _ACKS.id.label("ack_id"),
        _ACKS.at.label("ack_at"),
        _ACKS.action.label("ack_action"),
        _ACKER.c.name.label("ack_by"),
        _COSIGNER.c.name.label("ack_cosigner"),
    )
    .select_from(
        t.flags.join(t.events, t.events.c.id == t.flags.c.event_id)
        .outerjoin(t.acknowledgements, _ACKS.flag_id == t.flags.c.id)
        .outerjoin(_ACKER, _ACKER.c.id == _ACKS.by_id)
        .outerjoin(_COSIGNER, _COSIGNER.c.id == _ACKS.cosigned_by_id)
    )
    .order_by(t.flags.c.id)
)


def open_event_alarm(
    session: Session, event: m.Event, summary: str, config_version: int | None, now: datetime
) -> m.Flag | None:
    """Save the alarm of ``event`` (flushed, so it has its id) if the event is serious; else
    ``None``. Called in the transaction that saves the event."""
    from monitor.store import models as m

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


def event_alarms(session: Session | Connection, session_ids: Sequence[int]) -> dict[int, FlagView]:
    """The serious events' alarms of these sessions, by event id, each with its
    acknowledgement (when, by whom, what was done, who co-signed) if any: one query."""
    if not session_ids:
        return {}
    alarms: dict[int, FlagView] = {}
    rows = connection_of(session).execute(_ALARMS.where(t.events.c.session_id.in_(session_ids)))
    for flag in rows:
        assert flag.event_id is not None
        acknowledged = flag.ack_id is not None
        alarms[flag.event_id] = flag_view(
            flag,
            flag.ack_at if acknowledged else None,
            flag.ack_by,
            flag.ack_action if acknowledged else None,
            flag.ack_cosigner,
        )
    return alarms
