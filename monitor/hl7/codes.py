"""Which observations a monitor's message carries, and in which units (docs/hl7.md, "Codes
and units").

An observation (OBX-3) is known by its IEEE 11073 MDC code or its LOINC code; everything else
(temperature, mean pressure, alarms) is ignored, never an error. A known observation's unit
(OBX-6) must be one its measure accepts: blood pressure in mmHg or kPa, rates per minute,
SpO2 in percent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from monitor.core.vitals import Measure


@dataclass(frozen=True)
class Vital:
    """A known observation: the measure it gives and its preference (0 is the most trusted;
    docs/hl7.md, "Several sources of one measure")."""

    measure: Measure
    rank: int
    name: str


def _mdc(measure: Measure, name: str, rank: int = 0) -> Vital:
    return Vital(measure, rank, name)


#: IEEE 11073-10101 codes, context-free (partition * 65536 + code), by their decimal text.
MDC_CODES: dict[str, Vital] = {
    "150021": _mdc(Measure.SYSTOLIC, "MDC_PRESS_BLD_NONINV_SYS"),
    "150022": _mdc(Measure.DIASTOLIC, "MDC_PRESS_BLD_NONINV_DIA"),
    "150301": _mdc(Measure.SYSTOLIC, "MDC_PRESS_CUFF_SYS"),
    "150302": _mdc(Measure.DIASTOLIC, "MDC_PRESS_CUFF_DIA"),
    "147842": _mdc(Measure.HEART_RATE, "MDC_ECG_HEART_RATE", 0),
    "149530": _mdc(Measure.HEART_RATE, "MDC_PULS_OXIM_PULS_RATE", 1),
    "149546": _mdc(Measure.HEART_RATE, "MDC_PULS_RATE_NON_INV", 2),
    "149514": _mdc(Measure.HEART_RATE, "MDC_PULS_RATE", 3),
    "150456": _mdc(Measure.SPO2, "MDC_PULS_OXIM_SAT_O2"),
    "151562": _mdc(Measure.RESP_RATE, "MDC_RESP_RATE", 0),
    "151578": _mdc(Measure.RESP_RATE, "MDC_TTHOR_RESP_RATE", 1),
    "151552": _mdc(Measure.RESP_RATE, "MDC_RESP", 2),
}

#: The same, by reference id (a sender may give only ``MDC_PRESS_BLD_NONINV_SYS``).
MDC_NAMES: dict[str, Vital] = {vital.name: vital for vital in MDC_CODES.values()}

#: LOINC codes.
LOINC_CODES: dict[str, Vital] = {
    "8480-6": Vital(Measure.SYSTOLIC, 0, "Systolic blood pressure"),
    "8462-4": Vital(Measure.DIASTOLIC, 0, "Diastolic blood pressure"),
    "8867-4": Vital(Measure.HEART_RATE, 0, "Heart rate"),
    "8889-8": Vital(Measure.HEART_RATE, 1, "Heart rate by Pulse oximetry"),
    "59408-5": Vital(Measure.SPO2, 0, "Oxygen saturation by Pulse oximetry"),
    "2708-6": Vital(Measure.SPO2, 0, "Oxygen saturation in Arterial blood"),
    "20564-1": Vital(Measure.SPO2, 0, "Oxygen saturation in Blood"),
    "9279-1": Vital(Measure.RESP_RATE, 0, "Respiratory rate"),
}

_MDC_SYSTEMS = {"MDC", "99MDC", "ISO11073", "IEEE11073"}
_LOINC_SYSTEMS = {"LN", "LOINC"}
#: Philips' MDIL writes an MDC code as partition-code in hex: ``0002-4a05`` is 150021.
_MDIL = re.compile(r"([0-9A-Fa-f]{4})-([0-9A-Fa-f]{4})")


def mdil_to_mdc(text: str) -> str:
    """``0002-4a05`` (MDIL) -> ``150021`` (MDC); other text unchanged."""
    match = _MDIL.fullmatch(text)
    if match is None:
        return text
    return str(int(match[1], 16) * 65536 + int(match[2], 16))


def identify(components: Sequence[str]) -> Vital | None:
    """The known observation an OBX-3 names, from its components (identifier, text, coding
    system, then the alternate triple), or ``None`` when it is not one of ours."""
    padded = [*components, "", "", "", "", "", ""]
    for code, text, system in (padded[0:3], padded[3:6]):
        found = _identify_one(code.strip(), text.strip(), system.strip().upper())
        if found is not None:
            return found
    return None


def _identify_one(code: str, text: str, system: str) -> Vital | None:
    if system in _LOINC_SYSTEMS:
        return LOINC_CODES.get(code)
    if system == "MDIL":
        code = mdil_to_mdc(code)
    if system in _MDC_SYSTEMS or system == "MDIL":
        return MDC_CODES.get(code) or MDC_NAMES.get(text.upper())
    if text.upper().startswith("MDC_"):
        return MDC_CODES.get(code) or MDC_NAMES.get(text.upper())
    if code.upper().startswith("MDC_"):
        return MDC_NAMES.get(code.upper())
    return None


class Unit(Enum):
    """A unit a known observation may come in."""

    MMHG = "mmHg"
    KPA = "kPa"
    PER_MIN = "/min"
    PERCENT = "%"


#: Spellings, lower case and without spaces: UCUM, MDC codes and reference ids, common text.
_UNIT_SPELLINGS: dict[str, Unit] = {
    **dict.fromkeys(["mmhg", "mm[hg]", "266016", "mdc_dim_mmhg"], Unit.MMHG),
    **dict.fromkeys(["kpa", "265987", "mdc_dim_kilo_pascal"], Unit.KPA),
    **dict.fromkeys(["%", "percent", "262688", "mdc_dim_percent"], Unit.PERCENT),
    **dict.fromkeys(
        [
            "/min",
            "1/min",
            "min-1",
            "{beats}/min",
            "{beat}/min",
            "{breaths}/min",
            "{breath}/min",
            "{resp}/min",
            "beats/min",
            "breaths/min",
            "bpm",
            "rpm",
            "brpm",
            "264864",
            "mdc_dim_beat_per_min",
            "264928",
            "mdc_dim_resp_per_min",
        ],
        Unit.PER_MIN,
    ),
}

#: The units each measure accepts; the first is its standard unit, assumed when OBX-6 is empty.
ACCEPTED_UNITS: dict[Measure, tuple[Unit, ...]] = {
    Measure.SYSTOLIC: (Unit.MMHG, Unit.KPA),
    Measure.DIASTOLIC: (Unit.MMHG, Unit.KPA),
    Measure.HEART_RATE: (Unit.PER_MIN,),
    Measure.RESP_RATE: (Unit.PER_MIN,),
    Measure.SPO2: (Unit.PERCENT,),
}

#: 1 kPa in mmHg.
MMHG_PER_KPA = Decimal("7.50062")


def read_unit(components: Sequence[str]) -> Unit | None:
    """The unit an OBX-6 names (its identifier or its text, MDIL codes read as MDC), or
    ``None`` when neither is a unit we know."""
    padded = [*components, "", "", ""]
    candidates = [padded[0], padded[1]]
    if padded[2].strip().upper() == "MDIL":
        candidates.insert(0, mdil_to_mdc(padded[0].strip()))
    for text in candidates:
        unit = _UNIT_SPELLINGS.get("".join(text.split()).lower())
        if unit is not None:
            return unit
    return None


def standard_value(value: Decimal, unit: Unit) -> int:
    """The value in its measure's standard unit, rounded to the nearest whole number (halves
    up): kPa is converted to mmHg."""
    if unit is Unit.KPA:
        value = value * MMHG_PER_KPA
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
