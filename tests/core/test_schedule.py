"""Check schedules and windows (docs/clinical.md, "Protocols and check schedules")."""

from __future__ import annotations

import pytest

from monitor.core.schedule import (
    CheckKind,
    CheckSpec,
    CheckStatus,
    Protocol,
    at_discharge,
    check_states,
    default_protocols,
    ketamine_iv,
    next_check,
    status_text,
)
from monitor.core.vitals import CheckMeasure
from tests.helpers import DOSED, Floor, at

P = default_protocols()
FULL = ["bp", "hr", "spo2", "moaas", "cadss"]
VITALS = ["bp", "hr", "spo2", "moaas"]
OK = "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0"


def table(protocol_key, readings=(), now_min=0.0, dosed=True):
    states = check_states(P[protocol_key], DOSED if dosed else None, list(readings), at(now_min))
    return states


def shape(states):
    return [
        (
            s.label,
            None if s.due_at is None else round((s.due_at - DOSED).total_seconds() / 60),
            [m.value for m in s.measures],
            s.pre_discharge,
        )
        for s in states
    ]


@pytest.mark.parametrize("key", ["esketamine-56", "esketamine-84"])
def test_esketamine_schedule(key):
    assert shape(table(key)) == [
        ("baseline", 0, FULL, False),
        ("+15 min", 15, ["moaas", "spo2"], False),
        ("+30 min", 30, ["moaas", "spo2"], False),
        ("+40 min", 40, FULL, False),
        ("+60 min", 60, ["moaas", "spo2"], False),
        ("+90 min", 90, FULL, False),
        ("+120 min", 120, FULL, True),
    ]
    assert P[key].minimum_observation_min == 120


def test_ketamine_iv_schedule():
    assert shape(table("ketamine-iv")) == [
        ("baseline", 0, FULL, False),
        ("+10 min", 10, VITALS, False),
        ("+20 min", 20, VITALS, False),
        ("+30 min", 30, VITALS, False),
        ("+40 min", 40, FULL, False),
        ("+55 min", 55, VITALS, False),
        ("+70 min", 70, VITALS, False),
        ("+85 min", 85, VITALS, False),
        ("+100 min", 100, FULL, True),
    ]
    assert P["ketamine-iv"].minimum_observation_min == 100


def test_ketamine_iv_follows_the_infusion_length():
    protocol = ketamine_iv(infusion_min=60)
    assert [c.at_min for c in protocol.checks] == [10, 20, 30, 40, 50, 60, 75, 90, 105, 120]
    assert protocol.minimum_observation_min == 120
    assert protocol.pre_discharge.at_min == 120


def test_ketamine_im_schedule():
    assert shape(table("ketamine-im")) == [
        ("baseline", 0, FULL, False),
        ("+15 min", 15, VITALS, False),
        ("+30 min", 30, FULL, False),
        ("+45 min", 45, VITALS, False),
        ("+60 min", 60, FULL, True),
    ]
    assert P["ketamine-im"].minimum_observation_min == 60


def status_of(label, states):
    state = next(s for s in states if s.label == label)
    return state.status.value, state.late


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (34, "upcoming"),
        (34.99, "upcoming"),
        (35, "due"),
        (40, "due"),
        (50, "due"),
        (50.01, "overdue"),
        (70, "overdue"),
        (70.01, "missed"),
        (200, "missed"),
    ],
)
def test_window_status_without_readings(now, expected):
    assert status_of("+40 min", table("esketamine-84", now_min=now)) == (expected, False)


@pytest.mark.parametrize(
    ("measured", "expected"),
    [
        (34.99, ("due", False)),  # serves +30 (its on-time window), not +40
        (35, ("done", False)),  # equally near +30 and +40: the later check takes it
        (50, ("done", False)),
        (50.5, ("done", True)),  # no on-time window holds it: +40's late window does
        (54.99, ("done", True)),
        (55, ("missed", False)),  # on time for +60: it serves +60, not +40
    ],
)
def test_reading_window_bounds(measured, expected):
    floor = Floor()
    floor.add(15, "moaas 5 spo2 98")
    floor.add(30, "moaas 5 spo2 98")
    floor.add(measured, OK)
    now = 45 if expected == ("due", False) else 100
    assert status_of("+40 min", table("esketamine-84", floor.readings, now)) == expected


SPARSE = Protocol(
    "sparse",
    "two checks",
    P["esketamine-84"].baseline,
    (
        CheckSpec(40, tuple(CheckMeasure(m) for m in FULL)),
        CheckSpec(200, tuple(CheckMeasure(m) for m in FULL), pre_discharge=True),
    ),
    200,
)


@pytest.mark.parametrize(
    ("measured", "expected"),
    [
        (50, ("done", False)),
        (50.01, ("done", True)),
        (70, ("done", True)),
        (70.01, ("missed", False)),
    ],
)
def test_late_window_closes_at_plus_30(measured, expected):
    floor = Floor()
    floor.add(measured, OK)
    states = check_states(SPARSE, DOSED, floor.readings, at(100))
    assert status_of("+40 min", states) == expected


def test_check_done_only_when_readings_cover_all_measures():
    floor = Floor()
    floor.add(38, "130/80 hr 70 spo2 98")
    assert status_of("+40 min", table("esketamine-84", floor.readings, 45)) == ("due", False)
    floor.add(42, "moaas 5 cadss 2")
    assert status_of("+40 min", table("esketamine-84", floor.readings, 45)) == ("done", False)


def test_late_reading_completes_a_partly_done_check_late():
    floor = Floor()
    floor.add(15, "moaas 5 spo2 98")
    floor.add(30, "moaas 5 spo2 98")
    floor.add(40, "130/80 hr 70 spo2 98 moaas 5")
    assert status_of("+40 min", table("esketamine-84", floor.readings, 52)) == ("overdue", False)
    floor.add(52, "cadss 1")
    assert status_of("+40 min", table("esketamine-84", floor.readings, 53)) == ("done", True)


def test_one_reading_serves_at_most_one_check():
    floor = Floor()
    floor.add(35, OK)
    states = table("esketamine-84", floor.readings, 36)
    assert status_of("+30 min", states) == ("due", False)
    assert status_of("+40 min", states) == ("done", False)


def test_overdue_is_an_alarm_and_next_check_is_the_earliest_pending():
    states = table("esketamine-84", now_min=26)
    assert status_of("+15 min", states) == ("overdue", False)
    assert next(s for s in states if s.label == "+15 min").is_alarm
    assert next_check(states).label == "+15 min"


def test_baseline_counts_every_reading_before_dosing():
    floor = Floor()
    floor.add(-90, "130/80 hr 70")
    floor.add(-1, "spo2 98 moaas 5 cadss 0")
    assert status_of("baseline", table("esketamine-84", floor.readings, 1)) == ("done", False)


def test_baseline_reading_after_dosing_does_not_count_and_dosing_without_it_misses():
    floor = Floor()
    floor.add(-2, "130/80 hr 70 spo2 98 moaas 5")
    floor.add(1, "cadss 0")
    assert status_of("baseline", table("esketamine-84", floor.readings, 2)) == ("missed", False)


def test_before_dosing_only_the_baseline_is_listed():
    floor = Floor(dosed=False)
    states = table("esketamine-84", now_min=-10, dosed=False)
    assert [(s.label, s.due_at, s.status.value) for s in states] == [("baseline", None, "due")]
    floor.add(-20, OK)
    states = table("esketamine-84", floor.readings, now_min=-10, dosed=False)
    assert [(s.label, s.due_at, s.status.value) for s in states] == [("baseline", None, "done")]


def recheck(states):
    return [s for s in states if s.kind is CheckKind.RECHECK]


def test_flagged_bp_sets_a_recheck_15_min_later():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(40, "165/85 hr 80 spo2 98 moaas 5 cadss 1")  # rise of 45: medium
    states = table("esketamine-84", floor.readings, 41)
    [pending] = recheck(states)
    assert pending.due_at == at(55)
    assert [m.value for m in pending.measures] == ["bp", "hr"]
    assert pending.status is CheckStatus.UPCOMING
    assert recheck(table("esketamine-84", floor.readings, 66))[0].status is CheckStatus.OVERDUE


def test_low_flag_on_bp_sets_no_recheck():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(40, "150/85 hr 100")  # HR low flag only
    assert recheck(table("esketamine-84", floor.readings, 41)) == []


def test_any_bp_and_hr_after_the_flag_counts_even_sooner():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(40, "185/85 hr 80")
    floor.add(45, "150/80")  # BP without HR does not do it
    [pending] = recheck(table("esketamine-84", floor.readings, 46))
    assert pending.status is CheckStatus.UPCOMING  # the flagged BP's recheck stays pending
    floor.add(46, "hr 80")
    [done] = recheck(table("esketamine-84", floor.readings, 47))
    assert (done.status, done.late, done.done_at) == (CheckStatus.DONE, False, at(46))


def test_recheck_repeats_while_still_flagged_and_ack_does_not_cancel():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(40, "185/85 hr 80", acked_at=41)
    floor.add(50, "182/85 hr 82", acked_at=51)
    states = recheck(table("esketamine-84", floor.readings, 52))
    assert [(s.due_at, s.status.value) for s in states] == [(at(55), "done"), (at(65), "upcoming")]


def test_late_recheck_is_done_late():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(40, "185/85 hr 80")
    floor.add(70, "150/85 hr 80")
    [state] = recheck(table("esketamine-84", floor.readings, 71))
    assert (state.status, state.late) == (CheckStatus.DONE, True)


def test_without_readings_every_check_is_missed_but_the_pre_discharge_check():
    states = table("esketamine-84", (), 200)
    assert [s.status.value for s in states] == ["missed"] * 6 + ["overdue"]


@pytest.mark.parametrize(
    ("ended", "label", "judged", "closed", "words"),
    [
        (125, "+90 min", "missed", "missed", "missed"),  # its window closed before
        (119, "+120 min", "due", "missed", "missed"),  # due when the patient left
        (105, "+90 min", "overdue", "missed", "missed"),  # overdue when the patient left
        (105, "+120 min", "upcoming", "not_reached", "not reached"),  # not yet due
        (110, "+120 min", "upcoming", "not_reached", "not reached"),  # window opens at +115
    ],
)
def test_a_discharged_sessions_checks_have_one_reading(ended, label, judged, closed, words):
    """One rule for a closed record (at_discharge): a check not done is missed once its window
    had opened when the session ended, and not reached before (never upcoming once closed)."""
    states = table("esketamine-84", [], now_min=ended)
    judged_check = next(c for c in states if c.label == label)
    assert status_text(judged_check, None) == judged  # an active session's words are the status
    assert status_of(label, states)[0] == judged
    kept = at_discharge(states)
    assert CheckStatus.UPCOMING not in {c.status for c in kept}
    check = next(c for c in kept if c.label == label)
    assert check.status.value == closed
    assert status_text(check, at(ended)) == words
    assert status_text(check) == words
    assert not check.ended_early
    assert check.is_alarm == (closed == "missed")  # missed and unexplained: review shows it
