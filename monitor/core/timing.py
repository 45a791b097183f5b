"""The time rules of a session (docs/clinical.md, "Times"): which moments may be recorded.

Pure functions over aware UTC datetimes; the caller passes "now" (the database's clock when
the database is a server). Each refusal says which bound was crossed and what to do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.core.vitals import MAX_FUTURE, local_minute
from monitor.errors import EntryError

#: A time may be at most this far ahead of now (a station's clock may run a little behind):
#: the measurement-time limit of the impossible values (docs/clinical.md, "Impossible values").
MAX_AHEAD = MAX_FUTURE
#: A session entered from paper may have begun at most this long ago.
MAX_START_BACK = timedelta(days=7)
#: Readings and dosing may be at most this long before the session began.
BEFORE_START = timedelta(hours=2)
#: A reading saved more than this after it was measured is a late entry.
LATE_ENTRY_AFTER = timedelta(minutes=10)


def _hm(moment: datetime) -> str:
    """A moment as the user reads and types it: local date and time (docs/interface.md, "Times")."""
    return local_minute(moment)


def _not_ahead(what: str, when: datetime, now: datetime) -> None:
    if when - now > MAX_AHEAD:
        raise EntryError(f"{what} {_hm(when)} is in the future: it may be at most 2 min ahead")


def check_started_at(when: datetime, now: datetime) -> datetime:
    """A session's start: not ahead of now, at most 7 days back (entry from paper)."""
    _not_ahead("session start", when, now)
    if now - when > MAX_START_BACK:
        raise EntryError(
            f"session start {_hm(when)} is more than 7 days ago: a session from paper may be "
            "entered up to 7 days back"
        )
    return when


def _within_session(
    what: str, when: datetime, now: datetime, started_at: datetime, discharged_at: datetime | None
) -> datetime:
    _not_ahead(what, when, now)
    if when < started_at - BEFORE_START:
        raise EntryError(
            f"{what} {_hm(when)} is more than 2 h before the session began "
            f"({_hm(started_at)}): check the date and time"
        )
    if discharged_at is not None and when > discharged_at:
        raise EntryError(f"{what} {_hm(when)} is after the discharge ({_hm(discharged_at)})")
    return when


def check_measured_at(
    when: datetime, now: datetime, started_at: datetime, discharged_at: datetime | None
) -> datetime:
    """A measurement time: not ahead, not over 2 h before the start, not after discharge."""
    return _within_session("measurement time", when, now, started_at, discharged_at)


def check_dosed_at(
    when: datetime, now: datetime, started_at: datetime, latest_reading: datetime | None
) -> datetime:
    """A dosing time: not ahead, not over 2 h before the start, not before a saved reading."""
    _not_ahead("dosing time", when, now)
    if when < started_at - BEFORE_START:
        raise EntryError(
            f"dosing time {_hm(when)} is more than 2 h before the session began "
            f"({_hm(started_at)}): check the date and time"
        )
    if latest_reading is not None and when < latest_reading:
        raise EntryError(
            f"dosing time {_hm(when)} is before a reading already saved ({_hm(latest_reading)}) "
            "as before dosing: give the time the dose was actually given"
        )
    return when


def check_infusion_end(
    when: datetime, now: datetime, dosed_at: datetime, discharged_at: datetime | None
) -> datetime:
    """The end of an infusion: after its start, not ahead, not after discharge."""
    _not_ahead("infusion end", when, now)
    if when <= dosed_at:
        raise EntryError(
            f"infusion end {_hm(when)} is not after the start of the infusion ({_hm(dosed_at)})"
        )
    if discharged_at is not None and when > discharged_at:
        raise EntryError(f"infusion end {_hm(when)} is after the discharge ({_hm(discharged_at)})")
    return when


def check_discharged_at(
    when: datetime, now: datetime, dosed_at: datetime | None, latest_reading: datetime | None
) -> datetime:
    """A discharge time: not later than now (revision 3: no tolerance), not before dosing,
    not before the latest reading."""
    if when > now:
        raise EntryError(
            f"discharge time {_hm(when)} is in the future: a patient is discharged when they "
            "leave, not before"
        )
    if dosed_at is not None and when < dosed_at:
        raise EntryError(f"discharge time {_hm(when)} is before dosing ({_hm(dosed_at)})")
    if latest_reading is not None and when < latest_reading:
        raise EntryError(
            f"discharge time {_hm(when)} is before the latest reading ({_hm(latest_reading)}): "
            "the gate is judged on every saved reading"
        )
    return when


def check_event_at(
    when: datetime, now: datetime, started_at: datetime, discharged_at: datetime | None
) -> datetime:
    """When a note, adverse event or intervention happened: the bounds of a measurement."""
    return _within_session("event time", when, now, started_at, discharged_at)


def is_late_entry(measured_at: datetime, recorded_at: datetime) -> bool:
    """True when a reading was saved more than 10 min after it was measured."""
    return recorded_at - measured_at > LATE_ENTRY_AFTER


def is_late_reading(
    measured_at: datetime, recorded_at: datetime, *, correction: bool, adds_measures: bool
) -> bool:
    """A reading's late-entry mark (docs/clinical.md, "Times"): saved more than 10 min after
    it was measured; a correction is not a late entry (it carries its own who, when and why)
    unless it adds a measure its original lacked."""
    if correction and not adds_measures:
        return False
    return is_late_entry(measured_at, recorded_at)
