"""Check matching of clinical revision 3, in the core (docs/clinical.md, "Check windows and
statuses"): pass 2 goes to the nearest late check; a BP recheck survives a correction of its
reading and a void cancels it; a closed record's checks never reached read ``not_reached``
(apart, when an override ended the observation early); which check each reading served."""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitor.core.observations import Observation
from monitor.core.quality import CheckCounts, count_checks
from monitor.core.schedule import (
    ENDED_EARLY,
    RECHECK_VOIDED,
    CheckKind,
    CheckSkip,
    CheckSpec,
    CheckStatus,
    Protocol,
    at_discharge,
    check_states,
    default_protocols,
    ends_early,
    for_infusion,
    next_check,
    served_checks,
    status_text,
)
from monitor.core.served import served_by_reading
from monitor.core.vitals import CheckMeasure
from tests.helpers import DOSED, Floor, at

P = default_protocols()
ESK = P["esketamine-84"]
OK = "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0"


def states_at(floor: Floor, now: float, protocol: Protocol = ESK, **kwargs):
    return check_states(protocol, DOSED, floor.readings, at(now), **kwargs)


def check(states, label):
    return next(s for s in states if s.label == label)


def statuses(states):
    return {s.label: (s.status.value, s.late) for s in states if s.kind is CheckKind.SCHEDULED}


# -- pass 2: the nearest late check ---------------------------------------------------------


def test_a_full_set_at_plus_52_is_the_plus_40_check_done_late_not_the_plus_30():
    floor = Floor()
    floor.add(52, OK)  # no on-time window holds it; +30's late window and +40's both do
    got = statuses(states_at(floor, 53))
    assert got["+40 min"] == ("done", True)
    assert got["+30 min"] == ("overdue", False)
    assert statuses(states_at(floor, 61))["+30 min"] == ("missed", False)


def test_pass_2_skips_a_check_already_done_for_the_nearest_one_not_done():
    floor = Floor()
    floor.add(40, OK)  # +40 on time
    floor.add(52, "moaas 5 spo2 98")  # +40 is done: +30 is the only late check not done
    got = statuses(states_at(floor, 53))
    assert got["+40 min"] == ("done", False)
    assert got["+30 min"] == ("done", True)


def test_pass_2_readings_go_in_time_order_each_to_the_nearest_check_still_open():
    floor = Floor()
    floor.add(51, "moaas 5 spo2 98")  # +30 and +40 late: +40 is nearer, takes it (incomplete)
    floor.add(53, "130/80 hr 70 cadss 0")  # +40 still not done: nearest again, completes it
    got = statuses(states_at(floor, 54))
    assert got["+40 min"] == ("done", True)
    assert got["+30 min"] == ("overdue", False)


def test_a_tie_in_pass_2_goes_to_the_earlier_check():
    """Late windows open after the due time, so two late checks are equally near only when due
    at the same minute: the one listed first (the earlier) takes the reading."""
    twin = Protocol(
        "twin",
        "two checks due together",
        ESK.baseline,
        (
            CheckSpec(40, (CheckMeasure.MOAAS, CheckMeasure.SPO2)),
            CheckSpec(40, (CheckMeasure.MOAAS,)),
            CheckSpec(200, ESK.baseline, pre_discharge=True),
        ),
        200,
    )
    floor = Floor()
    floor.add(55, "moaas 5 spo2 98")
    first, second = [s for s in states_at(floor, 56, twin) if s.kind is CheckKind.SCHEDULED][:2]
    assert (first.status, first.late, second.status) == (
        CheckStatus.DONE,
        True,
        CheckStatus.OVERDUE,
    )


def test_pass_1_still_goes_to_the_nearest_on_time_check_tie_to_the_later():
    floor = Floor()
    floor.add(35, OK)  # +30 and +40 on-time windows, equally near: +40 takes it
    got = statuses(states_at(floor, 36))
    assert got["+40 min"] == ("done", False)
    assert got["+30 min"] == ("due", False)


@pytest.mark.parametrize(
    ("protocol", "minutes", "done"),
    [
        ("esketamine-84", (40, 90, 121), {"+40 min", "+90 min", "+120 min"}),
        ("ketamine-iv", (20, 40, 65, 95), {"+20 min", "+40 min", "+70 min", "+100 min"}),
    ],
)
def test_the_worked_examples_still_hold(protocol, minutes, done):
    floor = Floor()
    for minute in minutes:
        floor.add(minute, OK)
    got = statuses(states_at(floor, 150, P[protocol]))
    assert {k for k, v in got.items() if v == ("done", False)} == done
    assert {k for k, v in got.items() if v[0] == "missed"} == set(got) - done


# -- rechecks survive corrections; a void cancels ----------------------------------------


def correct(floor: Floor, original: Observation, minute: float, entry: str) -> Observation:
    """A correction of ``original`` (saved later, so a higher id), which it supersedes."""
    index = floor.readings.index(original)
    corrected = floor.add(minute, entry)
    floor.readings[-1] = corrected = replace(corrected, corrects=original.id)
    floor.readings[index] = replace(original, in_force=False)
    return corrected


def void(floor: Floor, reading: Observation) -> None:
    index = floor.readings.index(reading)
    floor.readings[index] = replace(reading, in_force=False, voided=True)


def rechecks(states):
    return [s for s in states if s.kind is CheckKind.RECHECK]


def flagged_session() -> tuple[Floor, Observation]:
    floor = Floor()
    floor.add(-5, OK)
    flagged = floor.add(40, "182/96 hr 80 spo2 98 moaas 5 cadss 0")  # high and a rise: flagged
    return floor, flagged


def test_a_recheck_survives_a_correction_of_its_reading():
    floor, flagged = flagged_session()
    correct(floor, flagged, 40, "128/80 hr 80 spo2 98 moaas 5 cadss 0")  # a typo: no flag now
    [recheck] = rechecks(states_at(floor, 41))
    assert (recheck.label, recheck.reading_id, recheck.due_at) == (
        "BP recheck +55 min",
        flagged.id,
        at(55),
    )
    assert recheck.status is CheckStatus.UPCOMING  # the correction does not serve it
    assert recheck.cancelled is None
    missed = check(states_at(floor, 86), "BP recheck +55 min")
    assert missed.status is CheckStatus.MISSED and missed.is_alarm
    floor.add(50, "130/80 hr 72")
    done = check(states_at(floor, 51), "BP recheck +55 min")
    assert (done.status, done.done_at) == (CheckStatus.DONE, at(50))


def test_a_correction_moved_later_does_not_serve_the_recheck_it_restates():
    floor, flagged = flagged_session()
    correct(floor, flagged, 43, "128/80 hr 80")
    assert check(states_at(floor, 44), "BP recheck +55 min").status is CheckStatus.UPCOMING


def test_a_flagged_correction_adds_its_own_recheck_and_the_first_keeps_its_label():
    floor, flagged = flagged_session()
    correct(floor, flagged, 40, "184/96 hr 80")
    got = [(s.label, s.reading_id) for s in rechecks(states_at(floor, 41))]
    assert got == [("BP recheck +55 min", flagged.id), ("BP recheck +55 min #2", flagged.id + 1)]


def test_voiding_the_flagged_reading_cancels_its_recheck_still_listed_never_an_alarm():
    floor, flagged = flagged_session()
    void(floor, flagged)
    for now in (41, 60, 86, 200):
        [recheck] = rechecks(states_at(floor, now))
        assert recheck.cancelled == RECHECK_VOIDED == "reading voided"
        assert recheck.status is CheckStatus.UPCOMING
        assert not recheck.is_alarm and not recheck.pending and not recheck.can_skip
        assert status_text(recheck) == "cancelled: reading voided"
    states = states_at(floor, 86)
    assert next_check(states).label != "BP recheck +55 min"
    closed = check(at_discharge(states, ended_early=True), "BP recheck +55 min")
    assert closed.status is CheckStatus.NOT_REACHED and not closed.ended_early
    assert count_checks([closed]) == CheckCounts()  # never counted, never missed


def test_voiding_the_correction_that_restated_a_flagged_reading_cancels_its_recheck():
    floor, flagged = flagged_session()
    corrected = correct(floor, flagged, 40, "128/80 hr 80")
    void(floor, corrected)
    [recheck] = rechecks(states_at(floor, 90))
    assert (recheck.reading_id, recheck.cancelled) == (flagged.id, "reading voided")


def test_a_cancelled_recheck_done_all_the_same_stays_done():
    floor, flagged = flagged_session()
    floor.add(50, "130/80 hr 72")
    void(floor, flagged)
    [recheck] = rechecks(states_at(floor, 51))
    assert (recheck.status, recheck.cancelled) == (CheckStatus.DONE, "reading voided")


# -- a closed record: never upcoming; ended early by an override ----------------------------


def test_an_early_override_discharge_leaves_its_checks_not_reached_ended_early():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(40, OK)
    assert ends_early(ESK, DOSED, at(60))
    closed = at_discharge(states_at(floor, 60), ended_early=True)
    assert CheckStatus.UPCOMING not in {c.status for c in closed}
    got = {c.label: (c.status.value, c.ended_early) for c in closed}
    assert got["+40 min"] == ("done", False)
    assert got["+15 min"] == ("missed", False)
    assert got["+60 min"] == ("missed", False)  # due when the patient left
    assert got["+90 min"] == got["+120 min"] == ("not_reached", True)
    assert status_text(check(closed, "+90 min")) == ENDED_EARLY
    assert ENDED_EARLY == "observation ended early (override)"
    assert count_checks(closed) == CheckCounts(
        on_time=1, late=0, missed=3, not_reached=2, ended_early=2
    )


@pytest.mark.parametrize(
    ("protocol", "minute", "early"),
    [
        (ESK, 119.99, True),
        (ESK, 120, False),
        (ESK, 300, False),
        (P["ketamine-iv"], 99, True),
        (P["ketamine-iv"], 100, False),
        (for_infusion(P["ketamine-iv"], 50), 105, True),  # the minimum counts from the end
        (for_infusion(P["ketamine-iv"], 50), 110, False),
    ],
)
def test_a_discharge_before_the_minimum_observation_ends_it_early(protocol, minute, early):
    assert ends_early(protocol, DOSED, at(minute)) is early


def test_a_session_never_dosed_never_ends_early():
    assert not ends_early(ESK, None, at(10))


def test_a_discharge_at_the_minimum_leaves_nothing_ended_early():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(118, "182/96 hr 80")  # a recheck due at +133, after the discharge at +125
    closed = at_discharge(states_at(floor, 125), ended_early=ends_early(ESK, DOSED, at(125)))
    recheck = check(closed, "BP recheck +133 min")
    assert (recheck.status, recheck.ended_early) == (CheckStatus.NOT_REACHED, False)
    assert status_text(recheck) == "not reached"
    assert count_checks(closed).ended_early == 0


# -- which check a reading served ----------------------------------------------------------


def test_each_reading_served_one_check_at_most_and_its_label_is_kept():
    floor = Floor()
    base = floor.add(-5, OK)
    peak = floor.add(52, "182/96 hr 80 spo2 98 moaas 5 cadss 0")  # +40 late; flagged
    after = floor.add(58, "130/80 hr 72")  # +60's on-time window, no measure of it: the recheck
    rr = floor.add(59, "rr 14")  # no measure of any check
    pre = floor.add(121, OK)
    served = served_checks(states_at(floor, 125))
    assert served == {
        base.id: "baseline",
        peak.id: "+40 min",
        after.id: "BP recheck +67 min",
        pre.id: "+120 min",
    }
    assert rr.id not in served


def test_what_a_reading_served_and_the_checks_before_it_not_done():
    floor = Floor()
    floor.add(-5, OK)
    reading = floor.add(52, OK)
    told = served_by_reading(states_at(floor, 53), reading.id, reading.measured_at)
    assert [(c.label, c.status, c.late) for c in told.checks] == [
        ("+40 min", CheckStatus.DONE, True)
    ]
    assert [(c.label, status_text(c)) for c in told.not_done] == [
        ("+15 min", "missed"),
        ("+30 min", "overdue"),
    ]


def test_a_check_served_but_not_complete_says_what_it_still_needs():
    floor = Floor()
    floor.add(-5, OK)
    reading = floor.add(40, "130/80 hr 70")
    told = served_by_reading(states_at(floor, 41), reading.id, reading.measured_at)
    [served] = told.checks
    assert served.status is CheckStatus.DUE
    assert [m.value for m in served.missing] == ["spo2", "moaas", "cadss"]


def test_a_reading_serving_a_check_and_a_recheck_names_both_the_scheduled_first():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(80, "182/96 hr 80")
    reading = floor.add(90, OK)
    told = served_by_reading(states_at(floor, 91), reading.id, reading.measured_at)
    assert [c.label for c in told.checks] == ["+90 min", "BP recheck +95 min"]
    assert served_checks(states_at(floor, 91))[reading.id] == "+90 min"


def test_explained_and_cancelled_checks_are_not_left_not_done():
    floor, flagged = flagged_session()
    void(floor, flagged)
    reading = floor.add(75, "moaas 5 spo2 98")  # +60 on time
    skips = {"+15 min": CheckSkip("ana", at(50), "asleep")}
    states = states_at(floor, 76, skips=skips)
    told = served_by_reading(states, reading.id, reading.measured_at)
    assert [c.label for c in told.checks] == ["+60 min"]
    # +15 explained, the recheck cancelled; +40 was the voided reading's
    assert [c.label for c in told.not_done] == ["+30 min", "+40 min"]


def test_before_dosing_a_reading_serves_the_baseline():
    floor = Floor(dosed=False)
    reading = floor.add(-5, "120/80 hr 70")
    states = check_states(ESK, None, floor.readings, at(-4))
    told = served_by_reading(states, reading.id, reading.measured_at)
    assert [c.label for c in told.checks] == ["baseline"] and told.not_done == ()
    assert [m.value for m in told.checks[0].missing] == ["spo2", "moaas", "cadss"]
