"""The discharge gate and the REMS "ready to leave at" minute (docs/clinical.md)."""

from __future__ import annotations

import pytest

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
        "latest BP 95/60 carries a medium flag: recheck BP (acknowledging does not make it safe)",
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
    # minimum, pre-discharge, the flagged BP HR SpO2 MOAA/S, the three criteria, the flags
    assert len(reasons) == 10, reasons


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


def test_rems_ready_minute_waits_for_the_acknowledgement():
    floor = Floor()
    floor.add(-5, OK)
    floor.add(40, "120/80 hr 120 spo2 98 moaas 5 cadss 0")
    floor.add(116, OK)
    floor.readings[1] = floor.readings[1].__class__(
        floor.readings[1].id,
        floor.readings[1].measured_at,
        floor.readings[1].vitals,
        tuple(f.__class__(f.flag, at(125)) for f in floor.readings[1].flags),
    )
    assert ready_to_leave_minute(ESK, DOSED, floor.readings, at(130)) == 125


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
        "latest value of every measure without a medium or high flag",
        "latest MOAA/S 5",
        "latest CADSS <= 4",
        "latest SpO2 >= 94",
        "every medium/high flag acknowledged",
    ]
    assert [i.ok for i in items] == [False, False, False, True, True, True, False]
    assert all(i.detail for i in items if not i.ok)
    assert all(i.ok for i in gate(good_session(), 121).items)
