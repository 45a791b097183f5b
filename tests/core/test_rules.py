"""Threshold rules (docs/clinical.md, "Thresholds and flags"): every boundary on both sides."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.rules import Band, Severity, Thresholds, evaluate
from monitor.core.vitals import Measure, Vitals
from monitor.errors import ConfigError

T = Thresholds()


def severities(vitals: Vitals, **kwargs) -> dict[str, set[str]]:
    options = {"before_dosing": False, "age": 50, "baseline": Vitals()} | kwargs
    found: dict[str, set[str]] = {}
    for flag in evaluate(vitals, thresholds=T, **options):
        found.setdefault(flag.measure, set()).add(flag.severity.value)
    return found


def absolute(measure: str, value: int) -> set[str]:
    if measure == "systolic":
        vitals = Vitals(systolic=value, diastolic=40)
    elif measure == "diastolic":
        vitals = Vitals(systolic=250, diastolic=value)
    else:
        vitals = Vitals(**{measure: value})
    return severities(vitals).get(measure, set())


@pytest.mark.parametrize(
    ("measure", "value", "expected"),
    [
        # systolic, any time: high >= 180 or <= 90; medium 91-100
        ("systolic", 179, set()),
        ("systolic", 180, {"high"}),
        ("systolic", 181, {"high"}),
        ("systolic", 90, {"high"}),
        ("systolic", 91, {"medium"}),
        ("systolic", 100, {"medium"}),
        ("systolic", 101, set()),
        ("systolic", 89, {"high"}),
        ("systolic", 50, {"high"}),
        # diastolic, any time: high >= 110
        ("diastolic", 109, set()),
        ("diastolic", 110, {"high"}),
        ("diastolic", 111, {"high"}),
        # heart rate: high <= 40 or >= 131; medium 41-50 or 111-130; low 91-110
        ("heart_rate", 40, {"high"}),
        ("heart_rate", 41, {"medium"}),
        ("heart_rate", 50, {"medium"}),
        ("heart_rate", 51, set()),
        ("heart_rate", 90, set()),
        ("heart_rate", 91, {"low"}),
        ("heart_rate", 110, {"low"}),
        ("heart_rate", 111, {"medium"}),
        ("heart_rate", 130, {"medium"}),
        ("heart_rate", 131, {"high"}),
        ("heart_rate", 20, {"high"}),
        ("heart_rate", 300, {"high"}),
        # SpO2: high <= 91; medium 92-93; low 94-95
        ("spo2", 91, {"high"}),
        ("spo2", 92, {"medium"}),
        ("spo2", 93, {"medium"}),
        ("spo2", 94, {"low"}),
        ("spo2", 95, {"low"}),
        ("spo2", 96, set()),
        ("spo2", 100, set()),
        # respiratory rate: high <= 8 or >= 25; medium 21-24; low 9-11
        ("resp_rate", 8, {"high"}),
        ("resp_rate", 9, {"low"}),
        ("resp_rate", 11, {"low"}),
        ("resp_rate", 12, set()),
        ("resp_rate", 20, set()),
        ("resp_rate", 21, {"medium"}),
        ("resp_rate", 24, {"medium"}),
        ("resp_rate", 25, {"high"}),
        # MOAA/S: high <= 2; medium 3; low 4
        ("moaas", 0, {"high"}),
        ("moaas", 2, {"high"}),
        ("moaas", 3, {"medium"}),
        ("moaas", 4, {"low"}),
        ("moaas", 5, set()),
        # CADSS: low > 4
        ("cadss", 4, set()),
        ("cadss", 5, {"low"}),
        ("cadss", 0, set()),
        ("cadss", 92, {"low"}),
    ],
)
def test_absolute_bands(measure, value, expected):
    assert absolute(measure, value) == expected


@pytest.mark.parametrize(
    ("systolic", "diastolic", "age", "expected"),
    [
        (140, 90, 50, {}),
        (141, 90, 50, {"systolic": {"medium"}}),
        (140, 91, 50, {"diastolic": {"medium"}}),
        (141, 91, 64, {"systolic": {"medium"}, "diastolic": {"medium"}}),
        (150, 80, 65, {}),
        (151, 80, 65, {"systolic": {"medium"}}),
        (145, 80, 64, {"systolic": {"medium"}}),
        (145, 80, 65, {}),
        (145, 80, None, {"systolic": {"medium"}}),
        (185, 80, 70, {"systolic": {"high", "medium"}}),
    ],
)
def test_before_dosing_bp_asks_for_review(systolic, diastolic, age, expected):
    found = severities(Vitals(systolic=systolic, diastolic=diastolic), before_dosing=True, age=age)
    assert found == expected


def test_before_dosing_rule_does_not_fire_after_dosing():
    assert severities(Vitals(systolic=150, diastolic=95), before_dosing=False) == {}


@pytest.mark.parametrize(
    ("systolic", "diastolic", "expected"),
    [
        (159, 104, {}),
        (160, 104, {"systolic": {"medium"}}),
        (159, 105, {"diastolic": {"medium"}}),
        (160, 105, {"systolic": {"medium"}, "diastolic": {"medium"}}),
    ],
)
def test_rise_from_baseline(systolic, diastolic, expected):
    baseline = Vitals(systolic=120, diastolic=80)
    found = severities(Vitals(systolic=systolic, diastolic=diastolic), baseline=baseline)
    assert found == expected


def test_rise_needs_a_baseline_of_that_measure():
    found = severities(Vitals(systolic=170, diastolic=105), baseline=Vitals(systolic=120))
    assert found == {"systolic": {"medium"}}
    assert severities(Vitals(systolic=170, diastolic=105), baseline=Vitals()) == {}


def test_rise_is_not_judged_before_dosing():
    found = severities(
        Vitals(systolic=139, diastolic=89), before_dosing=True, baseline=Vitals(90, 50)
    )
    assert found == {}


def test_each_rule_fires_independently():
    flags = evaluate(
        Vitals(systolic=185, diastolic=112),
        before_dosing=False,
        age=50,
        baseline=Vitals(systolic=130, diastolic=80),
        thresholds=T,
    )
    assert {f.rule for f in flags} == {
        "systolic.high.above",
        "diastolic.high.above",
        "bp.rise.systolic",
        "bp.rise.diastolic",
    }
    assert flags[0].severity is Severity.HIGH


def test_flag_messages_read_as_a_nurse_reads_them():
    flags = evaluate(
        Vitals(systolic=182, diastolic=90, heart_rate=45),
        before_dosing=False,
        age=50,
        baseline=Vitals(),
        thresholds=T,
    )
    messages = {f.message for f in flags}
    assert "SBP 182 >= 180: severe elevation" in messages
    assert "HR 45 in 41-50: bradycardia" in messages


def test_rule_ids_are_stable():
    rules = {
        f.rule
        for f in evaluate(
            Vitals(88, 50, 135, 91, 7, 2, 9),
            before_dosing=False,
            age=50,
            baseline=Vitals(),
            thresholds=T,
        )
    }
    assert rules == {
        "systolic.high.below",
        "heart_rate.high.above",
        "spo2.high.below",
        "resp_rate.high.below",
        "moaas.high.below",
        "cadss.low.above",
    }


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("<=40", [40, 0], [41]),
        (">=131", [131, 300], [130]),
        ("<90", [89], [90]),
        (">4", [5], [4]),
        ("41-50", [41, 50], [40, 51]),
        ("3", [3], [2, 4]),
    ],
)
def test_band_bounds_are_inclusive_as_written(text, inside, outside):
    band = Band.parse(text)
    assert all(band.contains(v) for v in inside)
    assert not any(band.contains(v) for v in outside)


@pytest.mark.parametrize("text", ["", "abc", "=>5", "50-40", "1-2-3", "4.5"])
def test_bad_band_is_refused(text):
    with pytest.raises(ConfigError):
        Band.parse(text)


@given(st.integers(20, 300))
def test_heart_rate_gets_at_most_one_absolute_flag(value):
    flags = [
        f
        for f in evaluate(
            Vitals(heart_rate=value), before_dosing=False, age=None, baseline=Vitals(), thresholds=T
        )
        if f.measure == Measure.HEART_RATE
    ]
    assert len(flags) <= 1
