"""Protocols, their check schedules, and the status of each check (clinical.md).

A check is due at a number of minutes from dosing. Readings measured in [-5, +10] min of the
due time count toward it; it is *done* when they cover all its measures. Readings in
(+10, +30] can still complete it: it is then done *late*. A check not done is *upcoming*
before -5, *due* in [-5, +10], *overdue* in (+10, +30] and *missed* after +30. The baseline
check is due at dosing and counts every reading taken before dosing. While the latest BP
carries a medium or high flag, a BP + HR recheck falls due 15 min after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from monitor.core.observations import Observation, chronological
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


class CheckStatus(StrEnum):
    """Where a check stands."""

    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"
    MISSED = "missed"


class CheckKind(StrEnum):
    """Why a check exists."""

    BASELINE = "baseline"
    SCHEDULED = "scheduled"
    RECHECK = "recheck"


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

    @property
    def is_alarm(self) -> bool:
        """An overdue check is a medium alarm on the station."""
        return self.status is CheckStatus.OVERDUE


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


def _window_status(due_at: datetime, now: datetime, windows: Windows) -> CheckStatus:
    offset = now - due_at
    if offset < timedelta(minutes=-windows.early_min):
        return CheckStatus.UPCOMING
    if offset <= timedelta(minutes=windows.on_time_min):
        return CheckStatus.DUE
    if offset <= timedelta(minutes=windows.late_min):
        return CheckStatus.OVERDUE
    return CheckStatus.MISSED


def _timed_check(
    label: str,
    kind: CheckKind,
    due_at: datetime,
    measures: tuple[CheckMeasure, ...],
    candidates: list[Observation],
    now: datetime,
    windows: Windows,
    *,
    pre_discharge: bool = False,
) -> CheckState:
    """The status of a check due at ``due_at``, counting ``candidates`` in its windows."""
    opens = due_at - timedelta(minutes=windows.early_min)
    on_time = due_at + timedelta(minutes=windows.on_time_min)
    closes = due_at + timedelta(minutes=windows.late_min)
    in_window = [r for r in candidates if opens <= r.measured_at <= closes and r.measured_at <= now]
    done_at = completion_time(in_window, measures)
    if done_at is not None:
        return CheckState(
            label,
            kind,
            due_at,
            measures,
            CheckStatus.DONE,
            late=done_at > on_time,
            pre_discharge=pre_discharge,
            done_at=done_at,
        )
    return CheckState(
        label,
        kind,
        due_at,
        measures,
        _window_status(due_at, now, windows),
        pre_discharge=pre_discharge,
    )


def _baseline(
    protocol: Protocol, dosed_at: datetime | None, readings: list[Observation], now: datetime
) -> CheckState:
    if dosed_at is None:
        before = [r for r in readings if r.measured_at <= now]
    else:
        before = [r for r in readings if r.measured_at <= dosed_at]
    done_at = completion_time(before, protocol.baseline)
    if done_at is not None:
        status = CheckStatus.DONE
    else:
        # Dosing without a complete baseline leaves it missed.
        status = CheckStatus.DUE if dosed_at is None else CheckStatus.MISSED
    return CheckState(
        "baseline", CheckKind.BASELINE, dosed_at, protocol.baseline, status, done_at=done_at
    )


def _rechecks(readings: list[Observation], now: datetime, windows: Windows) -> list[CheckState]:
    """A BP + HR recheck 15 min after each flagged BP, while the latest BP is flagged.

    Any BP + HR after the flagged reading counts toward it, sooner than 15 min included; a
    recheck whose flagged BP was followed by another BP without an HR is no longer pending
    (the later BP is the latest), so it is not listed.
    """
    ordered = chronological([r for r in readings if r.measured_at <= now])
    bp_readings = [r for r in ordered if r.has_bp()]
    measures = (CheckMeasure.BP, CheckMeasure.HR)
    states: list[CheckState] = []
    for index, flagged in enumerate(bp_readings):
        if not flagged.bp_flagged():
            continue
        due_at = flagged.measured_at + timedelta(minutes=windows.recheck_min)
        after = [r for r in ordered if r.measured_at > flagged.measured_at]
        closes = due_at + timedelta(minutes=windows.late_min)
        done_at = completion_time([r for r in after if r.measured_at <= closes], measures)
        later_bp = index + 1 < len(bp_readings)
        if done_at is not None:
            late = done_at > due_at + timedelta(minutes=windows.on_time_min)
            state = CheckState(
                "BP recheck",
                CheckKind.RECHECK,
                due_at,
                measures,
                CheckStatus.DONE,
                late=late,
                done_at=done_at,
            )
        elif later_bp:
            continue
        else:
            state = CheckState(
                "BP recheck",
                CheckKind.RECHECK,
                due_at,
                measures,
                _window_status(due_at, now, windows),
            )
        states.append(state)
    return states


def check_states(
    protocol: Protocol,
    dosed_at: datetime | None,
    readings: Sequence[Observation],
    now: datetime,
    windows: Windows | None = None,
) -> list[CheckState]:
    """Every check of a session at ``now``, in due order.

    ``readings`` are the readings in force. Until dosing is recorded only the baseline check
    is listed.
    """
    windows = windows or Windows()
    readings = list(readings)
    baseline = _baseline(protocol, dosed_at, readings, now)
    if dosed_at is None:
        return [baseline]
    after_dosing = [r for r in readings if r.measured_at > dosed_at]
    scheduled = [
        _timed_check(
            spec.label,
            CheckKind.SCHEDULED,
            dosed_at + timedelta(minutes=spec.at_min),
            spec.measures,
            after_dosing,
            now,
            windows,
            pre_discharge=spec is protocol.pre_discharge,
        )
        for spec in protocol.checks
    ]
    rechecks = _rechecks(readings, now, windows)
    return sorted(
        [baseline, *scheduled, *rechecks],
        key=lambda c: (c.due_at or dosed_at, c.kind is CheckKind.RECHECK),
    )


def next_check(states: Sequence[CheckState]) -> CheckState | None:
    """The check a nurse should do next: the earliest that is neither done nor missed."""
    pending = [
        s
        for s in states
        if s.status in (CheckStatus.OVERDUE, CheckStatus.DUE, CheckStatus.UPCOMING)
    ]
    return pending[0] if pending else None
