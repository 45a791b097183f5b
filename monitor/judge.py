"""Judging a session at a moment: its checks and its discharge gate, from what was saved.

One implementation for the services (when they load a session) and the station (which judges
its loaded sessions again every second, so that countdowns and statuses advance from the clock
even while the database cannot be reached). Pure: no database, no screen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any

from monitor.core.config import ClinicConfig
from monitor.core.gate import (
    Departure,
    DischargeCriteria,
    EventAlarm,
    GateResult,
    Patient,
    StoredGate,
    evaluate_gate,
)
from monitor.core.observations import Observation, RecordedFlag
from monitor.core.rules import Flag, Thresholds, evaluate
from monitor.core.schedule import (
    CheckSkip,
    CheckSpec,
    CheckState,
    Protocol,
    Windows,
    at_discharge,
    check_states,
    ends_early,
)
from monitor.core.vitals import CheckMeasure, Vitals
from monitor.errors import Refused
from monitor.unreadable import SCHEDULE
from monitor.views import EventView, ReadingView, SessionView


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
            voided=r.voided is not None,
            corrects=r.corrects,
        )
        for r in readings
    ]


def event_alarms(events: Iterable[EventView]) -> list[EventAlarm]:
    """The serious events' alarms as the gate reads them: open from the event to the
    clinician's acknowledgement."""
    return [
        EventAlarm(e.at, e.alarm.acknowledged_at, e.summary) for e in events if e.alarm is not None
    ]


def judge(
    schedule: Protocol,
    dosed_at: datetime | None,
    readings: Iterable[ReadingView],
    skips: Mapping[str, CheckSkip],
    now: datetime,
    config: ClinicConfig,
    discharged_at: datetime | None = None,
    *,
    age: int | None = None,
    events: Iterable[EventView] = (),
    infusion_ended_at: datetime | None = None,
    departure: Departure | None = None,
) -> tuple[list[CheckState], GateResult]:
    """The checks and the discharge gate at ``now`` over every saved reading, under the rules
    ``config``; judged at or after ``discharged_at``, the checks are the closed record's
    (:func:`at_discharge`; those not reached by a discharge before the minimum observation
    read "ended early")."""
    seen = observations(readings)
    checks = check_states(schedule, dosed_at, seen, now, config.windows, skips=skips)
    if discharged_at is not None and now >= discharged_at:
        early = ends_early(schedule, dosed_at, discharged_at)
        checks = at_discharge(checks, ended_early=early)
    gate = evaluate_gate(
        schedule,
        dosed_at,
        seen,
        now,
        criteria=config.discharge,
        windows=config.windows,
        skips=skips,
        patient=Patient(age, config.thresholds),
        alarms=event_alarms(events),
        infusion_ended_at=infusion_ended_at,
        departure=departure,
    )
    return checks, gate


def judge_view(
    view: SessionView, now: datetime, config: ClinicConfig, departure: Departure | None = None
) -> tuple[list[CheckState], GateResult]:
    """:func:`judge` over what ``view`` holds; refused for a session whose schedule could not
    be read (docs/storage.md, "Unreadable records"): it cannot be judged."""
    if view.schedule is None:
        marker = view.unreadable_part(SCHEDULE)
        why = marker.why if marker is not None else "not known"
        raise Refused(
            f"session {view.id} cannot be judged: its schedule is unreadable ({why}); "
            "nothing was saved"
        )
    return judge(
        view.schedule,
        view.dosed_at,
        view.readings,
        view.skips,
        now,
        config,
        age=view.age,
        events=view.events,
        infusion_ended_at=view.infusion_ended_at,
        departure=departure,
    )


def rejudge(view: SessionView, now: datetime, config: ClinicConfig) -> SessionView:
    """An active session judged again at ``now`` (a discharged one keeps its judgement)."""
    if view.discharged_at is not None or view.schedule is None or now == view.as_of:
        return view
    checks, gate = judge_view(view, now, config)
    return replace(view, checks=tuple(checks), gate=gate, as_of=now)


def gate_record(
    gate: GateResult, schedule: Protocol, config: ClinicConfig, judged_at: datetime
) -> dict[str, Any]:
    """The gate's outcome with the configuration values it used, as stored at discharge."""
    return {
        "ready": gate.ready,
        "reasons": list(gate.reasons),
        "items": [{"label": i.label, "ok": i.ok, "detail": i.detail} for i in gate.items],
        "judged_at": judged_at.isoformat(),
        "config": {
            "protocol": {
                "key": schedule.key,
                "treatment": schedule.treatment,
                "baseline": [m.value for m in schedule.baseline],
                "checks": [
                    {
                        "at": c.at_min,
                        "measures": [m.value for m in c.measures],
                        "pre_discharge": c is schedule.pre_discharge,
                    }
                    for c in schedule.checks
                ],
                "minimum_observation_min": schedule.minimum_observation_min,
                "infusion_min": schedule.infusion_min,
                "observe_after_infusion_min": schedule.observe_after_infusion_min,
            },
            "windows": asdict(config.windows),
            "discharge": asdict(config.discharge),
        },
    }


def stored_judgement(stored: StoredGate) -> tuple[GateResult, Protocol, ClinicConfig]:
    """The gate, schedule and configuration stored at discharge (:func:`gate_record`)."""
    record = stored.record
    spec = record["config"]["protocol"]
    schedule = Protocol(
        key=spec["key"],
        treatment=spec["treatment"],
        baseline=tuple(CheckMeasure(m) for m in spec["baseline"]),
        checks=tuple(
            CheckSpec(c["at"], tuple(CheckMeasure(m) for m in c["measures"]), c["pre_discharge"])
            for c in spec["checks"]
        ),
        minimum_observation_min=spec["minimum_observation_min"],
        infusion_min=spec["infusion_min"],
        observe_after_infusion_min=spec["observe_after_infusion_min"],
    )
    config = ClinicConfig(
        windows=Windows(**record["config"]["windows"]),
        discharge=DischargeCriteria.from_stored(record["config"]["discharge"]),
    )
    return stored.result, schedule, config


_INSTANT = timedelta(microseconds=1)


def next_change(view: SessionView, windows: Windows, recent_set_min: int = 30) -> datetime | None:
    """The next moment from ``view.as_of`` on at which the passing of time alone changes its
    checks or gate (a window opening or closing, the minimum observation reached); ``None``
    when nothing more changes until new data arrives. Until then its judgement stands."""
    if view.dosed_at is None or view.schedule is None:
        return None
    offsets = (-windows.early_min, windows.on_time_min, windows.late_min)
    moments = [
        check.due_at + timedelta(minutes=offset)
        for check in view.checks
        if check.due_at is not None
        for offset in offsets
    ]
    minimum = view.dosed_at + timedelta(minutes=view.schedule.minimum_observation_min)
    moments.append(minimum)
    # A reading timed ahead counts from its time; a full set stops being recent after
    # ``recent_set_min``.
    for reading in view.readings:
        moments.append(reading.measured_at)
        moments.append(reading.measured_at + timedelta(minutes=recent_set_min) + _INSTANT)
    if view.as_of < minimum:
        # The gate names the minutes since dosing until the minimum is reached.
        elapsed = (view.as_of - view.dosed_at) // timedelta(minutes=1)
        moments.append(view.dosed_at + timedelta(minutes=elapsed + 1))
    # A status changes at a window's opening and just after its end: judged exactly at an end,
    # the judgement stands only for that instant.
    later = [m for m in moments if m >= view.as_of]
    return min(later) if later else None


def preview_flags(
    view: SessionView, vitals: Vitals, measured_at: datetime, thresholds: Thresholds
) -> list[Flag]:
    """The flags a reading would raise if saved now (what the services will judge): before
    dosing against the thresholds alone, after it against the baseline of the readings in
    force measured up to dosing (docs/clinical.md)."""
    before = view.dosed_at is None or measured_at <= view.dosed_at
    baseline: dict[str, int] = {}
    if view.dosed_at is not None:
        for reading in sorted(view.in_force, key=lambda r: (r.measured_at, r.id)):
            if reading.measured_at <= view.dosed_at:
                baseline.update(
                    {k: v for k, v in reading.vitals.as_dict().items() if v is not None}
                )
    return evaluate(
        vitals,
        before_dosing=before,
        age=view.age,
        baseline=Vitals(**baseline),
        thresholds=thresholds,
    )
