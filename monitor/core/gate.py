"""The discharge gate and the dosing gate (docs/clinical.md, "Discharge gate").

The discharge gate (revision 3) is judged on every saved reading of the session measured by
the judging moment. Ready only when all hold, each failing one a reason shown to the nurse: the
minimum observation has passed since dosing (IV: since the recorded end of the infusion, which
must be recorded); the pre-discharge check is done (late counts); a full set was measured
within 30 min; the latest value of every measure after dosing raises no medium or high flag
under the rules and baseline in force; the latest MOAA/S, CADSS and SpO2 meet the criteria and
BP is at most 159/99 or no higher than the baseline; no medium or high flag is left
unacknowledged, those of corrected readings included; no serious event awaits a clinician's
review; and, at discharge, the escort is recorded and the no-driving instruction given.
The REMS proposal is in :mod:`monitor.core.ready_minute`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from monitor.core.observations import Observation, chronological, in_force, latest_with
from monitor.core.rules import Flag, Thresholds, evaluate
from monitor.core.schedule import (
    CheckSkip,
    CheckStatus,
    Protocol,
    Windows,
    check_states,
    completion_time,
)
from monitor.core.vitals import CheckMeasure, Measure, Vitals

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
    """What the discharge gate asks (docs/clinical.md, "Discharge gate"): the latest
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


@dataclass(frozen=True)
class EventAlarm:
    """A serious event's alarm (docs/clinical.md, "Serious events"): open from the event
    until a clinician acknowledges it (that acknowledgement is the clinician's review)."""

    at: datetime
    acknowledged_at: datetime | None
    label: str

    def open_at(self, when: datetime) -> bool:
        """Open at ``when``: the event happened and no clinician had reviewed it yet."""
        return self.at <= when and (self.acknowledged_at is None or self.acknowledged_at > when)


@dataclass(frozen=True)
class Departure:
    """What the discharge itself records: the escort (a name or relation, or "none: why")
    and whether the no-driving instruction was given."""

    escort: str | None
    instructions_given: bool | None


@dataclass(frozen=True)
class Patient:
    """What the value rules need to know of the patient and the clinic's rules: the age (the
    before-dosing BP limit) and the thresholds in force (``None``: judge by the stored flags
    only)."""

    age: int | None = None
    thresholds: Thresholds | None = None


def baseline_of(readings: Sequence[Observation], dosed_at: datetime | None) -> Vitals:
    """The baseline (docs/clinical.md, "Thresholds and flags"): the latest value of each measure
    measured at or before dosing, among the readings in force."""
    if dosed_at is None:
        return Vitals()
    before = chronological([r for r in in_force(readings) if r.measured_at <= dosed_at])
    values: dict[str, int] = {}
    for reading in before:
        values.update({m.value: v for m, v in reading.vitals.items()})
    return Vitals(**values)


def full_set(protocol: Protocol) -> tuple[CheckMeasure, ...]:
    """The full set the gate asks within ``recent_set_min`` of discharge: BP, HR, SpO2,
    MOAA/S, and CADSS for esketamine."""
    if protocol.key.startswith("esketamine"):
        return FULL_SET
    return tuple(m for m in FULL_SET if m is not CheckMeasure.CADSS)


def _flags_now(
    latest: Observation, baseline: Vitals, patient: Patient, names: set[str]
) -> list[Flag]:
    """The medium/high flags ``latest`` carries on ``names``: those stored with it, and those
    the rules and baseline in force raise on it now (acknowledging makes no value safe)."""
    flags = [f.flag for f in latest.flags if f.flag.measure in names]
    if patient.thresholds is not None:
        flags += evaluate(
            latest.vitals,
            before_dosing=False,
            age=patient.age,
            baseline=baseline,
            thresholds=patient.thresholds,
        )
    return [f for f in flags if f.measure in names and f.severity.needs_action]


def value_items(
    current: Sequence[Observation],
    dosed_at: datetime | None,
    criteria: DischargeCriteria,
    patient: Patient,
) -> list[GateItem]:
    """The gate's value conditions (each item's label starts with "latest"): the latest value
    of every measure after dosing raises no medium or high flag under the rules and baseline
    in force; MOAA/S, CADSS and SpO2 within the criteria; BP at most the ceiling or no higher
    than the baseline. ``current`` holds the readings in force measured by the judging moment."""
    items: list[GateItem] = []
    after = [r for r in current if dosed_at is not None and r.measured_at > dosed_at]
    baseline = baseline_of(current, dosed_at)
    failures = []
    for name, measures in _VALUE_MEASURES:
        latest = latest_with(after, measures[0])
        if latest is None:
            continue
        flags = _flags_now(latest, baseline, patient, {m.value for m in measures})
        if not flags:
            continue
        worst = max(flags, key=lambda f: f.severity.rank)
        value = "/".join(str(latest.vitals.get(m)) for m in measures)
        failures.append(
            f"latest {name} {value} raises a {worst.severity.value} flag ({worst.message}): "
            f"recheck {name} (acknowledging does not make it safe)"
        )
    items.append(
        GateItem(
            "latest value of every measure without a medium or high flag",
            not failures,
            "; ".join(failures) or None,
        )
    )
    moaas = (
        f"must be {criteria.moaas_min}"
        if criteria.moaas_min >= 5
        else f"must be >= {criteria.moaas_min}"
    )
    for measure, ok, wanted in (
        (Measure.MOAAS, lambda v: v >= criteria.moaas_min, moaas),
        (Measure.CADSS, lambda v: v <= criteria.cadss_max, f"must be <= {criteria.cadss_max}"),
        (Measure.SPO2, lambda v: v >= criteria.spo2_min, f"must be >= {criteria.spo2_min}"),
    ):
        label = f"latest {measure.abbreviation} {wanted.removeprefix('must be ')}"
        latest = latest_with(list(current), measure)
        if latest is None:
            items.append(GateItem(label, False, f"no {measure.abbreviation} recorded ({wanted})"))
            continue
        found = latest.vitals.get(measure)
        assert found is not None
        bad = None if ok(found) else f"latest {measure.abbreviation} is {found} ({wanted})"
        items.append(GateItem(label, bad is None, bad))
    items.append(_bp_ceiling(after, baseline, criteria))
    return items


def _bp_ceiling(
    after: list[Observation], baseline: Vitals, criteria: DischargeCriteria
) -> GateItem:
    ceiling = f"{criteria.sbp_max}/{criteria.dbp_max}"
    label = f"latest BP <= {ceiling} or no higher than baseline"
    latest = latest_with(after, Measure.SYSTOLIC)
    if latest is None or latest.vitals.systolic is None or latest.vitals.diastolic is None:
        return GateItem(label, False, f"no BP recorded after dosing (must be <= {ceiling})")
    sbp, dbp = latest.vitals.systolic, latest.vitals.diastolic
    sbp_limit = max(criteria.sbp_max, baseline.systolic or 0)
    dbp_limit = max(criteria.dbp_max, baseline.diastolic or 0)
    if sbp <= sbp_limit and dbp <= dbp_limit:
        return GateItem(label, True)
    base = (
        f", baseline {baseline.systolic}/{baseline.diastolic}"
        if baseline.systolic is not None and baseline.diastolic is not None
        else ", no baseline"
    )
    return GateItem(label, False, f"latest BP is {sbp}/{dbp} (must be <= {ceiling}{base})")


def _minimum_item(
    protocol: Protocol,
    dosed_at: datetime | None,
    infusion_ended_at: datetime | None,
    now: datetime,
) -> GateItem:
    minimum = protocol.minimum_observation_min
    if protocol.infusion_min is not None:
        after = minimum - protocol.infusion_min
        label = f"{after} min observed since the end of the infusion"
        if dosed_at is None:
            return GateItem(label, False, "dose not recorded")
        if infusion_ended_at is None:
            return GateItem(
                label,
                False,
                "infusion end not recorded: record when the infusion ended "
                "(i on the station, or session infusion-end)",
            )
        elapsed = minutes_between(infusion_ended_at, now)
        if now - infusion_ended_at < timedelta(minutes=after):
            return GateItem(
                label,
                False,
                f"minimum observation of {after} min after the end of the infusion not reached "
                f"({elapsed} min since it ended)",
            )
        return GateItem(label, True)
    label = f"{minimum} min observed since dosing"
    if dosed_at is None:
        return GateItem(label, False, "dose not recorded")
    if now - dosed_at < timedelta(minutes=minimum):
        return GateItem(
            label,
            False,
            f"minimum observation of {minimum} min after dosing not reached "
            f"({minutes_between(dosed_at, now)} min since dosing)",
        )
    return GateItem(label, True)


def _recent_set_item(
    protocol: Protocol, current: list[Observation], now: datetime, criteria: DischargeCriteria
) -> GateItem:
    wanted = full_set(protocol)
    window = criteria.recent_set_min
    label = f"a full set measured within {window} min"
    since = now - timedelta(minutes=window)
    recent = [r for r in current if since <= r.measured_at <= now]
    missing = [m.value for m in wanted if not any(r.vitals.covers(m) for r in recent)]
    if not missing:
        return GateItem(label, True)
    return GateItem(
        label,
        False,
        f"no full set in the last {window} min: record {' '.join(missing)} before discharge",
    )


def _departure_items(departure: Departure) -> list[GateItem]:
    escort = (departure.escort or "").strip()
    return [
        GateItem(
            "escort recorded",
            bool(escort),
            None if escort else "escort not recorded: a name or relation, or none: why",
        ),
        GateItem(
            "no-driving instruction given",
            bool(departure.instructions_given),
            None
            if departure.instructions_given
            else "no-driving instruction not given: tell the patient not to drive until the "
            "next day after a restful sleep",
        ),
    ]


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
    patient: Patient | None = None,
    alarms: Sequence[EventAlarm] = (),
    infusion_ended_at: datetime | None = None,
    departure: Departure | None = None,
) -> GateResult:
    """The discharge gate at ``now`` (docs/clinical.md, "Discharge gate").

    Only readings measured by ``now`` count (a reading timed ahead counts from its time).
    Readings in force count for values and checks; every reading's flags count for what is
    left unacknowledged. ``patient`` gives the age and the thresholds in force, so that the
    latest values are judged again under the rules and baseline in force. ``departure`` (the
    escort and the no-driving instruction) is judged when given: the discharge gives it.
    ``include_minimum=False`` and ``include_pre_discharge=False`` leave those conditions out.
    """
    criteria = criteria or DischargeCriteria()
    patient = patient or Patient()
    everything = [r for r in readings if r.measured_at <= now]
    current = chronological(in_force(everything))
    items: list[GateItem] = []

    if include_minimum or dosed_at is None:
        items.append(_minimum_item(protocol, dosed_at, infusion_ended_at, now))
    elif protocol.infusion_min is not None and infusion_ended_at is None:
        items.append(_minimum_item(protocol, dosed_at, None, now))

    if include_pre_discharge:
        pre_label = protocol.pre_discharge.label if protocol.checks else "pre-discharge"
        pre_done = dosed_at is not None
        if dosed_at is not None:
            states = check_states(protocol, dosed_at, current, now, windows, skips=skips)
            pre = next((s for s in states if s.pre_discharge), None)
            pre_done = pre is None or pre.status is CheckStatus.DONE
            pre_label = pre.label if pre else pre_label
        items.append(
            GateItem(
                f"pre-discharge check ({pre_label}) done",
                pre_done,
                None if pre_done else f"pre-discharge check ({pre_label}) not done",
            )
        )
        items.append(_recent_set_item(protocol, current, now, criteria))

    items.extend(value_items(current, dosed_at, criteria, patient))

    unacknowledged = [f for r in everything for f in r.flags if f.open_at(now)]
    count = len(unacknowledged)
    noun = "flag" if count == 1 else "flags"
    items.append(
        GateItem(
            "every medium/high flag acknowledged",
            not count,
            f"{count} medium/high {noun} not acknowledged" if count else None,
        )
    )
    open_alarms = [a for a in alarms if a.open_at(now)]
    items.append(
        GateItem(
            "every serious event reviewed by a clinician",
            not open_alarms,
            (
                f"serious event not reviewed by a clinician: {open_alarms[0].label}"
                if len(open_alarms) == 1
                else f"{len(open_alarms)} serious events not reviewed by a clinician"
            )
            if open_alarms
            else None,
        )
    )
    if departure is not None:
        items.extend(_departure_items(departure))
    reasons = tuple(i.detail or i.label for i in items if not i.ok)
    return GateResult(ready=not reasons, reasons=reasons, items=tuple(items))


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
