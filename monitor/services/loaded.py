"""The rows behind sessions' views, loaded for a batch of sessions with a fixed number of
queries however many readings they have (:mod:`monitor.services.queries` judges them).

A reading's values and a flag's severity are read through :mod:`monitor.services.stored`, so
that one that cannot be read is marked, not fatal (docs/storage.md, "Unreadable records").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from monitor.core.schedule import CheckSkip
from monitor.services.alarms import event_alarms as load_event_alarms
from monitor.services.stored import flag_view, vitals_of
from monitor.store import models as m
from monitor.views import (
    EventView,
    FlagView,
    InfusionEndCorrectionView,
    ReadingView,
    VoidView,
)

# Built once: the user who acknowledged a flag.
_ACKER = aliased(m.User)


def _acknowledged(
    flag: m.Flag, ack: m.Acknowledgement | None, who: str | None, users: dict[int, str]
) -> FlagView:
    """A flag with its acknowledgement: who, when, what was done, and the co-signer."""
    if ack is None:
        return flag_view(flag, None, None, None)
    cosigner = users.get(ack.cosigned_by_id) if ack.cosigned_by_id is not None else None
    return flag_view(flag, ack.at, who, ack.action, cosigner)


def _adds_measures(correction: m.Reading, original: m.Reading | None) -> bool:
    """The correction holds a measure its original lacked."""
    if original is None:
        return False
    return any(
        getattr(correction, name) is not None and getattr(original, name) is None
        for name in m.MEASURE_COLUMNS
    )


@dataclass(frozen=True)
class Loaded:
    """Rows of one or more sessions, loaded with a fixed number of queries."""

    readings: dict[int, list[m.Reading]]
    flags: dict[int, list[tuple[m.Flag, m.Acknowledgement | None, str | None]]]
    superseded_by: dict[int, int]
    users: dict[int, str]
    voids: dict[int, VoidView] = field(default_factory=dict)
    skips: dict[int, dict[str, CheckSkip]] = field(default_factory=dict)
    events: dict[int, list[EventView]] = field(default_factory=dict)
    infusion_corrections: dict[int, list[InfusionEndCorrectionView]] = field(default_factory=dict)


def load(session: Session, session_ids: Sequence[int]) -> Loaded:
    """The rows of these sessions, with a fixed number of queries however many readings
    they have."""
    readings: dict[int, list[m.Reading]] = defaultdict(list)
    flags: dict[int, list[tuple[m.Flag, m.Acknowledgement | None, str | None]]] = defaultdict(list)
    superseded: dict[int, int] = {}
    if not session_ids:
        return Loaded(readings, flags, superseded, {})
    rows = session.scalars(
        select(m.Reading)
        .where(m.Reading.session_id.in_(session_ids))
        .order_by(m.Reading.measured_at, m.Reading.id)
    ).all()
    for row in rows:
        readings[row.session_id].append(row)
        if row.corrects_id is not None:
            superseded[row.corrects_id] = row.id
    reading_ids = [r.id for r in rows]
    users = {row.id: row.name for row in session.execute(select(m.User.id, m.User.name))}
    voids: dict[int, VoidView] = {}
    for chunk_start in range(0, len(reading_ids), 5000):
        chunk = reading_ids[chunk_start : chunk_start + 5000]
        for flag, ack, who in session.execute(
            select(m.Flag, m.Acknowledgement, _ACKER.name)
            .outerjoin(m.Acknowledgement, m.Acknowledgement.flag_id == m.Flag.id)
            .outerjoin(_ACKER, _ACKER.id == m.Acknowledgement.by_id)
            .where(m.Flag.reading_id.in_(chunk))
            .order_by(m.Flag.id)
        ):
            assert flag.reading_id is not None
            flags[flag.reading_id].append((flag, ack, who))
        for void in session.scalars(select(m.Void).where(m.Void.reading_id.in_(chunk))):
            voids[void.reading_id] = VoidView(users.get(void.by_id, "?"), void.at, void.reason)
    skips: dict[int, dict[str, CheckSkip]] = defaultdict(dict)
    for skip in session.scalars(
        select(m.CheckSkipRow).where(m.CheckSkipRow.session_id.in_(session_ids))
    ):
        skips[skip.session_id][skip.label] = CheckSkip(
            users.get(skip.by_id, "?"), skip.at, skip.reason
        )
    event_rows = session.scalars(
        select(m.Event).where(m.Event.session_id.in_(session_ids)).order_by(m.Event.at, m.Event.id)
    ).all()
    alarms = load_event_alarms(session, session_ids) if event_rows else {}
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
    for fix in session.scalars(
        select(m.InfusionEndCorrection)
        .where(m.InfusionEndCorrection.session_id.in_(session_ids))
        .order_by(m.InfusionEndCorrection.id)
    ):
        corrections[fix.session_id].append(
            InfusionEndCorrectionView(
                fix.ended_at, fix.previous, users.get(fix.by_id, "?"), fix.at, fix.reason
            )
        )
    return Loaded(readings, flags, superseded, users, voids, skips, events, corrections)


def _flag_views(loaded: Loaded, reading_id: int) -> tuple[FlagView, ...]:
    return tuple(
        _acknowledged(flag, ack, who, loaded.users)
        for flag, ack, who in loaded.flags.get(reading_id, [])
    )


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
        )
        for r in rows
    )
