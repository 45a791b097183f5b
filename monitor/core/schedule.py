"""Protocols, their check schedules, and the status of each check (docs/clinical.md, "Check windows
and statuses").

A check is due at a number of minutes from dosing. It is *done* when the readings that serve
it cover all its measures, at the time of the reading that completed it, and *late* if that
reading is after +10. A check not done is *upcoming* before -5, *due* in [-5, +10], *overdue*
in (+10, +30] and *missed* after +30; the pre-discharge check is never missed (overdue until
done). A reading serves at most one scheduled check, matched in two passes (:func:`_assign`).
The baseline check is due at dosing and counts every reading at or before it. Every medium or
high flag on a BP measured after dosing creates a BP + HR recheck due 15 min after it, also
once the reading is corrected; voiding the reading cancels it (still listed). A closed
record's checks never reached read ``not_reached`` (:func:`at_discharge`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from monitor.core.observations import Observation, chronological, corrections_of, in_force
from monitor.core.vitals import CheckMeasure

_FULL = (
    CheckMeasure.BP,
    CheckMeasure.HR,
    CheckMeasure.SPO2,
    CheckMeasure.MOAAS,
    CheckMeasure.CADSS,
)
_VITALS = (CheckMeasure.BP, CheckMeasure.HR, CheckMeasure.SPO2, CheckMeasure.MOAAS)
_ALERTNESS = (CheckMeasure.MOAAS, CheckMeasure.SPO2)


@dataclass(frozen=True)
class CheckSpec:
    """One scheduled check: minutes after dosing and the measures it needs."""

    at_min: int
    measures: tuple[CheckMeasure, ...]
    pre_discharge: bool = False

    @property
    def label(self) -> str:
        """``+40 min``."""
        return f"+{self.at_min} min"


@dataclass(frozen=True)
class Protocol:
    """A treatment's observation schedule."""

    key: str
    treatment: str
    baseline: tuple[CheckMeasure, ...]
    checks: tuple[CheckSpec, ...]
    minimum_observation_min: int
    infusion_min: int | None = None
    observe_after_infusion_min: int | None = None

    @property
    def pre_discharge(self) -> CheckSpec:
        """The pre-discharge check: the one marked so, else the last."""
        marked = [c for c in self.checks if c.pre_discharge]
        return marked[-1] if marked else max(self.checks, key=lambda c: c.at_min)


@dataclass(frozen=True)
class Windows:
    """Check windows in minutes relative to the due time."""

    early_min: int = 5
    on_time_min: int = 10
    late_min: int = 30
    recheck_min: int = 15


def esketamine(key: str, dose_mg: int) -> Protocol:
    """Spravato: minimum 120 min, the BP check at the +40 min peak."""
    return Protocol(
        key=key,
        treatment=f"intranasal esketamine {dose_mg} mg",
        baseline=_FULL,
        checks=(
            CheckSpec(15, _ALERTNESS),
            CheckSpec(30, _ALERTNESS),
            CheckSpec(40, _FULL),
            CheckSpec(60, _ALERTNESS),
            CheckSpec(90, _FULL),
            CheckSpec(120, _FULL, pre_discharge=True),
        ),
        minimum_observation_min=120,
    )


def ketamine_iv(infusion_min: int = 40, observe_after_min: int = 60) -> Protocol:
    """IV infusion: every 10 min during it, full check at its end, every 15 min after,
    pre-discharge at the end of the minimum (end of infusion + 60 min by default)."""
    during = [CheckSpec(t, _VITALS) for t in range(10, infusion_min, 10)]
    end = infusion_min + observe_after_min
    after = [CheckSpec(t, _VITALS) for t in range(infusion_min + 15, end, 15)]
    return Protocol(
        key="ketamine-iv",
        treatment=f"IV ketamine infusion over {infusion_min} min",
        baseline=_FULL,
        checks=(
            *during,
            CheckSpec(infusion_min, _FULL),
            *after,
            CheckSpec(end, _FULL, pre_discharge=True),
        ),
        minimum_observation_min=end,
        infusion_min=infusion_min,
        observe_after_infusion_min=observe_after_min,
    )


def ketamine_im() -> Protocol:
    """IM injection: minimum 60 min."""
    return Protocol(
        key="ketamine-im",
        treatment="IM ketamine injection",
        baseline=_FULL,
        checks=(
            CheckSpec(15, _VITALS),
            CheckSpec(30, _FULL),
            CheckSpec(45, _VITALS),
            CheckSpec(60, _FULL, pre_discharge=True),
        ),
        minimum_observation_min=60,
    )


def default_protocols() -> dict[str, Protocol]:
    """The four shipped protocols, by key."""
    return {
        "esketamine-56": esketamine("esketamine-56", 56),
        "esketamine-84": esketamine("esketamine-84", 84),
        "ketamine-iv": ketamine_iv(),
        "ketamine-im": ketamine_im(),
    }


def infusion_minutes(dosed_at: datetime, infusion_ended_at: datetime) -> int:
    """The actual infusion length in whole minutes, rounded up (never shorter than it was)."""
    return max(1, math.ceil((infusion_ended_at - dosed_at) / timedelta(minutes=1)))


def for_infusion(protocol: Protocol, actual_min: int | None) -> Protocol:
    """The IV schedule once the actual infusion length is known.

    The minimum observation and the checks from the end of the infusion on count from the
    actual end. The shipped schedule is rebuilt for the actual length (a check every 10 min
    during it); a clinic's own checks at or after the configured end move by the difference.
    """
    planned = protocol.infusion_min
    if actual_min is None or planned is None or actual_min == planned:
        return protocol
    after = protocol.observe_after_infusion_min or protocol.minimum_observation_min - planned
    generated = ketamine_iv(planned, after)
    if protocol.checks == generated.checks:
        rebuilt = ketamine_iv(actual_min, after)
        return Protocol(
            protocol.key,
            rebuilt.treatment if protocol.treatment == generated.treatment else protocol.treatment,
            protocol.baseline,
            rebuilt.checks,
            rebuilt.minimum_observation_min,
            actual_min,
            after,
        )
    shift = actual_min - planned
    checks = tuple(
        CheckSpec(c.at_min + shift, c.measures, c.pre_discharge) if c.at_min >= planned else c
        for c in protocol.checks
        if c.at_min >= planned or c.at_min < actual_min
    )
    return Protocol(
        protocol.key,
        protocol.treatment,
        protocol.baseline,
        checks,
        protocol.minimum_observation_min + shift,
        actual_min,
        after,
    )


class CheckStatus(StrEnum):
    """Where a check stands."""

    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"
    MISSED = "missed"
    #: A discharged session's check not yet due when it ended (:func:`at_discharge`).
    NOT_REACHED = "not_reached"


class CheckKind(StrEnum):
    """Why a check exists."""

    BASELINE = "baseline"
    SCHEDULED = "scheduled"
    RECHECK = "recheck"


@dataclass(frozen=True)
class CheckSkip:
    """Why a check was not done, as a nurse recorded it."""

    by: str
    at: datetime
    reason: str


@dataclass(frozen=True)
class CheckState:
    """A check and where it stands at one moment."""

    label: str
    kind: CheckKind
    due_at: datetime | None
    measures: tuple[CheckMeasure, ...]
    status: CheckStatus
    late: bool = False
    pre_discharge: bool = False
    done_at: datetime | None = None
    skip: CheckSkip | None = None
    #: For a recheck: the reading whose flagged BP created it.
    reading_id: int | None = None
    #: The ids of the readings that served it (holding one of its measures), in time order.
    served_by: tuple[int, ...] = ()
    #: Not done: the measures its readings have not covered yet.
    missing: tuple[CheckMeasure, ...] = ()
    #: Why a recheck was cancelled ("reading voided"): listed, never an alarm, never missed.
    cancelled: str | None = None
    #: Not reached: a discharge by override ended the observation before its minimum.
    ended_early: bool = False

    @property
    def is_alarm(self) -> bool:
        """An overdue check, or a missed one nobody has explained, is a medium alarm."""
        return self.can_skip

    @property
    def pending(self) -> bool:
        """Still to be done: upcoming, due or overdue, not explained away nor cancelled."""
        return (
            self.status in (CheckStatus.UPCOMING, CheckStatus.DUE, CheckStatus.OVERDUE)
            and self.skip is None
            and self.cancelled is None
        )

    @property
    def can_skip(self) -> bool:
        """Only an overdue or missed check (not cancelled) can be explained as not done."""
        return (
            self.status in (CheckStatus.OVERDUE, CheckStatus.MISSED)
            and self.skip is None
            and self.cancelled is None
        )


def completion_time(
    readings: Iterable[Observation], measures: Sequence[CheckMeasure]
) -> datetime | None:
    """When readings (in time order) first cover every measure between them, or ``None``."""
    missing = set(measures)
    for reading in chronological(list(readings)):
        missing -= {m for m in missing if reading.vitals.covers(m)}
        if not missing:
            return reading.measured_at
    return None


def _window_status(
    due_at: datetime, now: datetime, windows: Windows, *, never_missed: bool = False
) -> CheckStatus:
    offset = now - due_at
    if offset < timedelta(minutes=-windows.early_min):
        return CheckStatus.UPCOMING
    if offset <= timedelta(minutes=windows.on_time_min):
        return CheckStatus.DUE
    if never_missed or offset <= timedelta(minutes=windows.late_min):
        return CheckStatus.OVERDUE
    return CheckStatus.MISSED


@dataclass(frozen=True)
class _Slot:
    spec: CheckSpec
    due_at: datetime
    pre_discharge: bool


def _assign(
    slots: list[_Slot], readings: list[Observation], windows: Windows
) -> list[list[Observation]]:
    """Which readings serve which scheduled check: each reading serves at most one.

    1. Each reading goes to the check whose on-time window holds it and whose due time is
       nearest (a tie goes to the later check).
    2. Each reading left over goes, in time order, to the check not yet done whose late window
       holds it and whose due time is nearest (a tie goes to the earlier check; the
       pre-discharge check's late window never closes). A full set at +52 is the +40 check
       done late, not the +30 one (clinical revision 3).
    """
    early = timedelta(minutes=windows.early_min)
    on_time = timedelta(minutes=windows.on_time_min)
    late = timedelta(minutes=windows.late_min)
    served: list[list[Observation]] = [[] for _ in slots]
    left: list[Observation] = []
    for reading in readings:
        holding = [
            index
            for index, slot in enumerate(slots)
            if slot.due_at - early <= reading.measured_at <= slot.due_at + on_time
        ]
        if not holding:
            left.append(reading)
            continue
        best = min(
            holding,
            key=lambda i: (abs(reading.measured_at - slots[i].due_at), -slots[i].spec.at_min),
        )
        served[best].append(reading)
    for reading in left:
        when = reading.measured_at
        open_late = [
            index
            for index, slot in enumerate(slots)
            if slot.due_at + on_time < when
            and (slot.pre_discharge or when <= slot.due_at + late)
            and completion_time(served[index], slot.spec.measures) is None
        ]
        if open_late:
            best = min(open_late, key=lambda i: (abs(when - slots[i].due_at), slots[i].spec.at_min))
            served[best].append(reading)
    return served


def _serving(readings: Iterable[Observation], measures: Sequence[CheckMeasure]) -> tuple[int, ...]:
    return tuple(r.id for r in readings if any(r.vitals.covers(m) for m in measures))


def _missing(
    readings: Sequence[Observation], measures: Sequence[CheckMeasure]
) -> tuple[CheckMeasure, ...]:
    return tuple(m for m in measures if not any(r.vitals.covers(m) for r in readings))


def _scheduled(
    protocol: Protocol,
    dosed_at: datetime,
    readings: list[Observation],
    now: datetime,
    windows: Windows,
) -> list[CheckState]:
    pre = protocol.pre_discharge
    slots = [
        _Slot(spec, dosed_at + timedelta(minutes=spec.at_min), spec is pre)
        for spec in sorted(protocol.checks, key=lambda c: c.at_min)
    ]
    after = [r for r in readings if r.measured_at > dosed_at]
    states = []
    for slot, served in zip(slots, _assign(slots, after, windows), strict=True):
        done_at = completion_time(served, slot.spec.measures)
        on_time = slot.due_at + timedelta(minutes=windows.on_time_min)
        status = (
            CheckStatus.DONE
            if done_at is not None
            else _window_status(slot.due_at, now, windows, never_missed=slot.pre_discharge)
        )
        states.append(
            CheckState(
                slot.spec.label,
                CheckKind.SCHEDULED,
                slot.due_at,
                slot.spec.measures,
                status,
                late=done_at is not None and done_at > on_time,
                pre_discharge=slot.pre_discharge,
                done_at=done_at,
                served_by=_serving(served, slot.spec.measures),
                missing=_missing(served, slot.spec.measures),
            )
        )
    return states


def _baseline(
    protocol: Protocol, dosed_at: datetime | None, readings: list[Observation]
) -> CheckState:
    before = readings if dosed_at is None else [r for r in readings if r.measured_at <= dosed_at]
    done_at = completion_time(before, protocol.baseline)
    if done_at is not None:
        status = CheckStatus.DONE
    else:
        # Dosing without a complete baseline (an override) leaves it missed.
        status = CheckStatus.DUE if dosed_at is None else CheckStatus.MISSED
    return CheckState(
        "baseline",
        CheckKind.BASELINE,
        dosed_at,
        protocol.baseline,
        status,
        done_at=done_at,
        served_by=_serving(before, protocol.baseline),
        missing=_missing(before, protocol.baseline),
    )


RECHECK_PREFIX = "BP recheck"


#: Why a recheck is cancelled when the reading that asked for it is voided.
RECHECK_VOIDED = "reading voided"


def _rechecks(
    dosed_at: datetime, readings: list[Observation], now: datetime, windows: Windows
) -> list[CheckState]:
    """A BP + HR recheck 15 min after each BP measured after dosing with a medium/high flag.

    ``readings``: every saved one, in time order. Readings in force after the flagged one
    serve it (sooner than 15 min included; they may also serve a scheduled check), but not its
    own corrections (they restate it). It stays listed once done, and once the flagged reading
    is corrected (a correction never removes what was asked of the nurse). Voiding the flagged
    reading (or the correction that last restated it) cancels it: listed, never an alarm; not
    done, it stays ``upcoming`` (``not_reached`` once discharged).
    """
    measures = (CheckMeasure.BP, CheckMeasure.HR)
    chains = corrections_of(readings)
    voided = {r.id for r in readings if r.voided}
    states: list[CheckState] = []
    labels: set[str] = set()
    for flagged in readings:
        if flagged.measured_at <= dosed_at or not flagged.has_bp() or not flagged.bp_flagged():
            continue
        chain = chains.get(flagged.id, ())
        due_at = flagged.measured_at + timedelta(minutes=windows.recheck_min)
        closes = due_at + timedelta(minutes=windows.late_min)
        later = [
            r
            for r in readings
            if r.in_force
            and (flagged.measured_at, flagged.id) < (r.measured_at, r.id)
            and r.measured_at <= closes
            and r.id not in chain
        ]
        done_at = completion_time(later, measures)
        cancelled = RECHECK_VOIDED if (chain[-1] if chain else flagged.id) in voided else None
        if done_at is not None:
            status = CheckStatus.DONE
        elif cancelled is not None:
            status = CheckStatus.UPCOMING
        else:
            status = _window_status(due_at, now, windows)
        offset = math.floor((due_at - dosed_at) / timedelta(minutes=1))
        label = f"{RECHECK_PREFIX} +{offset} min"
        serial = 2
        while label in labels:
            label = f"{RECHECK_PREFIX} +{offset} min #{serial}"
            serial += 1
        labels.add(label)
        states.append(
            CheckState(
                label,
                CheckKind.RECHECK,
                due_at,
                measures,
                status,
                late=done_at is not None
                and done_at > due_at + timedelta(minutes=windows.on_time_min),
                done_at=done_at,
                reading_id=flagged.id,
                served_by=_serving(
                    (r for r in later if done_at is None or r.measured_at <= done_at), measures
                ),
                missing=_missing(later, measures),
                cancelled=cancelled,
            )
        )
    return states


def check_states(
    protocol: Protocol,
    dosed_at: datetime | None,
    readings: Sequence[Observation],
    now: datetime,
    windows: Windows | None = None,
    *,
    skips: Mapping[str, CheckSkip] | None = None,
) -> list[CheckState]:
    """Every check of a session at ``now``, in due order.

    ``readings`` are the session's saved readings; only those in force serve checks. The
    caller decides which readings exist by ``now`` (the gate counts readings timed up to
    2 min ahead). ``skips`` are the reasons recorded for checks not done, by label. Until
    dosing is recorded only the baseline check is listed.
    """
    windows = windows or Windows()
    skips = skips or {}
    saved = chronological(list(readings))
    current = in_force(saved)
    states = [_baseline(protocol, dosed_at, current)]
    if dosed_at is not None:
        states += _scheduled(protocol, dosed_at, current, now, windows)
        states += _rechecks(dosed_at, saved, now, windows)
        states.sort(key=lambda c: (c.due_at or dosed_at, c.kind is CheckKind.RECHECK))
    # A reason stays with its check even if a late reading completes it after all.
    return [replace(s, skip=skips[s.label]) if s.label in skips else s for s in states]


def at_discharge(states: Sequence[CheckState], *, ended_early: bool = False) -> list[CheckState]:
    """A discharged session's checks as its record keeps them, judged at the discharge.

    One rule for every view of a closed record (log, sign-off, ``session show``, exports,
    review counts): a check done is done (on time or late); a check not done whose window had
    opened is **missed**, whether its window had closed (missed already) or was still open
    when the patient left (due or overdue then: the observation ended before it was done, the
    pre-discharge check included); a check not yet due is **not reached** (never ``upcoming``
    once discharged). ``ended_early``: the discharge overrode the gate before the minimum
    observation (:func:`ends_early`), so its checks not reached read "observation ended early
    (override)" and are counted apart from missed ones. A cancelled recheck is never missed. A
    session never dosed keeps its baseline as it was.
    """
    closed = []
    for s in states:
        if s.status in (CheckStatus.DUE, CheckStatus.OVERDUE) and s.due_at is not None:
            s = replace(s, status=CheckStatus.MISSED)
        elif s.status is CheckStatus.UPCOMING:
            s = replace(
                s, status=CheckStatus.NOT_REACHED, ended_early=ended_early and not s.cancelled
            )
        closed.append(s)
    return closed


def ends_early(protocol: Protocol, dosed_at: datetime | None, discharged_at: datetime) -> bool:
    """A discharge before the minimum observation since dosing (only an override of the gate
    lets one through): the observation ended early."""
    minimum = timedelta(minutes=protocol.minimum_observation_min)
    return dosed_at is not None and discharged_at < dosed_at + minimum


def not_reached(check: CheckState) -> bool:
    """Of a discharged session's checks (:func:`at_discharge`): not yet due when it ended."""
    return check.status is CheckStatus.NOT_REACHED


#: How a closed record's check never reached reads when the observation ended early.
ENDED_EARLY = "observation ended early (override)"


def status_text(check: CheckState, discharged_at: datetime | None = None) -> str:
    """A check's status in words: ``cancelled: reading voided`` for a cancelled recheck;
    ``not reached`` for a closed record's check not yet due when it ended (also an
    ``upcoming`` one judged at or after ``discharged_at`` by a caller that did not close it),
    or "observation ended early (override)"; else the status as judged."""
    if check.cancelled is not None:
        return f"cancelled: {check.cancelled}"
    if check.status is CheckStatus.NOT_REACHED or (
        discharged_at is not None and check.status is CheckStatus.UPCOMING
    ):
        return ENDED_EARLY if check.ended_early else "not reached"
    return check.status.value


def served_checks(states: Sequence[CheckState]) -> dict[int, str]:
    """Reading id -> the label of the check it served: the baseline or its scheduled check
    (one at most), else the first BP recheck it served; readings that served none left out."""
    served: dict[int, str] = {}
    for check in sorted(states, key=lambda c: c.kind is CheckKind.RECHECK):
        for reading_id in check.served_by:
            served.setdefault(reading_id, check.label)
    return served


def next_check(states: Sequence[CheckState]) -> CheckState | None:
    """The check a nurse should do next: the earliest still pending."""
    pending = [s for s in states if s.pending]
    return pending[0] if pending else None
