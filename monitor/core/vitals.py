"""Measures, a set of vitals, and the values refused as impossible (docs/clinical.md, "Impossible
values").

An impossible value is refused: nothing is saved. A clinically alarming value is *not*
impossible: it is saved and flagged by :mod:`monitor.core.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum

from monitor.errors import EntryError


class Measure(StrEnum):
    """One measured quantity; the value is the column and JSON name."""

    SYSTOLIC = "systolic"
    DIASTOLIC = "diastolic"
    HEART_RATE = "heart_rate"
    SPO2 = "spo2"
    RESP_RATE = "resp_rate"
    MOAAS = "moaas"
    CADSS = "cadss"

    @property
    def abbreviation(self) -> str:
        """The short name a nurse reads in a message ("SBP", "HR")."""
        return _ABBREVIATIONS[self]


_ABBREVIATIONS = {
    Measure.SYSTOLIC: "SBP",
    Measure.DIASTOLIC: "DBP",
    Measure.HEART_RATE: "HR",
    Measure.SPO2: "SpO2",
    Measure.RESP_RATE: "RR",
    Measure.MOAAS: "MOAA/S",
    Measure.CADSS: "CADSS",
}


class CheckMeasure(StrEnum):
    """What a scheduled check asks for; ``bp`` means systolic and diastolic together."""

    BP = "bp"
    HR = "hr"
    SPO2 = "spo2"
    RR = "rr"
    MOAAS = "moaas"
    CADSS = "cadss"


CHECK_MEASURE_COLUMNS: dict[CheckMeasure, tuple[Measure, ...]] = {
    CheckMeasure.BP: (Measure.SYSTOLIC, Measure.DIASTOLIC),
    CheckMeasure.HR: (Measure.HEART_RATE,),
    CheckMeasure.SPO2: (Measure.SPO2,),
    CheckMeasure.RR: (Measure.RESP_RATE,),
    CheckMeasure.MOAAS: (Measure.MOAAS,),
    CheckMeasure.CADSS: (Measure.CADSS,),
}

#: Inclusive ranges outside which a value is impossible (docs/clinical.md, "Impossible values").
POSSIBLE_RANGES: dict[Measure, tuple[int, int]] = {
    Measure.SYSTOLIC: (50, 300),
    Measure.DIASTOLIC: (20, 200),
    Measure.HEART_RATE: (20, 300),
    Measure.SPO2: (50, 100),
    Measure.RESP_RATE: (2, 80),
    Measure.MOAAS: (0, 5),
    Measure.CADSS: (0, 92),
}

#: A measurement time may be at most this far in the future.
MAX_FUTURE = timedelta(minutes=2)


@dataclass(frozen=True)
class Vitals:
    """Any subset of the measures; ``None`` means not measured."""

    systolic: int | None = None
    diastolic: int | None = None
    heart_rate: int | None = None
    spo2: int | None = None
    resp_rate: int | None = None
    moaas: int | None = None
    cadss: int | None = None

    def get(self, measure: Measure) -> int | None:
        """The value of one measure, or ``None``."""
        return getattr(self, measure.value)

    def items(self) -> list[tuple[Measure, int]]:
        """The measures present, in the canonical order."""
        return [(m, v) for m in Measure if (v := self.get(m)) is not None]

    def as_dict(self) -> dict[str, int | None]:
        """Every measure by its column name, ``None`` where not measured."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def is_empty(self) -> bool:
        """True when no measure is present."""
        return not self.items()

    def covers(self, check_measure: CheckMeasure) -> bool:
        """True when this set has every column the check measure needs."""
        return all(self.get(m) is not None for m in CHECK_MEASURE_COLUMNS[check_measure])


def validate_vitals(vitals: Vitals) -> Vitals:
    """Refuse impossible values (docs/clinical.md, "Impossible values"); return the vitals
    unchanged when possible."""
    if vitals.is_empty():
        raise EntryError("no measure given: enter at least one, e.g. '142/88 hr 76'")
    for measure, value in vitals.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise EntryError(f"{measure.value} must be a whole number, got {value!r}")
        low, high = POSSIBLE_RANGES[measure]
        if not low <= value <= high:
            raise EntryError(f"{measure.abbreviation} {value} is impossible: accepted {low}-{high}")
    if vitals.systolic is not None and vitals.diastolic is not None:
        if vitals.diastolic >= vitals.systolic:
            raise EntryError(
                f"BP {vitals.systolic}/{vitals.diastolic} is impossible: "
                "diastolic must be below systolic"
            )
    elif (vitals.systolic is None) != (vitals.diastolic is None):
        raise EntryError("blood pressure needs both systolic and diastolic, e.g. 142/88")
    return vitals


def local_minute(moment: datetime) -> str:
    """``2026-11-27 09:00``: an aware moment in the station's local time, to the minute, as a
    refusal shows it (the form a user types back)."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def validate_measured_at(measured_at: datetime, now: datetime) -> datetime:
    """Refuse a measurement time more than two minutes in the future."""
    if measured_at.tzinfo is None:
        raise ValueError("measured_at must be timezone-aware")
    if measured_at - now > MAX_FUTURE:
        raise EntryError(
            f"measurement time {local_minute(measured_at)} is in the future: "
            "it may be at most 2 min ahead of now"
        )
    return measured_at
