"""The discharge gate, the dosing gate and the REMS "ready to leave at" minute (docs/clinical.md).

The discharge gate is judged on every saved reading of the session. Ready only when all hold,
each failing one a reason shown to the nurse: the minimum observation time has passed since
dosing (IV: since the end of the infusion plus the observation after it); the pre-discharge
check is done (late counts); the latest value of every measure recorded after dosing carries
no medium or high flag; the latest MOAA/S is 5, CADSS <= 4 and SpO2 >= 94; and no medium or
high flag is left unacknowledged, those of corrected readings included.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from monitor.core.observations import Observation, chronological, in_force, latest_with
from monitor.core.schedule import (
    CheckKind,
    CheckSkip,
    CheckStatus,
    Protocol,
    Windows,
    check_states,
    completion_time,
)
from monitor.core.vitals import CheckMeasure, Measure

#: The measures whose latest value after dosing must carry no medium or high flag; BP is one.
_VALUE_MEASURES: tuple[tuple[str, tuple[Measure, ...]], ...] = (
    ("BP", (Measure.SYSTOLIC, Measure.DIASTOLIC)),
    ("HR", (Measure.HEART_RATE,)),
    ("SpO2", (Measure.SPO2,)),
    ("RR", (Measure.RESP_RATE,)),
    ("MOAA/S", (Measure.MOAAS,)),
    ("CADSS", (Measure.CADSS,)),
)
#: What the REMS proposal needs recorded after dosing in one reading: a full set.
FULL_SET = (
    CheckMeasure.BP,
    CheckMeasure.HR,
    CheckMeasure.SPO2,
    CheckMeasure.MOAAS,
    CheckMeasure.CADSS,
)
#: The REMS proposal needs the check at the esketamine peak done.
PEAK_CHECK_MIN = 40


@dataclass(frozen=True)
class DischargeCriteria:
    """What the discharge gate asks (docs/clinical.md, "Default discharge gate"): the latest
    MOAA/S at least ``moaas_min``, CADSS at most ``cadss_max``, SpO2 at least ``spo2_min``,
    BP at most ``sbp_max``/``dbp_max`` or no higher than the baseline, and a full set
    measured within ``recent_set_min`` before discharge."""

    moaas_min: int = 5
    cadss_max: int = 4
    spo2_min: int = 94
    sbp_max: int = 159
    dbp_max: int = 99
    recent_set_min: int = 30

    @classmethod
    def from_stored(cls, values: Mapping[str, Any]) -> DischargeCriteria:
        """The criteria as a stored gate kept them; records before revision 3 said ``moaas``
        (then "equals") and had no BP ceiling or recency: those keep the defaults' meaning."""
        known = {f.name for f in fields(cls)}
        given = {k: v for k, v in values.items() if k in known}
        if "moaas" in values and "moaas_min" not in given:
            given["moaas_min"] = values["moaas"]
        return cls(**given)


@dataclass(frozen=True)
class GateItem:
    """One condition of the gate, as a line of the discharge checklist."""

    label: str
    ok: bool
    detail: str | None = None


@dataclass(frozen=True)
class GateResult:
    """Whether the patient may leave, and every reason not."""

    ready: bool
    reasons: tuple[str, ...]
    items: tuple[GateItem, ...] = ()


@dataclass(frozen=True)
class StoredGate:
    """The discharge gate as it was stored with the session at discharge (docs/storage.md),
    decoded once: its verdict, reasons and checklist, and the whole record as it was kept
    (with the configuration it used), which the JSON output shows unchanged."""

    result: GateResult
    judged_at: datetime | None
    record: Mapping[str, Any] = field(compare=False, repr=False)

    @property
    def ready(self) -> bool:
        """The patient was ready to leave when the gate was judged."""
        return self.result.ready

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why not, one reason a failing condition."""
        return self.result.reasons

    @property
    def items(self) -> tuple[GateItem, ...]:
        """The checklist (empty in records stored before it was kept)."""
        return self.result.items

    @classmethod
    def decode(cls, record: Mapping[str, Any] | None) -> StoredGate | None:
        """The stored record (``gate_at_discharge`` read as JSON); ``None`` when not stored."""
        if record is None:
            return None
        judged = record.get("judged_at")
        return cls(
            GateResult(
                ready=bool(record["ready"]),
                reasons=tuple(str(r) for r in record["reasons"]),
                items=tuple(
                    GateItem(i["label"], i["ok"], i["detail"]) for i in record.get("items", [])
                ),
            ),
            datetime.fromisoformat(judged) if judged else None,
            record,
        )


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes elapsed from ``start`` to ``end`` (rounded down)."""
    return math.floor((end - start) / timedelta(minutes=1))


def minutes_monitored(dosed_at: datetime | None, end: datetime) -> int | None:
    """Total minutes monitored (docs/clinical.md, "The REMS Patient Monitoring Form"): from
    dosing (the first device) to the end of monitoring (the discharge, or now while in
    observation), whole minutes rounded down; ``None`` before dosing. The one figure every
    view and export shows (readings before dosing, the baseline, do not count)."""
    if dosed_at is None or end < dosed_at:
        return None
    return minutes_between(dosed_at, end)


def minutes_from_dosing(dosed_at: datetime, moment: datetime) -> int:
    """Minutes from dosing to ``moment``, to the nearest, negative before (a reading at
    -4 min 59 s is -5): the minute the REMS form and the PDF give a reading or an event
    (docs/clinical.md, the REMS form)."""
    return round((moment - dosed_at) / timedelta(minutes=1))


def minutes_after(start: datetime, end: datetime) -> int:
    """Whole minutes from ``start`` to ``end``, rounded up."""
    return math.ceil((end - start) / timedelta(minutes=1))


def _value_flag_failures(readings: list[Observation], dosed_at: datetime | None) -> list[str]:
    """A reason for each measure whose latest value after dosing carries a medium/high flag."""
    if dosed_at is None:
        return []
    after = [r for r in readings if r.measured_at > dosed_at]
    failures = []
    for name, measures in _VALUE_MEASURES:
        latest = latest_with(after, measures[0])
        if latest is None:
            continue
        names = {m.value for m in measures}
        flags = [
            f.flag for f in latest.flags if f.flag.measure in names and f.flag.severity.needs_action
        ]
        if not flags:
            continue
        worst = max(flags, key=lambda f: f.severity.rank)
        value = "/".join(str(latest.vitals.get(m)) for m in measures)
        failures.append(
            f"latest {name} {value} carries a {worst.severity.value} flag: "
            f"recheck {name} (acknowledging does not make it safe)"
        )
    return failures


def evaluate_gate(
    protocol: Protocol,
    dosed_at: datetime | None,
    readings: Sequence[Observation],
    now: datetime,
    *,
    criteria: DischargeCriteria | None = None,
    windows: Windows | None = None,
    skips: Mapping[str, CheckSkip] | None = None,
    include_minimum: bool = True,
    include_pre_discharge: bool = True,
) -> GateResult:
    """The discharge gate at ``now`` over every saved reading given.

    Readings in force count for values and checks; every reading's flags count for what is
    left unacknowledged. ``include_minimum=False`` and ``include_pre_discharge=False`` leave
    those conditions out (for the REMS proposal).
    """
    criteria = criteria or DischargeCriteria()
    everything = list(readings)
    current = chronological(in_force(everything))
    reasons: list[str] = []
    items: list[GateItem] = []

    def condition(label: str, failures: list[str]) -> None:
        items.append(GateItem(label, not failures, "; ".join(failures) or None))
        reasons.extend(failures)

    minimum = protocol.minimum_observation_min
    since = "since the end of the infusion" if protocol.infusion_min else "since dosing"
    observed = (
        f"{minimum - protocol.infusion_min} min observed {since}"
        if protocol.infusion_min
        else f"{minimum} min observed {since}"
    )
    if dosed_at is None:
        condition(observed, ["dose not recorded"])
    elif include_minimum:
        elapsed = minutes_between(dosed_at, now)
        short = now - dosed_at < timedelta(minutes=minimum)
        condition(
            observed,
            [
                f"minimum observation of {minimum} min after dosing not reached "
                f"({elapsed} min since dosing)"
            ]
            if short
            else [],
        )

    if include_pre_discharge:
        pre_label = protocol.pre_discharge.label if protocol.checks else "pre-discharge"
        pre_done = dosed_at is not None
        if dosed_at is not None:
            states = check_states(protocol, dosed_at, current, now, windows, skips=skips)
            pre = next((s for s in states if s.pre_discharge), None)
            pre_done = pre is None or pre.status is CheckStatus.DONE
            pre_label = pre.label if pre else pre_label
        condition(
            f"pre-discharge check ({pre_label}) done",
            [] if pre_done else [f"pre-discharge check ({pre_label}) not done"],
        )

    condition(
        "latest value of every measure without a medium or high flag",
        _value_flag_failures(current, dosed_at),
    )

    for measure, ok, wanted in (
        (
            Measure.MOAAS,
            lambda v: v >= criteria.moaas_min,
            f"must be {criteria.moaas_min}"
            if criteria.moaas_min >= 5
            else f"must be >= {criteria.moaas_min}",
        ),
        (Measure.CADSS, lambda v: v <= criteria.cadss_max, f"must be <= {criteria.cadss_max}"),
        (Measure.SPO2, lambda v: v >= criteria.spo2_min, f"must be >= {criteria.spo2_min}"),
    ):
        label = f"latest {measure.abbreviation} {wanted.removeprefix('must be ')}"
        latest = latest_with(current, measure)
        if latest is None:
            condition(label, [f"no {measure.abbreviation} recorded ({wanted})"])
            continue
        value = latest.vitals.get(measure)
        assert value is not None
        condition(
            label, [] if ok(value) else [f"latest {measure.abbreviation} is {value} ({wanted})"]
        )

    unacknowledged = [f for r in everything for f in r.flags if f.open_at(now)]
    count = len(unacknowledged)
    noun = "flag" if count == 1 else "flags"
    condition(
        "every medium/high flag acknowledged",
        [f"{count} medium/high {noun} not acknowledged"] if count else [],
    )

    return GateResult(ready=not reasons, reasons=tuple(reasons), items=tuple(items))


def dosing_refusals(protocol: Protocol, readings: Sequence[Observation]) -> list[str]:
    """Why dosing may not go ahead now: the baseline is not complete, or a before-dosing flag
    is unacknowledged (its acknowledgement is the clinician's review). Empty when it may.

    Every saved reading of a session not yet dosed is a before-dosing reading.
    """
    reasons = []
    current = in_force(readings)
    if completion_time(current, protocol.baseline) is None:
        missing = [
            m.value for m in protocol.baseline if not any(r.vitals.covers(m) for r in current)
        ]
        reasons.append(f"baseline check not done: record {' '.join(missing)} before dosing")
    open_flags = [f for r in readings for f in r.flags if f.is_open]
    if open_flags:
        count = len(open_flags)
        noun = "flag" if count == 1 else "flags"
        reasons.append(
            f"{count} before-dosing {noun} not acknowledged (a clinician reviews before dosing): "
            + "; ".join(f.flag.message for f in open_flags)
        )
    return reasons


def _rems_conditions_hold(
    protocol: Protocol,
    dosed_at: datetime,
    readings: list[Observation],
    moment: datetime,
    criteria: DischargeCriteria | None,
    windows: Windows | None,
) -> bool:
    known = [r for r in readings if r.measured_at <= moment]
    gate = evaluate_gate(
        protocol,
        dosed_at,
        known,
        moment,
        criteria=criteria,
        windows=windows,
        include_minimum=False,
        include_pre_discharge=False,
    )
    if not gate.ready:
        return False
    current = in_force(known)
    if not any(
        r.measured_at > dosed_at and all(r.vitals.covers(m) for m in FULL_SET) for r in current
    ):
        return False
    if any(c.at_min == PEAK_CHECK_MIN for c in protocol.checks):
        states = check_states(protocol, dosed_at, current, moment, windows)
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
) -> datetime | None:
    """The earliest moment from which, continuously until ``until``, every gate condition held
    except the minimum time and the pre-discharge check, with the +40 check done and a full set
    (BP, HR, SpO2, MOAA/S, CADSS) recorded in one reading after dosing; ``None`` if they do not
    hold at ``until``.

    The conditions change only when a reading is measured or a flag acknowledged, so only
    those moments are tried.
    """
    if dosed_at is None:
        return None
    everything = list(readings)
    moments = {dosed_at, until}
    for reading in everything:
        moments.add(reading.measured_at)
        moments.update(f.acknowledged_at for f in reading.flags if f.acknowledged_at)
    ordered = sorted(m for m in moments if dosed_at <= m <= until)
    start: datetime | None = None
    for moment in ordered:
        if _rems_conditions_hold(protocol, dosed_at, everything, moment, criteria, windows):
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
) -> int | None:
    """:func:`ready_to_leave_at` as whole minutes after dosing, rounded up."""
    moment = ready_to_leave_at(
        protocol, dosed_at, readings, until, criteria=criteria, windows=windows
    )
    if moment is None or dosed_at is None:
        return None
    return minutes_after(dosed_at, moment)
