"""Judging a session at a moment: its checks and its discharge gate, from what was saved.

One implementation for the services (when they load a session) and the station (which judges
its loaded sessions again every second, so that countdowns and statuses advance from the clock
even while the database cannot be reached). Pure: no database, no screen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from monitor.core.config import ClinicConfig
from monitor.core.gate import GateResult, evaluate_gate
from monitor.core.observations import Observation, RecordedFlag
from monitor.core.rules import Flag
from monitor.core.schedule import CheckSkip, CheckState, Protocol, check_states
from monitor.views import ReadingView, SessionView


def observations(readings: Iterable[ReadingView]) -> list[Observation]:
    """Every saved reading as the core reads it: values, flags with their acknowledgement, and
    whether it is still in force."""
    return [
        Observation(
            r.id,
            r.measured_at,
            r.vitals,
            tuple(
                RecordedFlag(Flag(f.measure, f.severity, f.rule, f.message), f.acknowledged_at)
                for f in r.flags
            ),
            in_force=r.in_force,
        )
        for r in readings
    ]


def judge(
    schedule: Protocol,
    dosed_at: datetime | None,
    readings: Iterable[ReadingView],
    skips: Mapping[str, CheckSkip],
    now: datetime,
    config: ClinicConfig,
) -> tuple[list[CheckState], GateResult]:
    """The checks and the discharge gate at ``now`` over every saved reading."""
    seen = observations(readings)
    checks = check_states(schedule, dosed_at, seen, now, config.windows, skips=skips)
    gate = evaluate_gate(
        schedule,
        dosed_at,
        seen,
        now,
        criteria=config.discharge,
        windows=config.windows,
        skips=skips,
    )
    return checks, gate


def rejudge(view: SessionView, now: datetime, config: ClinicConfig) -> SessionView:
    """An active session judged again at ``now`` (a discharged one keeps its judgement)."""
    if view.discharged_at is not None or view.schedule is None:
        return view
    checks, gate = judge(view.schedule, view.dosed_at, view.readings, view.skips, now, config)
    return replace(view, checks=tuple(checks), gate=gate, as_of=now)
