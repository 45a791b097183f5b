"""Quick entry: one typed line to a set of vitals, and back (docs/interface.md, "Quick entry").

``142/88 hr 76 spo2 98 rr 14 moaas 5 cadss 3``: any subset, at least one measure; keywords in
any case, as ``hr 76`` or ``hr=76``; ``S/D`` (optionally ``bp 142/88``) is blood pressure.
Every refusal names the token and, for a value, the accepted range.
"""

from __future__ import annotations

import re
from dataclasses import replace

from monitor.core.vitals import POSSIBLE_RANGES, Measure, Vitals, validate_vitals
from monitor.errors import EntryError

#: Entry keywords and the measure each one sets.
KEYWORDS: dict[str, Measure] = {
    "hr": Measure.HEART_RATE,
    "spo2": Measure.SPO2,
    "rr": Measure.RESP_RATE,
    "moaas": Measure.MOAAS,
    "cadss": Measure.CADSS,
}
_KEYWORD_OF = {measure: keyword for keyword, measure in KEYWORDS.items()}

_BP = re.compile(r"^([0-9]+)/([0-9]+)$")
_WHOLE = re.compile(r"^[+-]?[0-9]+$")
# "hr = 76" and "142 / 88" are read as "hr=76" and "142/88".
_AROUND_EQUALS = re.compile(r"\s*=\s*")
_AROUND_SLASH = re.compile(r"(?<=[0-9])\s*/\s*(?=[0-9])")


#: A refused token longer than this is shown cut in its message (a pasted screenful of digits
#: must not fill the station's screen and hide the floor's alarms).
SHOWN_TOKEN_MAX = 24


def cut(text: str) -> str:
    """``text`` as a refusal shows it: at most SHOWN_TOKEN_MAX characters, then '…'."""
    return text if len(text) <= SHOWN_TOKEN_MAX else text[:SHOWN_TOKEN_MAX] + "…"


def _quoted(token: str) -> str:
    return f"'{cut(token)}'"


def _range_text(measure: Measure) -> str:
    low, high = POSSIBLE_RANGES[measure]
    return f"{low}-{high}"


def _whole_number(token: str, text: str, measure: Measure) -> int:
    if not _WHOLE.match(text):
        raise EntryError(
            f"{_quoted(token)}: {measure.abbreviation} needs a whole number "
            f"(accepted {_range_text(measure)})"
        )
    low, high = POSSIBLE_RANGES[measure]
    # Cap the length before int(): a huge digit string is simply out of range.
    value = int(text) if len(text) <= 6 else high + 1
    if not low <= value <= high:
        raise EntryError(
            f"{_quoted(token)}: {measure.abbreviation} {cut(text)} is impossible "
            f"(accepted {_range_text(measure)})"
        )
    return value


def _blood_pressure(token: str, text: str) -> tuple[int, int]:
    match = _BP.match(text)
    if not match:
        raise EntryError(
            f"{_quoted(token)}: blood pressure is written systolic/diastolic, e.g. 142/88 "
            f"(systolic {_range_text(Measure.SYSTOLIC)}, "
            f"diastolic {_range_text(Measure.DIASTOLIC)})"
        )
    systolic = _whole_number(token, match.group(1), Measure.SYSTOLIC)
    diastolic = _whole_number(token, match.group(2), Measure.DIASTOLIC)
    if diastolic >= systolic:
        raise EntryError(f"{_quoted(token)}: diastolic must be below systolic")
    return systolic, diastolic


def parse_entry(line: str) -> Vitals:
    """Parse a quick-entry line into validated vitals.

    Raises :class:`EntryError` (and nothing else) for anything that is not a valid entry.
    """
    normalised = _AROUND_SLASH.sub("/", _AROUND_EQUALS.sub("=", line.strip()))
    tokens = normalised.split()
    if not tokens:
        raise EntryError("empty entry: type at least one measure, e.g. '142/88 hr 76 spo2 98'")
    values: dict[str, int] = {}

    def put(measure: Measure, value: int, token: str) -> None:
        if measure.value in values:
            raise EntryError(f"{_quoted(token)}: {measure.abbreviation} is given twice")
        values[measure.value] = value

    index = 0
    while index < len(tokens):
        token = tokens[index]
        word, has_equals, inline = token.partition("=")
        key = word.lower()
        if not has_equals and _BP.match(token):
            systolic, diastolic = _blood_pressure(token, token)
            put(Measure.SYSTOLIC, systolic, token)
            put(Measure.DIASTOLIC, diastolic, token)
            index += 1
            continue
        if key != "bp" and key not in KEYWORDS:
            if _WHOLE.match(token) or "/" in token:
                raise EntryError(
                    f"{_quoted(token)}: a number needs a keyword before it "
                    "(hr, spo2, rr, moaas, cadss) or is a BP written S/D"
                )
            raise EntryError(
                f"{_quoted(token)}: unknown word; use S/D for blood pressure and "
                "hr, spo2, rr, moaas, cadss"
            )
        shown = token
        if has_equals:
            value_text = inline
        elif index + 1 < len(tokens):
            index += 1
            value_text = tokens[index]
            shown = f"{token} {value_text}"
        else:
            value_text = ""
        if not value_text:
            measure_for_range = KEYWORDS.get(key)
            accepted = (
                f"accepted {_range_text(measure_for_range)}"
                if measure_for_range
                else "written S/D, e.g. 142/88"
            )
            raise EntryError(f"{_quoted(token)}: missing number after {word} ({accepted})")
        if key == "bp":
            systolic, diastolic = _blood_pressure(shown, value_text)
            put(Measure.SYSTOLIC, systolic, shown)
            put(Measure.DIASTOLIC, diastolic, shown)
        else:
            measure = KEYWORDS[key]
            put(measure, _whole_number(shown, value_text, measure), shown)
        index += 1
    return validate_vitals(replace(Vitals(), **values))


def format_entry(vitals: Vitals) -> str:
    """The quick-entry line for a set of vitals; ``parse_entry`` gives it back."""
    parts: list[str] = []
    if vitals.systolic is not None and vitals.diastolic is not None:
        parts.append(f"{vitals.systolic}/{vitals.diastolic}")
    for measure, value in vitals.items():
        if measure in (Measure.SYSTOLIC, Measure.DIASTOLIC):
            continue
        parts.append(f"{_KEYWORD_OF[measure]} {value}")
    return " ".join(parts)
