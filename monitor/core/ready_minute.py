"""The REMS "ready to leave at" proposal (docs/clinical.md, the REMS ready minute).

The form asks a clinician: without the 2-hour minimum, when would this patient have been ready
to leave? The product proposes the earliest whole minute after dosing from which, continuously
until discharge, the patient's condition met the gate: every value condition held on the
readings in force (voided and superseded ones count for nothing), no serious event was open
(from the event to its clinician's review), the +40 check was done and at least one full set
(BP, HR, SpO2, MOAA/S, CADSS) was recorded after dosing. When a flag was acknowledged does not
move it: that is paperwork, not the patient's course.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from monitor.core.gate import (
    FULL_SET,
    PEAK_CHECK_MIN,
    DischargeCriteria,
    EventAlarm,
    Patient,
    minutes_after,
    value_items,
)
from monitor.core.observations import Observation, chronological, in_force
from monitor.core.schedule import CheckKind, CheckStatus, Protocol, Windows, check_states


def _holds(
    protocol: Protocol,
    dosed_at: datetime,
    current: list[Observation],
    alarms: Sequence[EventAlarm],
    moment: datetime,
    criteria: DischargeCriteria,
    windows: Windows | None,
    patient: Patient,
) -> bool:
    known = [r for r in current if r.measured_at <= moment]
    if not all(item.ok for item in value_items(known, dosed_at, criteria, patient)):
        return False
    if any(alarm.open_at(moment) for alarm in alarms):
        return False
    if not any(
        r.measured_at > dosed_at and all(r.vitals.covers(m) for m in FULL_SET) for r in known
    ):
        return False
    if any(c.at_min == PEAK_CHECK_MIN for c in protocol.checks):
        states = check_states(protocol, dosed_at, known, moment, windows)
        peak = next(
            s
            for s in states
            if s.kind is CheckKind.SCHEDULED
            and s.due_at == dosed_at + timedelta(minutes=PEAK_CHECK_MIN)
        )
        if peak.status is not CheckStatus.DONE:
            return False
    return True


def ready_to_leave_at(
    protocol: Protocol,
    dosed_at: datetime | None,
    readings: Sequence[Observation],
    until: datetime,
    *,
    criteria: DischargeCriteria | None = None,
    windows: Windows | None = None,
    patient: Patient | None = None,
    alarms: Sequence[EventAlarm] = (),
) -> datetime | None:
    """The earliest moment from which, continuously until ``until``, the conditions above
    held; ``None`` if they do not hold at ``until``.

    They change only when a reading in force is measured, a serious event happens or its
    alarm is reviewed, so only those moments are tried (never an acknowledgement of a flag).
    """
    if dosed_at is None:
        return None
    criteria = criteria or DischargeCriteria()
    patient = patient or Patient()
    current = chronological(in_force(readings))
    moments = {dosed_at, until}
    moments.update(r.measured_at for r in current)
    for alarm in alarms:
        moments.add(alarm.at)
        if alarm.acknowledged_at is not None:
            moments.add(alarm.acknowledged_at)
    start: datetime | None = None
    for moment in sorted(m for m in moments if dosed_at <= m <= until):
        if _holds(protocol, dosed_at, current, alarms, moment, criteria, windows, patient):
            if start is None:
                start = moment
        else:
            start = None
    return start


def ready_to_leave_minute(
    protocol: Protocol,
    dosed_at: datetime | None,
    readings: Sequence[Observation],
    until: datetime,
    *,
    criteria: DischargeCriteria | None = None,
    windows: Windows | None = None,
    patient: Patient | None = None,
    alarms: Sequence[EventAlarm] = (),
) -> int | None:
    """:func:`ready_to_leave_at` as whole minutes after dosing, rounded up (at least 1)."""
    moment = ready_to_leave_at(
        protocol,
        dosed_at,
        readings,
        until,
        criteria=criteria,
        windows=windows,
        patient=patient,
        alarms=alarms,
    )
    if moment is None or dosed_at is None:
        return None
    return max(1, minutes_after(dosed_at, moment))
