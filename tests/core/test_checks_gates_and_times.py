"""Which reading serves which check, missed checks and rechecks, the infusion end, the dosing and
discharge gates, corrections, the REMS minute and the time rules, in the core: each rule on both
sides of its boundaries, and the worked examples of docs/clinical.md."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from monitor.core.gate import dosing_refusals, evaluate_gate
from monitor.core.observations import Observation
from monitor.core.ready_minute import ready_to_leave_at, ready_to_leave_minute
from monitor.core.schedule import (
    CheckKind,
    CheckSkip,
    CheckStatus,
    check_states,
    default_protocols,
    for_infusion,
    infusion_minutes,
    ketamine_iv,
    next_check,
)
from monitor.core.timing import (
    check_discharged_at,
    check_dosed_at,
    check_infusion_end,
    check_measured_at,
    check_started_at,
    is_late_entry,
    is_late_reading,
)
from monitor.errors import EntryError
from tests.helpers import DOSED, Floor, at

P = default_protocols()
ESK = P["esketamine-84"]
IV = P["ketamine-iv"]
OK = "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0"


def statuses(states):
    return {s.label: (s.status.value, s.late) for s in states if s.kind is CheckKind.SCHEDULED}


# -- 1. a reading serves at most one scheduled check (the worked examples) -----------------


def test_worked_example_esketamine():
    floor = Floor()
    for minute in (40, 90, 121):
        floor.add(minute, OK)
    assert statuses(check_states(ESK, DOSED, floor.readings, at(150))) == {
        "+15 min": ("missed", False),
        "+30 min": ("missed", False),
        "+40 min": ("done", False),
        "+60 min": ("missed", False),
        "+90 min": ("done", False),
        "+120 min": ("done", False),
    }


def test_worked_example_iv():
    floor = Floor()
    for minute in (20, 40, 65, 95):
        floor.add(minute, OK)
    got = statuses(check_states(IV, DOSED, floor.readings, at(150)))
    assert {k: v[0] for k, v in got.items()} == {
        "+10 min": "missed",
        "+20 min": "done",
        "+30 min": "missed",
        "+40 min": "done",
        "+55 min": "missed",
        "+70 min": "done",
        "+85 min": "missed",
        "+100 min": "done",
    }


def test_four_iv_readings_do_not_tick_off_all_eight_checks():
    floor = Floor()
    for minute in (15, 35, 62, 92):
        floor.add(minute, OK)
    done = [
        s for s in check_states(IV, DOSED, floor.readings, at(150)) if s.status is CheckStatus.DONE
    ]
    assert len(done) <= 5  # baseline aside, at most one check per reading


def test_tie_between_two_on_time_windows_goes_to_the_later_check():
    floor = Floor()
    floor.add(15, OK)  # +10 and +20 are both 5 min away, both windows hold it
    got = statuses(check_states(IV, DOSED, floor.readings, at(16)))
    assert got["+20 min"] == ("done", False)
    assert got["+10 min"] == ("due", False)


@pytest.mark.parametrize(
    ("minute", "serves", "other"), [(34.99, "+30 min", "+40 min"), (35.01, "+40 min", "+30 min")]
)
def test_nearest_due_time_wins_on_either_side_of_the_midpoint(minute, serves, other):
    floor = Floor()
    floor.add(minute, OK)
    got = statuses(check_states(ESK, DOSED, floor.readings, at(36)))
    assert got[serves][0] == "done"
    assert got[other][0] != "done"


def test_leftover_reading_goes_to_the_earliest_check_not_done_in_its_late_window():
    floor = Floor()
    floor.add(113, OK)  # no on-time window (90: 85-100, 120: 115-130); 90's late window holds it
    got = statuses(check_states(ESK, DOSED, floor.readings, at(114)))
    assert got["+90 min"] == ("done", True)
    assert got["+120 min"] == ("upcoming", False)


# -- 2. missed checks alarm until explained; the pre-discharge check is never missed -------


@pytest.mark.parametrize(
    ("now", "status", "alarm"), [(45, "overdue", True), (45.01, "missed", True)]
)
def test_a_missed_check_is_an_alarm(now, status, alarm):
    state = next(s for s in check_states(ESK, DOSED, [], at(now)) if s.label == "+15 min")
    assert (state.status.value, state.is_alarm) == (status, alarm)


def test_a_reason_for_a_missed_check_ends_its_alarm():
    skip = CheckSkip("ana", at(50), "patient asleep")
    states = check_states(ESK, DOSED, [], at(50), skips={"+15 min": skip})
    state = next(s for s in states if s.label == "+15 min")
    assert state.status is CheckStatus.MISSED
    assert state.skip == skip
    assert not state.is_alarm
    other = next(s for s in states if s.label == "+30 min")
    assert other.is_alarm  # +30 is overdue and unexplained


@pytest.mark.parametrize(
    ("now", "status"),
    [(114.99, "upcoming"), (115, "due"), (130, "due"), (130.01, "overdue"), (600, "overdue")],
)
def test_pre_discharge_check_is_due_then_overdue_never_missed(now, status):
    pre = next(s for s in check_states(ESK, DOSED, [], at(now)) if s.pre_discharge)
    assert pre.status.value == status


@pytest.mark.parametrize(("minute", "status"), [(114.99, "upcoming"), (115, "done")])
def test_pre_discharge_check_counts_readings_from_its_window_opening(minute, status):
    floor = Floor()
    floor.add(90, OK)
    floor.add(minute, OK)
    pre = next(s for s in check_states(ESK, DOSED, floor.readings, at(minute)) if s.pre_discharge)
    assert pre.status.value == status


# -- 3. every flagged BP has its own recheck, listed once done ----------------------------


def rechecks(floor, now):
    return [
        s for s in check_states(ESK, DOSED, floor.readings, at(now)) if s.kind is CheckKind.RECHECK
    ]


def test_each_flagged_bp_creates_its_own_recheck_and_it_stays_listed():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(40, "182/96 hr 80")  # high (>= 180) and rise >= 40: one flagged BP
    floor.add(45, "165/90 hr 80")  # rise of 45: medium, a second flagged BP
    floor.add(50, "130/80 hr 70")
    got = [(s.label, s.status.value, s.done_at) for s in rechecks(floor, 51)]
    assert got == [
        ("BP recheck +55 min", "done", at(45)),
        ("BP recheck +60 min", "done", at(50)),
    ]


def test_a_recheck_before_dosing_is_not_made():
    floor = Floor()
    floor.add(-5, "150/95 hr 70")  # before dosing: the dosing gate does this job
    assert rechecks(floor, 1) == []


def test_a_missed_recheck_is_an_alarm():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(40, "182/96 hr 80", acked_at=41)  # acknowledging does not cancel its recheck
    [state] = rechecks(floor, 85.01)
    assert state.status is CheckStatus.MISSED and state.is_alarm


# -- IV: the actual end of infusion moves the schedule -------------------------------------


def test_infusion_minutes_round_up():
    assert infusion_minutes(DOSED, at(49.2)) == 50
    assert infusion_minutes(DOSED, at(50)) == 50


def test_infusion_end_moves_the_post_infusion_checks_and_the_minimum():
    moved = for_infusion(IV, 50)
    assert [c.at_min for c in moved.checks] == [10, 20, 30, 40, 50, 65, 80, 95, 110]
    assert moved.pre_discharge.at_min == 110
    assert moved.minimum_observation_min == 110
    assert for_infusion(IV, None) is IV
    assert for_infusion(IV, 40) is IV
    shorter = for_infusion(IV, 30)
    assert [c.at_min for c in shorter.checks] == [10, 20, 30, 45, 60, 75, 90]


def test_infusion_end_shifts_a_clinics_own_iv_checks():
    from monitor.core.schedule import CheckSpec

    own = replace(
        IV,
        checks=(
            CheckSpec(20, ESK.baseline),
            CheckSpec(40, ESK.baseline),
            CheckSpec(100, ESK.baseline, True),
        ),
    )
    moved = for_infusion(own, 45)
    assert [c.at_min for c in moved.checks] == [20, 45, 105]
    assert moved.minimum_observation_min == 105


def test_iv_gate_counts_the_minimum_from_the_actual_end():
    moved = for_infusion(ketamine_iv(), 50)
    floor = Floor()
    floor.add(-5, OK)
    floor.add(108, OK)
    ended = at(50)
    assert not evaluate_gate(
        moved, DOSED, floor.readings, at(109.99), infusion_ended_at=ended
    ).ready
    assert evaluate_gate(moved, DOSED, floor.readings, at(110), infusion_ended_at=ended).ready


def test_iv_gate_needs_the_infusion_end_recorded():
    # revision 3: an IV session cannot be discharged without a recorded infusion end
    floor = Floor()
    floor.add(-5, OK)
    floor.add(98, OK)
    result = evaluate_gate(IV, DOSED, floor.readings, at(120))
    assert not result.ready
    assert any(r.startswith("infusion end not recorded") for r in result.reasons)
    assert evaluate_gate(IV, DOSED, floor.readings, at(120), infusion_ended_at=at(40)).ready


# -- 4. the dosing gate ---------------------------------------------------------------


def test_dosing_is_refused_without_a_complete_baseline():
    floor = Floor(dosed=False)
    floor.add(-10, "120/80 hr 70 spo2 98 moaas 5")
    [reason] = dosing_refusals(ESK, floor.readings)
    assert reason == "baseline check not done: record cadss before dosing"
    floor.add(-5, "cadss 0")
    assert dosing_refusals(ESK, floor.readings) == []


def test_dosing_is_refused_with_an_open_before_dosing_flag_until_acknowledged():
    floor = Floor(dosed=False)
    floor.add(-10, "150/85 hr 70 spo2 98 moaas 5 cadss 0")  # SBP > 140: clinician review
    [reason] = dosing_refusals(ESK, floor.readings)
    assert reason.startswith("1 before-dosing flag not acknowledged")
    acked = Floor(dosed=False)
    acked.add(-10, "150/85 hr 70 spo2 98 moaas 5 cadss 0", acked_at=-8)
    assert dosing_refusals(ESK, acked.readings) == []


@pytest.mark.parametrize(("systolic", "refused"), [(140, False), (141, True)])
def test_dosing_gate_boundary_on_the_predose_limit(systolic, refused):
    floor = Floor(dosed=False)
    floor.add(-10, f"{systolic}/85 hr 70 spo2 98 moaas 5 cadss 0")
    assert bool(dosing_refusals(ESK, floor.readings)) is refused


# -- 5. a correction never clears an alarm; void ----------------------------------------


def superseded(reading: Observation) -> Observation:
    return replace(reading, in_force=False)


def test_a_corrected_readings_open_flag_still_blocks_discharge():
    floor = Floor()
    floor.add(-5, OK)
    wrong = floor.add(40, "188/104 hr 80 spo2 98 moaas 5 cadss 0")
    floor.readings[-1] = superseded(wrong)
    floor.add(40, "128/80 hr 80 spo2 98 moaas 5 cadss 0")  # the correction, in force
    floor.add(118, OK)
    result = evaluate_gate(ESK, DOSED, floor.readings, at(121))
    assert result.reasons == ("2 medium/high flags not acknowledged",)


def test_a_superseded_reading_serves_no_check_and_no_value():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(118, OK)
    floor.add(119, "moaas 3", acked_at=119.5)
    floor.readings[-1] = superseded(floor.readings[-1])
    assert evaluate_gate(ESK, DOSED, floor.readings, at(121)).ready
    floor2 = Floor()
    floor2.add(-5, OK)
    floor2.add(118, OK)
    floor2.readings[-1] = superseded(floor2.readings[-1])
    assert (
        "pre-discharge check (+120 min) not done"
        in evaluate_gate(ESK, DOSED, floor2.readings, at(121)).reasons
    )


# -- 7. the gate covers every measure's latest value ---------------------------------------


@pytest.mark.parametrize(
    ("entry", "blocked"),
    [
        ("hr 130", True),  # medium 111-130
        ("hr 110", False),  # low only
        ("hr 138", True),  # high
        ("rr 8", True),  # high <= 8
        ("rr 9", False),  # low 9-11
        ("rr 21", True),  # medium
        ("rr 20", False),
        ("spo2 93", True),  # medium, and below 94
        ("cadss 5", True),  # only low, but above the criterion
    ],
)
def test_latest_value_of_every_measure_counts_even_acknowledged(entry, blocked):
    floor = Floor()
    floor.add(-5, OK)
    floor.add(118, OK)
    floor.add(119, entry, acked_at=119.5)
    assert (not evaluate_gate(ESK, DOSED, floor.readings, at(121)).ready) is blocked


def test_a_reading_timed_ahead_of_now_counts_only_from_its_time():
    # revision 3: the gate judges the readings whose measurement time has come
    floor = Floor()
    floor.add(-5, OK)
    floor.add(118, OK)
    floor.add(121.5, "70/40 hr 35 spo2 85 moaas 1")  # 1.5 min ahead of now
    assert evaluate_gate(ESK, DOSED, floor.readings, at(120)).ready
    assert not evaluate_gate(ESK, DOSED, floor.readings, at(121.5)).ready


# -- 8. the REMS minute holds continuously until discharge ---------------------------------


def test_rems_minute_restarts_after_a_deterioration():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(40, OK)
    floor.add(60, "moaas 5 spo2 98")
    floor.add(75, "moaas 3 spo2 98", acked_at=76)  # deteriorated after being fine
    floor.add(95, OK)
    floor.add(118, OK)
    assert ready_to_leave_minute(ESK, DOSED, floor.readings, at(125)) == 95


def test_rems_minute_needs_the_plus_40_check_and_a_full_set():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(20, "moaas 5 spo2 98 120/80 hr 70")  # no CADSS: not a full set
    floor.add(40, OK)
    assert ready_to_leave_minute(ESK, DOSED, floor.readings, at(125)) == 40


def test_rems_minute_does_not_need_the_pre_discharge_check():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(40, OK)
    assert ready_to_leave_minute(ESK, DOSED, floor.readings, at(125)) == 40


def test_rems_minute_rounds_up():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(40.25, OK)
    assert ready_to_leave_at(ESK, DOSED, floor.readings, at(125)) == at(40.25)
    assert ready_to_leave_minute(ESK, DOSED, floor.readings, at(125)) == 41


def test_rems_minute_is_none_when_conditions_fail_at_the_end():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(40, OK)
    floor.add(118, "hr 120", acked_at=119)
    assert ready_to_leave_minute(ESK, DOSED, floor.readings, at(125)) is None


# -- 6. time rules --------------------------------------------------------------------


NOW = at(0)


@pytest.mark.parametrize(("ahead", "ok"), [(2, True), (2.01, False)])
def test_nothing_more_than_two_minutes_ahead(ahead, ok):
    when = NOW + timedelta(minutes=ahead)
    for call in (
        lambda: check_started_at(when, NOW),
        lambda: check_measured_at(when, NOW, NOW, None),
        lambda: check_dosed_at(when, NOW, NOW, None),
        lambda: check_infusion_end(when, NOW, NOW - timedelta(hours=1), None),
    ):
        if ok:
            assert call() == when
        else:
            with pytest.raises(EntryError, match="future"):
                call()


@pytest.mark.parametrize(("ahead", "ok"), [(0, True), (1 / 60_000, False), (2, False)])
def test_a_discharge_time_may_not_be_later_than_now(ahead, ok):
    # revision 3: no tolerance for a discharge time
    when = NOW + timedelta(minutes=ahead)
    if ok:
        assert check_discharged_at(when, NOW, None, None) == when
    else:
        with pytest.raises(EntryError, match="future"):
            check_discharged_at(when, NOW, None, None)


@pytest.mark.parametrize(("days", "ok"), [(7, True), (7.001, False)])
def test_a_session_starts_at_most_seven_days_back(days, ok):
    when = NOW - timedelta(days=days)
    if ok:
        assert check_started_at(when, NOW) == when
    else:
        with pytest.raises(EntryError, match="7 days"):
            check_started_at(when, NOW)


@pytest.mark.parametrize(("before", "ok"), [(120, True), (120.01, False)])
def test_measurement_and_dosing_at_most_two_hours_before_the_start(before, ok):
    start = NOW
    when = start - timedelta(minutes=before)
    for call in (
        lambda: check_measured_at(when, NOW, start, None),
        lambda: check_dosed_at(when, NOW, start, None),
    ):
        if ok:
            assert call() == when
        else:
            with pytest.raises(EntryError, match="2 h before"):
                call()


def test_measurement_after_discharge_is_refused():
    with pytest.raises(EntryError, match="after the discharge"):
        check_measured_at(at(-1), at(0), at(-100), at(-2))
    assert check_measured_at(at(-2), at(0), at(-100), at(-2)) == at(-2)


def test_dosing_before_a_saved_reading_is_refused():
    with pytest.raises(EntryError, match="before a reading"):
        check_dosed_at(at(-5), at(0), at(-30), at(-4))
    assert check_dosed_at(at(-4), at(0), at(-30), at(-4)) == at(-4)


def test_discharge_before_dosing_or_the_latest_reading_is_refused():
    with pytest.raises(EntryError, match="before dosing"):
        check_discharged_at(at(-1), at(200), at(0), None)
    with pytest.raises(EntryError, match="before the latest reading"):
        check_discharged_at(at(120), at(200), at(0), at(121))
    assert check_discharged_at(at(121), at(200), at(0), at(121)) == at(121)


def test_infusion_end_after_its_start():
    with pytest.raises(EntryError, match="not after the start"):
        check_infusion_end(at(0), at(60), at(0), None)
    assert check_infusion_end(at(0.5), at(60), at(0), None) == at(0.5)


@pytest.mark.parametrize(("delay", "late"), [(10, False), (10.01, True)])
def test_late_entry_after_ten_minutes(delay, late):
    assert is_late_entry(at(0), at(delay)) is late


@pytest.mark.parametrize(
    ("correction", "adds", "late"),
    [(False, False, True), (True, False, False), (True, True, True)],
)
def test_a_correction_is_not_a_late_entry_unless_it_adds_a_measure(correction, adds, late):
    assert is_late_reading(at(0), at(60), correction=correction, adds_measures=adds) is late
    assert not is_late_reading(at(0), at(5), correction=correction, adds_measures=adds)


def test_next_check_skips_explained_checks():
    skip = CheckSkip("ana", at(50), "asleep")
    states = check_states(ESK, DOSED, [], at(50), skips={"+15 min": skip, "+30 min": skip})
    assert next_check(states).label == "+40 min"
