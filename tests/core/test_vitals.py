"""Impossible values (docs/clinical.md): refused with a clear error, separate from flags."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.core.vitals import Vitals, validate_measured_at, validate_vitals
from monitor.errors import EntryError
from tests.helpers import DOSED


@pytest.mark.parametrize(
    ("vitals", "ok"),
    [
        (Vitals(systolic=50, diastolic=20), True),
        (Vitals(systolic=49, diastolic=20), False),
        (Vitals(systolic=300, diastolic=200), True),
        (Vitals(systolic=301, diastolic=200), False),
        (Vitals(systolic=250, diastolic=201), False),
        (Vitals(systolic=100, diastolic=19), False),
        (Vitals(systolic=100, diastolic=99), True),
        (Vitals(systolic=100, diastolic=100), False),
        (Vitals(heart_rate=20), True),
        (Vitals(heart_rate=19), False),
        (Vitals(heart_rate=300), True),
        (Vitals(heart_rate=301), False),
        (Vitals(spo2=50), True),
        (Vitals(spo2=49), False),
        (Vitals(spo2=100), True),
        (Vitals(spo2=101), False),
        (Vitals(resp_rate=2), True),
        (Vitals(resp_rate=1), False),
        (Vitals(resp_rate=80), True),
        (Vitals(resp_rate=81), False),
        (Vitals(moaas=0), True),
        (Vitals(moaas=-1), False),
        (Vitals(moaas=5), True),
        (Vitals(moaas=6), False),
        (Vitals(cadss=0), True),
        (Vitals(cadss=-1), False),
        (Vitals(cadss=92), True),
        (Vitals(cadss=93), False),
        (Vitals(heart_rate=76.5), False),  # type: ignore[arg-type]
        (Vitals(moaas=True), False),  # type: ignore[arg-type]
        (Vitals(systolic=120), False),
        (Vitals(), False),
    ],
)
def test_impossible_values_are_refused(vitals, ok):
    if ok:
        assert validate_vitals(vitals) is vitals
    else:
        with pytest.raises(EntryError):
            validate_vitals(vitals)


@pytest.mark.parametrize(
    ("ahead", "ok"),
    [
        (timedelta(0), True),
        (timedelta(minutes=-600), True),
        (timedelta(minutes=2), True),
        (timedelta(minutes=2, seconds=1), False),
        (timedelta(minutes=10), False),
    ],
)
def test_measurement_time_at_most_two_minutes_ahead(ahead, ok):
    if ok:
        assert validate_measured_at(DOSED + ahead, DOSED) == DOSED + ahead
    else:
        with pytest.raises(EntryError, match="at most 2 min ahead"):
            validate_measured_at(DOSED + ahead, DOSED)


def test_alarming_values_are_possible():
    assert validate_vitals(Vitals(systolic=230, diastolic=130, heart_rate=35, spo2=80))
