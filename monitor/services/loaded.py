"""The rows behind sessions' views, loaded for a batch of sessions with a fixed number of
queries however many readings they have (:mod:`monitor.services.queries` judges them).

A reading's values and a flag's severity are read through :mod:`monitor.services.stored`, so
that one that cannot be read is marked, not fatal (docs/storage.md, "Unreadable records").

The rows are SQLAlchemy Core rows of :mod:`monitor.store.tables` (their attributes are the
columns, as an ORM object's are), read on the caller's session or connection: the station's
floor is loaded without the ORM (issue #23).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, select

from monitor.core.schedule import CheckSkip
from monitor.services.alarms import event_alarms as load_event_alarms
from monitor.services.base import connection_of
from monitor.services.stored import flag_view, vitals_of
from monitor.store import tables as t
from monitor.views import (
    EventView,
    FlagView,
    InfusionEndCorrectionView,
    ReadingView,
    VoidView,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_R = t.readings.c
_ACKS = t.acknowledgements.c
# Built once: the user who acknowledged a flag.
_ACKER = t.users.alias("acker")
_READINGS = select(t.readings).order_by(_R.measured_at, _R.id)
_USERS = select(t.users.c.id, t.users.c.name)
#: A flag with its acknowledgement's columns (``ack_id`` NULL: not acknowledged).
_FLAGS = (
    select(
        t.flags,
        _ACKS.id.label("ack_id"),
        _ACKS.at.label("ack_at"),
        _ACKS.action.label("ack_action"),
        _ACKS.cosigned_by_id.label("ack_cosigned_by_id"),
        _ACKER.c.name.label("ack_by"),
    )
    .select_from(
        t.flags.outerjoin(t.acknowledgements, _ACKS.flag_id == t.flags.c.id).outerjoin(
            _ACKER, _ACKER.c.id == _ACKS.by_id
        )
    )
    .order_by(t.flags.c.id)
)
_VOIDS = select(t.voids)
_VALIDATIONS = select(t.validations)
_DEVICES = select(t.devices.c.id, t.devices.c.name)
_SKIPS = select(t.check_skips)
_EVENTS = select(t.events).order_by(t.events.c.at, t.events.c.id)
_INFUSION_FIXES = select(t.infusion_end_corrections).order_by(t.infusion_end_corrections.c.id)


def _acknowledged(flag: Row[Any], users: dict[int, str]) -> FlagView:
    """A flag with its acknowledgement: who, when, what was done, and the co-signer."""
    if flag.ack_id is None:
        return flag_view(flag, None, None, None)
    cosigned = flag.ack_cosigned_by_id
    cosigner = users.get(cosigned) if cosigned is not None else None
    return flag_view(flag, flag.ack_at, flag.ack_by, flag.ack_action, cosigner)


def _adds_measures(correction: Any, original: Any | None) -> bool:
    """The correction holds a measure its original lacked."""
    if original is None:
        return False
    return any(
        getattr(correction, name) is not None and getattr(original, name) is None
        for name in t.MEASURE_COLUMNS
    )


@dataclass(frozen=True)
class Loaded:
    """Rows of one or more sessions, loaded with a fixed number of queries."""

    readings: dict[int, list[Row[Any]]]
    #: Each reading's flags, with their acknowledgements' columns (``_FLAGS``).
    flags: dict[int, list[Row[Any]]]
    superseded_by: dict[int, int]
    users: dict[int, str]
    voids: dict[int, VoidView] = field(default_factory=dict)
    skips: dict[int, dict[str, CheckSkip]] = field(default_factory=dict)
    events: dict[int, list[EventView]] = field(default_factory=dict)
    infusion_corrections: dict[int, list[InfusionEndCorrectionView]] = field(default_factory=dict)
    #: Device readings' validations: (who, when) by reading id.
    validations: dict[int, tuple[str, datetime]] = field(default_factory=dict)
    #: The devices' names by id (read only when a reading came from one).
    devices: dict[int, str] = field(default_factory=dict)


def load(session: Session | Connection, session_ids: Sequence[int]) -> Loaded:
    """The rows of these sessions, with a fixed number of queries however many readings
    they have (on the given ORM session's connection, or a plain one)."""
    connection = connection_of(session)
    readings: dict[int, list[Row[Any]]] = defaultdict(list)
    flags: dict[int, list[Row[Any]]] = defaultdict(list)
    superseded: dict[int, int] = {}
    if not session_ids:
        return Loaded(readings, flags, superseded, {})
    rows = connection.execute(_READINGS.where(_R.session_id.in_(session_ids))).all()
    for row in rows:
        readings[row.session_id].append(row)
        if row.corrects_id is not None:
            superseded[row.corrects_id] = row.id
    reading_ids = [r.id for r in rows]
    users = {row.id: row.name for row in connection.execute(_USERS)}
    voids: dict[int, VoidView] = {}
    validations: dict[int, tuple[str, datetime]] = {}
    sent = any(r.device_id is not None for r in rows)
    devices = {d.id: d.name for d in connection.execute(_DEVICES)} if sent else {}
    for chunk_start in range(0, len(reading_ids), 5000):
        chunk = reading_ids[chunk_start : chunk_start + 5000]
        for flag in connection.execute(_FLAGS.where(t.flags.c.reading_id.in_(chunk))):
            assert flag.reading_id is not None
            flags[flag.reading_id].append(flag)
        for void in connection.execute(_VOIDS.where(t.voids.c.reading_id.in_(chunk))):
            voids[void.reading_id] = VoidView(users.get(void.by_id, "?"), void.at, void.reason)
        if sent:
            found = _VALIDATIONS.where(t.validations.c.reading_id.in_(chunk))
            for given in connection.execute(found):
                validations[given.reading_id] = (users.get(given.by_id, "?"), given.at)
    skips: dict[int, dict[str, CheckSkip]] = defaultdict(dict)
    for skip in connection.execute(_SKIPS.where(t.check_skips.c.session_id.in_(session_ids))):
        skips[skip.session_id][skip.label] = CheckSkip(
            users.get(skip.by_id, "?"), skip.at, skip.reason
        )
    event_rows = connection.execute(_EVENTS.where(t.events.c.session_id.in_(session_ids))).all()
    alarms = load_event_alarms(connection, session_ids) if event_rows else {}
    events: dict[int, list[EventView]] = defaultdict(list)
    for event in event_rows:
        events[event.session_id].append(
            EventView(
                event.id,
                event.session_id,
                event.kind,
                event.type,
                event.severity,
                event.serious,
                event.text,
                event.at,
                event.recorded_at,
                users.get(event.by_id, "?"),
                alarm=alarms.get(event.id),
            )
        )
    corrections: dict[int, list[InfusionEndCorrectionView]] = defaultdict(list)
    fixes = _INFUSION_FIXES.where(t.infusion_end_corrections.c.session_id.in_(session_ids))
    for fix in connection.execute(fixes):
        corrections[fix.session_id].append(
            InfusionEndCorrectionView(
                fix.ended_at, fix.previous, users.get(fix.by_id, "?"), fix.at, fix.reason
            )
        )
    return Loaded(
        readings,
        flags,
        superseded,
        users,
        voids,
        skips,
        events,
        corrections,
        validations,
        devices,
    )


def _flag_views(loaded: Loaded, reading_id: int) -> tuple[FlagView, ...]:
    return tuple(_acknowledged(flag, loaded.users) for flag in loaded.flags.get(reading_id, []))


def reading_views(
    loaded: Loaded, session_id: int, discharged_at: datetime | None
) -> tuple[ReadingView, ...]:
    """A session's readings as views, with their flags, corrections and voids; those saved
    after ``discharged_at`` marked entered after discharge."""
    rows = loaded.readings.get(session_id, [])
    by_id = {r.id: r for r in rows}
    values = {r.id: vitals_of(r) for r in rows}
    return tuple(
        ReadingView(
            id=r.id,
            session_id=r.session_id,
            measured_at=r.measured_at,
            recorded_at=r.recorded_at,
            recorded_by=loaded.users.get(r.recorded_by_id, "?"),
            vitals=values[r.id][0],
            unreadable=values[r.id][1],
            before_dosing=r.before_dosing,
            flags=_flag_views(loaded, r.id),
            superseded_by=loaded.superseded_by.get(r.id),
            corrects=r.corrects_id,
            reason=r.reason,
            voided=loaded.voids.get(r.id),
            entered_after_discharge=discharged_at is not None and r.recorded_at > discharged_at,
            adds_measures=r.corrects_id is not None and _adds_measures(r, by_id.get(r.corrects_id)),
            **_device_fields(loaded, r),
        )
        for r in rows
    )


def _device_fields(loaded: Loaded, reading: Any) -> dict[str, Any]:
    """A device reading's source and validation (nothing for a typed one)."""
    if reading.device_id is None:
        return {}
    by, at = loaded.validations.get(reading.id, (None, None))
    name = loaded.devices.get(reading.device_id, "?")
    return {"source": f"device {name}", "validated_by": by, "validated_at": at}
