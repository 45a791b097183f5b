"""The discharge gate and the REMS "ready to leave at" minute (docs/clinical.md)."""

from __future__ import annotations

import pytest

from monitor.core.entry import parse_entry
from monitor.core.gate import evaluate_gate
from monitor.core.ready_minute import ready_to_leave_minute
from monitor.core.schedule import default_protocols
from tests.helpers import DOSED, Floor, at

ESK = default_protocols()["esketamine-84"]
IM = default_protocols()["ketamine-im"]
OK = "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0"


def good_session(pre_discharge_at: float = 118) -> Floor:
    floor = Floor()
    floor.add(-5, OK)
    floor.add(pre_discharge_at, OK)
    return floor


def gate(floor: Floor, now: float, protocol=ESK, dosed=True):
    return evaluate_gate(protocol, DOSED if dosed else None, floor.readings, at(now))


def test_ready_when_every_condition_holds():
    result = gate(good_session(), 120)
    assert result.ready, result.reasons
    assert result.reasons == ()


@pytest.mark.parametrize(("now", "ready"), [(119.99, False), (120, True), (121, True)])
def test_minimum_observation_time(now, ready):
    result = gate(good_session(), now)
    assert result.ready is ready
    if not ready:
        assert result.reasons == (
            "minimum observation of 120 min after dosing not reached (119 min since dosing)",
        )


def test_not_dosed_is_not_ready():
    result = gate(good_session(), 200, dosed=False)
    assert "dose not recorded" in result.reasons


def test_pre_discharge_check_must_be_done_and_late_counts():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(90, OK)
    assert "pre-discharge check (+120 min) not done" in gate(floor, 130).reasons
    floor.add(140, OK)  # +20 after due: late, still counts
    assert gate(floor, 141).ready


def test_pre_discharge_check_is_never_missed():
    floor = Floor()
    floor.add(-5, OK)
    assert "pre-discharge check (+120 min) not done" in gate(floor, 300).reasons
    floor.add(301, OK)  # long after +30: still completes it (late)
    assert gate(floor, 302).ready


@pytest.mark.parametrize(
    ("entry", "reason_part"),
    [
        ("moaas 4", "latest MOAA/S is 4 (must be 5)"),
        ("cadss 5", "latest CADSS is 5 (must be <= 4)"),
        ("spo2 93", "latest SpO2 is 93 (must be >= 94)"),
    ],
)
def test_latest_values_must_meet_the_criteria(entry, reason_part):
    floor = good_session()
    floor.add(119, entry, acked_at=119.5)
    reasons = gate(floor, 121).reasons
    assert any(reason_part in r for r in reasons), reasons


@pytest.mark.parametrize(
    ("entry", "ready"), [("cadss 4", True), ("spo2 94", True), ("moaas 5", True)]
)
def test_criteria_boundaries_are_inclusive(entry, ready):
    floor = good_session()
    floor.add(119, entry)
    assert gate(floor, 121).ready is ready


def test_missing_measure_is_a_reason():
    floor = Floor()
    floor.add(-5, "120/80 hr 70")
    reasons = gate(floor, 130).reasons
    assert "no MOAA/S recorded (must be 5)" in reasons
    assert "no CADSS recorded (must be <= 4)" in reasons
    assert "no SpO2 recorded (must be >= 94)" in reasons


def test_latest_bp_with_a_medium_flag_blocks_even_when_acknowledged():
    floor = good_session()
    floor.add(119, "95/60 hr 70", acked_at=119.5)  # SBP 91-100: medium
    reasons = gate(floor, 121).reasons
    assert reasons == (
        "latest BP 95/60 raises a medium flag (SBP 95 in 91-100: low blood pressure): "
        "recheck BP (acknowledging does not make it safe)",
    )


def test_latest_bp_with_only_a_low_flag_does_not_block():
    floor = good_session()
    floor.add(119, "120/80 hr 100")  # HR low flag only
    assert gate(floor, 121).ready


def test_unacknowledged_medium_or_high_flag_blocks_until_acknowledged():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(40, "120/80 hr 120", acked_at=None)  # HR medium, not acknowledged
    floor.add(118, OK)
    assert gate(floor, 121).reasons == ("1 medium/high flag not acknowledged",)

    acked = Floor()
    acked.add(-5, OK)
    acked.add(40, "120/80 hr 120", acked_at=45)
    acked.add(118, OK)
    assert gate(acked, 121).ready


def test_unacknowledged_low_flag_does_not_block():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(40, "120/80 hr 95")
    floor.add(118, OK)
    assert gate(floor, 121).ready


def test_every_failing_condition_is_listed():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(30, "185/95 hr 135 spo2 90 moaas 2 cadss 10")
    reasons = gate(floor, 31).reasons
    # minimum, pre-discharge, the flagged latest values (one condition naming BP HR SpO2
    # MOAA/S), the three criteria, the BP ceiling, the flags (revision 3)
    assert len(reasons) == 8, reasons
    flagged = reasons[2]
    for name in ("BP 185/95", "HR 135", "SpO2 90", "MOAA/S 2"):
        assert f"latest {name} raises a high flag" in flagged
    assert "latest BP is 185/95 (must be <= 159/99, baseline 120/80)" in reasons


def test_ketamine_im_minimum_is_60():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(58, OK)
    assert not gate(floor, 59.9, protocol=IM).ready
    assert gate(floor, 60, protocol=IM).ready


def test_rems_ready_minute_is_from_when_all_but_minimum_and_pre_discharge_held():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(40, "165/95 hr 80 spo2 98 moaas 4 cadss 8", acked_at=44)
    floor.add(90, "130/80 hr 72 spo2 97 moaas 5 cadss 1")
    floor.add(116, OK)
    assert ready_to_leave_minute(ESK, DOSED, floor.readings, at(130)) == 90


@pytest.mark.parametrize("acked_at", [None, 45, 125])
def test_rems_ready_minute_does_not_wait_for_the_acknowledgement(acked_at):
    # revision 3: the proposal follows the patient's values, not when a flag was acknowledged
    floor = Floor()
    floor.add(-5, OK)
    floor.add(40, "120/80 hr 120 spo2 98 moaas 5 cadss 0")
    floor.add(116, OK)
    if acked_at is not None:
        floor.readings[1] = floor.readings[1].__class__(
            floor.readings[1].id,
            floor.readings[1].measured_at,
            floor.readings[1].vitals,
            tuple(f.__class__(f.flag, at(acked_at)) for f in floor.readings[1].flags),
        )
    assert ready_to_leave_minute(ESK, DOSED, floor.readings, at(130)) == 116


def test_rems_ready_minute_is_none_when_never_ready_or_not_dosed():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(116, "moaas 3")
    assert ready_to_leave_minute(ESK, DOSED, floor.readings, at(130)) is None
    assert ready_to_leave_minute(ESK, None, floor.readings, at(130)) is None


def test_gate_checklist_lists_every_condition_with_its_state():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(30, "120/80 hr 120")
    items = gate(floor, 31).items
    assert [i.label for i in items] == [
        "120 min observed since dosing",
        "pre-discharge check (+120 min) done",
        "a full set measured within 30 min",
        "latest value of every measure without a medium or high flag",
        "latest MOAA/S 5",
        "latest CADSS <= 4",
        "latest SpO2 >= 94",
        "latest BP <= 159/99 or no higher than baseline",
        "every medium/high flag acknowledged",
        "every serious event reviewed by a clinician",
    ]
    assert [i.ok for i in items] == [
        False,
        False,
        False,
        False,
        True,
        True,
        True,
        True,
        False,
        True,
    ]
    assert all(i.detail for i in items if not i.ok)
    assert all(i.ok for i in gate(good_session(), 121).items)


# -- revision 3: the new conditions of the gate ----------------------------------------


@pytest.mark.parametrize(("now", "ok"), [(148, True), (148.01, False)])
def test_a_full_set_must_be_measured_within_30_min(now, ok):
    floor = good_session()
    item = next(i for i in gate(floor, now).items if i.label.startswith("a full set"))
    assert item.ok is ok
    if not ok:
        assert item.detail.startswith("no full set in the last 30 min")


def test_a_full_set_may_be_spread_over_readings_within_the_window():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(116, "120/80 hr 70 spo2 98")
    floor.add(119, "moaas 5 cadss 0")
    assert gate(floor, 140).ready
    im = Floor()
    im.add(-5, OK)
    im.add(58, "120/80 hr 70 spo2 98 moaas 5")  # no CADSS: not needed outside esketamine
    item = next(i for i in gate(im, 60, protocol=IM).items if i.label.startswith("a full set"))
    assert item.ok


@pytest.mark.parametrize(
    ("entry", "ok"),
    [("159/99", True), ("160/90", False), ("150/100", False), ("175/105", False)],
)
def test_latest_bp_at_most_the_ceiling(entry, ok):
    floor = good_session()
    floor.add(119, entry, acked_at=119.5)
    item = next(i for i in gate(floor, 121).items if i.label.startswith("latest BP <="))
    assert item.ok is ok


def test_latest_bp_no_higher_than_the_baseline_passes_the_ceiling():
    floor = Floor()
    floor.add(-5, "170/100 hr 70 spo2 98 rr 14 moaas 5 cadss 0", acked_at=-4)
    floor.add(118, "165/100 hr 70 spo2 98 rr 14 moaas 5 cadss 0")
    item = next(i for i in gate(floor, 121).items if i.label.startswith("latest BP <="))
    assert item.ok
    higher = Floor()
    higher.add(-5, "170/100 hr 70 spo2 98 rr 14 moaas 5 cadss 0", acked_at=-4)
    higher.add(118, "172/100 hr 70 spo2 98 rr 14 moaas 5 cadss 0")
    item = next(i for i in gate(higher, 121).items if i.label.startswith("latest BP <="))
    assert not item.ok
    assert item.detail == "latest BP is 172/100 (must be <= 159/99, baseline 170/100)"


def test_latest_values_are_judged_again_under_the_baseline_in_force():
    from monitor.core.gate import Patient
    from monitor.core.observations import Observation
    from monitor.core.rules import Thresholds

    floor = Floor()
    floor.add(-5, "105/65 hr 70 spo2 98 rr 14 moaas 5 cadss 0")
    # saved when no baseline was known: 150/95 stored without its rise flags
    stored = Observation(2, at(118), parse_entry("150/95 hr 70 spo2 98 rr 14 moaas 5 cadss 0"))
    floor.readings.append(stored)
    assert gate(floor, 121).ready  # judged by the stored flags only
    result = evaluate_gate(ESK, DOSED, floor.readings, at(121), patient=Patient(50, Thresholds()))
    assert not result.ready
    assert result.reasons[0].startswith("latest BP 150/95 raises a medium flag")


def test_an_open_serious_event_blocks_until_a_clinician_reviews_it():
    from monitor.core.gate import EventAlarm

    floor = good_session()
    alarm = EventAlarm(at(60), None, "adverse event: suicidal-thoughts")
    result = evaluate_gate(ESK, DOSED, floor.readings, at(121), alarms=[alarm])
    assert result.reasons == (
        "serious event not reviewed by a clinician: adverse event: suicidal-thoughts",
    )
    reviewed = EventAlarm(at(60), at(70), "adverse event: suicidal-thoughts")
    assert evaluate_gate(ESK, DOSED, floor.readings, at(121), alarms=[reviewed]).ready
    assert not evaluate_gate(ESK, DOSED, floor.readings, at(65), alarms=[reviewed]).items[-1].ok


@pytest.mark.parametrize(
    ("escort", "instructed", "reasons"),
    [
        ("spouse", True, 0),
        ("none: walks to the hotel next door", True, 0),
        (None, True, 1),
        ("  ", True, 1),
        ("spouse", False, 1),
        (None, None, 2),
    ],
)
def test_escort_and_no_driving_instruction(escort, instructed, reasons):
    from monitor.core.gate import Departure

    floor = good_session()
    result = evaluate_gate(
        ESK, DOSED, floor.readings, at(121), departure=Departure(escort, instructed)
    )
    assert len(result.reasons) == reasons, result.reasons
    labels = [i.label for i in result.items]
    assert labels[-2:] == ["escort recorded", "no-driving instruction given"]
