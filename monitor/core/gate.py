"""The discharge gate and the REMS "ready to leave at" minute (clinical.md).

Ready only when all hold, each failing one a reason shown to the nurse:
the minimum observation time has passed since dosing; the pre-discharge check is done (late
counts); the latest BP carries no medium or high flag; the latest MOAA/S is 5, CADSS <= 4 and
SpO2 >= 94; and no medium or high flag is left unacknowledged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.core.observations import Observation, chronological, latest_with
from monitor.core.schedule import CheckStatus, Protocol, Windows, check_states
from monitor.core.vitals import Measure


@dataclass(frozen=True)
class DischargeCriteria:
    """The values the latest readings must meet before discharge."""

    moaas: int = 5
    cadss_max: int = 4
    spo2_min: int = 94


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


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes elapsed from ``start`` to ``end`` (rounded down)."""
    return math.floor((end - start) / timedelta(minutes=1))


def evaluate_gate(
    protocol: Protocol,
    dosed_at: datetime | None,
    readings: Sequence[Observation],
    now: datetime,
    *,
    criteria: DischargeCriteria | None = None,
    windows: Windows | None = None,
    include_minimum: bool = True,
) -> GateResult:
    """The discharge gate at ``now`` over the readings in force measured by then.

    ``include_minimum=False`` leaves out the minimum observation time (for the REMS question
    "if there were no 2-hour minimum, when would this patient have been ready to leave?").
    """
    criteria = criteria or DischargeCriteria()
    current = [r for r in readings if r.measured_at <= now]
    reasons: list[str] = []
    items: list[GateItem] = []

    def condition(label: str, failure: str | None) -> None:
        items.append(GateItem(label, failure is None, failure))
        if failure is not None:
            reasons.append(failure)

    minimum = protocol.minimum_observation_min
    if dosed_at is None:
        condition(f"{minimum} min observed since dosing", "dose not recorded")
    elif include_minimum:
        elapsed = minutes_between(dosed_at, now)
        short = now - dosed_at < timedelta(minutes=minimum)
        condition(
            f"{minimum} min observed since dosing",
            f"minimum observation of {minimum} min not reached ({elapsed} min since dosing)"
            if short
            else None,
        )

    pre_label = protocol.pre_discharge.label
    pre_done = False
    if dosed_at is not None:
        states = check_states(protocol, dosed_at, current, now, windows)
        pre = next((s for s in states if s.pre_discharge), None)
        pre_done = pre is None or pre.status is CheckStatus.DONE
        pre_label = pre.label if pre else pre_label
    condition(
        f"pre-discharge check ({pre_label}) done",
        None if pre_done else f"pre-discharge check ({pre_label}) not done",
    )

    latest_bp = latest_with(current, Measure.SYSTOLIC)
    bp_failure = None
    if latest_bp is not None and latest_bp.bp_flagged():
        worst = max(
            (f.flag for f in latest_bp.flags if f.flag.measure in ("systolic", "diastolic")),
            key=lambda f: f.severity.rank,
        )
        bp_failure = (
            f"latest BP {latest_bp.vitals.systolic}/{latest_bp.vitals.diastolic} carries a "
            f"{worst.severity.value} flag: recheck BP"
        )
    condition("latest BP without a medium or high flag", bp_failure)

    for measure, ok, wanted in (
        (Measure.MOAAS, lambda v: v == criteria.moaas, f"must be {criteria.moaas}"),
        (Measure.CADSS, lambda v: v <= criteria.cadss_max, f"must be <= {criteria.cadss_max}"),
        (Measure.SPO2, lambda v: v >= criteria.spo2_min, f"must be >= {criteria.spo2_min}"),
    ):
        label = f"latest {measure.abbreviation} {wanted.removeprefix('must be ')}"
        latest = latest_with(current, measure)
        if latest is None:
            condition(label, f"no {measure.abbreviation} recorded ({wanted})")
            continue
        value = latest.vitals.get(measure)
        assert value is not None
        condition(
            label, None if ok(value) else f"latest {measure.abbreviation} is {value} ({wanted})"
        )

    unacknowledged = [f for r in current for f in r.flags if f.open_at(now)]
    count = len(unacknowledged)
    noun = "flag" if count == 1 else "flags"
    condition(
        "every medium/high flag acknowledged",
        f"{count} medium/high {noun} not acknowledged" if count else None,
    )

    return GateResult(ready=not reasons, reasons=tuple(reasons), items=tuple(items))


def ready_to_leave_at(
    protocol: Protocol,
    dosed_at: datetime | None,
    readings: Sequence[Observation],
    until: datetime,
    *,
    criteria: DischargeCriteria | None = None,
    windows: Windows | None = None,
) -> datetime | None:
    """The first time at or before ``until`` when every gate condition but the minimum
    observation time held, or ``None``.

    The conditions change only when a reading is measured or a flag acknowledged, so only
    those moments are tried.
    """
    if dosed_at is None:
        return None
    moments = {dosed_at}
    for reading in chronological(list(readings)):
        moments.add(reading.measured_at)
        moments.update(f.acknowledged_at for f in reading.flags if f.acknowledged_at)
    for moment in sorted(m for m in moments if dosed_at <= m <= until):
        gate = evaluate_gate(
            protocol,
            dosed_at,
            readings,
            moment,
            criteria=criteria,
            windows=windows,
            include_minimum=False,
        )
        if gate.ready:
            return moment
    return None


def ready_to_leave_minute(
    protocol: Protocol,
    dosed_at: datetime | None,
    readings: Sequence[Observation],
    until: datetime,
    *,
    criteria: DischargeCriteria | None = None,
    windows: Windows | None = None,
) -> int | None:
    """:func:`ready_to_leave_at` as whole minutes after dosing."""
    moment = ready_to_leave_at(
        protocol, dosed_at, readings, until, criteria=criteria, windows=windows
    )
    if moment is None or dosed_at is None:
        return None
    return minutes_between(dosed_at, moment)
