"""Threshold rules: which flags a reading raises (docs/clinical.md, "Thresholds and flags").

Bounds are inclusive as written and each rule fires independently: a systolic of 185 that is
also 45 above baseline raises both a high and a medium flag. Flags are evaluated once, when a
reading is saved, against the dosing time known then, and kept with the reading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from monitor.core.vitals import Measure, Vitals
from monitor.errors import ConfigError


class Severity(StrEnum):
    """IEC 60601-1-8 alarm priority."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """3 for high, 2 for medium, 1 for low: larger is more urgent."""
        return {"high": 3, "medium": 2, "low": 1}[self.value]

    @property
    def symbol(self) -> str:
        """The symbol count that keeps colour from being the only cue."""
        return "!" * self.rank

    @property
    def needs_action(self) -> bool:
        """Medium and high flags must be acknowledged and block discharge."""
        return self.rank >= 2


@dataclass(frozen=True)
class Flag:
    """One rule that fired for one measure of one reading."""

    measure: str
    severity: Severity
    rule: str
    message: str


_BAND = re.compile(
    r"^\s*(?:(<=|>=|<|>)\s*(-?[0-9]+)|(-?[0-9]+)(?:\s*-\s*(-?[0-9]+))?)\s*$", re.ASCII
)


@dataclass(frozen=True)
class Band:
    """An inclusive range of whole numbers, written as in the configuration."""

    text: str
    low: int | None
    high: int | None

    @classmethod
    def parse(cls, text: str) -> Band:
        """Read ``"<=40"``, ``">=131"``, ``"41-50"``, ``">4"``, ``"<90"`` or ``"3"``."""
        match = _BAND.match(text) if isinstance(text, str) else None
        if not match:
            raise ConfigError(
                f"band {text!r} is not understood: write '<=N', '>=N', '<N', '>N' or 'N-M'"
            )
        op, number, first, last = match.groups()
        if op is None:
            low = int(first)
            high = low if last is None else int(last)
            if low == high:
                return cls(str(low), low, high)
            if low > high:
                raise ConfigError(f"band {text!r} runs backwards: write the lower bound first")
            return cls(f"{low}-{high}", low, high)
        value = int(number)
        bounds = {
            "<=": (None, value),
            "<": (None, value - 1),
            ">=": (value, None),
            ">": (value + 1, None),
        }[op]
        return cls(f"{op} {value}", *bounds)

    def contains(self, value: int) -> bool:
        """True when the value lies in the band, bounds included."""
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def describe(self, value: int) -> str:
        """How the value meets the band, as a nurse reads it: ``182 >= 180``, ``45 in 41-50``."""
        if self.low is not None and self.low == self.high:
            return str(value)
        if self.low is not None and self.high is not None:
            return f"{value} in {self.text}"
        return f"{value} {self.text}"


#: A value near the middle of normal, to tell a low-side band from a high-side one.
_NORMAL = {
    Measure.SYSTOLIC: 120,
    Measure.DIASTOLIC: 80,
    Measure.HEART_RATE: 75,
    Measure.SPO2: 98,
    Measure.RESP_RATE: 16,
    Measure.MOAAS: 5,
    Measure.CADSS: 0,
}

#: What a band means, by measure and side: (high-severity words, other words).
_MEANING: dict[tuple[Measure, str], tuple[str, str]] = {
    (Measure.SYSTOLIC, "above"): ("severe elevation", "elevation"),
    (Measure.SYSTOLIC, "below"): ("hypotension", "low blood pressure"),
    (Measure.DIASTOLIC, "above"): ("severe elevation", "elevation"),
    (Measure.DIASTOLIC, "below"): ("hypotension", "low blood pressure"),
    (Measure.HEART_RATE, "above"): ("severe tachycardia", "tachycardia"),
    (Measure.HEART_RATE, "below"): ("severe bradycardia", "bradycardia"),
    (Measure.SPO2, "above"): ("high oxygen saturation", "high oxygen saturation"),
    (Measure.SPO2, "below"): ("severe hypoxaemia", "low oxygen saturation"),
    (Measure.RESP_RATE, "above"): ("severe tachypnoea", "fast breathing"),
    (Measure.RESP_RATE, "below"): ("respiratory depression", "slow breathing"),
    (Measure.MOAAS, "above"): ("alert", "alert"),
    (Measure.MOAAS, "below"): ("deep sedation", "moderate sedation"),
    (Measure.CADSS, "above"): ("severe dissociation", "significant dissociation"),
    (Measure.CADSS, "below"): ("low dissociation score", "low dissociation score"),
}


def _side(measure: Measure, band: Band) -> str:
    if band.high is not None and band.high < _NORMAL[measure]:
        return "below"
    return "above"


def _meaning(measure: Measure, severity: Severity, side: str) -> str:
    severe, other = _MEANING[(measure, side)]
    if measure is Measure.MOAAS and side == "below" and severity is Severity.LOW:
        return "lethargic"
    return severe if severity is Severity.HIGH else other


@dataclass(frozen=True)
class AbsoluteThresholds:
    """Bands that flag a measure at any time, by severity."""

    bands: dict[Measure, dict[Severity, tuple[Band, ...]]]


@dataclass(frozen=True)
class PredoseThresholds:
    """Before dosing: clinician review above these (medium)."""

    systolic_max: int = 140
    systolic_max_older: int = 150
    older_age: int = 65
    diastolic_max: int = 90
    severity: Severity = Severity.MEDIUM


@dataclass(frozen=True)
class RiseThresholds:
    """After dosing: a rise from the pre-dose baseline of at least these (medium)."""

    systolic: int = 40
    diastolic: int = 25
    severity: Severity = Severity.MEDIUM


def _bands(**by_severity: list[str]) -> dict[Severity, tuple[Band, ...]]:
    return {
        Severity(name): tuple(Band.parse(t) for t in texts) for name, texts in by_severity.items()
    }


def default_absolute() -> AbsoluteThresholds:
    """The shipped absolute bands (docs/clinical.md, "Thresholds and flags")."""
    return AbsoluteThresholds(
        {
            Measure.SYSTOLIC: _bands(high=[">=180", "<=90"], medium=["91-100"], low=[]),
            Measure.DIASTOLIC: _bands(high=[">=110"], medium=[], low=[]),
            Measure.HEART_RATE: _bands(
                high=["<=40", ">=131"], medium=["41-50", "111-130"], low=["91-110"]
            ),
            Measure.SPO2: _bands(high=["<=91"], medium=["92-93"], low=["94-95"]),
            Measure.RESP_RATE: _bands(high=["<=8", ">=25"], medium=["21-24"], low=["9-11"]),
            Measure.MOAAS: _bands(high=["<=2"], medium=["3"], low=["4"]),
            Measure.CADSS: _bands(high=[], medium=[], low=[">4"]),
        }
    )


@dataclass(frozen=True)
class Thresholds:
    """Every threshold rule in force."""

    absolute: AbsoluteThresholds = field(default_factory=default_absolute)
    predose: PredoseThresholds = field(default_factory=PredoseThresholds)
    rise: RiseThresholds = field(default_factory=RiseThresholds)


def absolute_flags(vitals: Vitals, thresholds: AbsoluteThresholds) -> list[Flag]:
    """Flags from the any-time bands."""
    flags: list[Flag] = []
    for measure, value in vitals.items():
        for severity, bands in thresholds.bands.get(measure, {}).items():
            for band in bands:
                if band.contains(value):
                    side = _side(measure, band)
                    flags.append(
                        Flag(
                            measure=measure.value,
                            severity=severity,
                            rule=f"{measure.value}.{severity.value}.{side}",
                            message=(
                                f"{measure.abbreviation} {band.describe(value)}: "
                                f"{_meaning(measure, severity, side)}"
                            ),
                        )
                    )
    return flags


def predose_flags(vitals: Vitals, age: int | None, thresholds: PredoseThresholds) -> list[Flag]:
    """Before dosing: SBP or DBP above the limit asks for clinician review before dosing.

    Without a known age the stricter (younger) systolic limit applies.
    """
    flags: list[Flag] = []
    older = age is not None and age >= thresholds.older_age
    systolic_max = thresholds.systolic_max_older if older else thresholds.systolic_max
    if vitals.systolic is not None and vitals.systolic > systolic_max:
        age_note = f" (age >= {thresholds.older_age})" if older else ""
        flags.append(
            Flag(
                Measure.SYSTOLIC.value,
                thresholds.severity,
                "bp.predose.systolic",
                f"SBP {vitals.systolic} > {systolic_max} before dosing{age_note}: "
                "clinician review before dosing",
            )
        )
    if vitals.diastolic is not None and vitals.diastolic > thresholds.diastolic_max:
        flags.append(
            Flag(
                Measure.DIASTOLIC.value,
                thresholds.severity,
                "bp.predose.diastolic",
                f"DBP {vitals.diastolic} > {thresholds.diastolic_max} before dosing: "
                "clinician review before dosing",
            )
        )
    return flags


def rise_flags(vitals: Vitals, baseline: Vitals, thresholds: RiseThresholds) -> list[Flag]:
    """After dosing: a rise from the baseline (latest pre-dose value) of at least the limit."""
    flags: list[Flag] = []
    for measure, limit in (
        (Measure.SYSTOLIC, thresholds.systolic),
        (Measure.DIASTOLIC, thresholds.diastolic),
    ):
        value, base = vitals.get(measure), baseline.get(measure)
        if value is None or base is None:
            continue
        rise = value - base
        if rise >= limit:
            flags.append(
                Flag(
                    measure.value,
                    thresholds.severity,
                    f"bp.rise.{measure.value}",
                    f"{measure.abbreviation} {value} is {rise} above baseline {base} "
                    f"(rise >= {limit})",
                )
            )
    return flags


def evaluate(
    vitals: Vitals,
    *,
    before_dosing: bool,
    age: int | None,
    baseline: Vitals,
    thresholds: Thresholds,
) -> list[Flag]:
    """Every flag a reading raises, most severe first.

    ``before_dosing`` is judged against the dosing time known when the reading is saved;
    ``baseline`` holds the latest pre-dose value of each measure (used after dosing only).
    """
    flags = absolute_flags(vitals, thresholds.absolute)
    if before_dosing:
        flags += predose_flags(vitals, age, thresholds.predose)
    else:
        flags += rise_flags(vitals, baseline, thresholds.rise)
    order = {m.value: i for i, m in enumerate(Measure)}
    return sorted(flags, key=lambda f: (-f.severity.rank, order.get(f.measure, 99)))
