"""Quick entry (docs/interface.md): the one-line syntax, its refusals, and round trips."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.entry import format_entry, parse_entry
from monitor.core.vitals import POSSIBLE_RANGES, Measure, Vitals
from monitor.errors import EntryError


def test_full_line_parses_every_measure():
    assert parse_entry("142/88 hr 76 spo2 98 rr 14 moaas 5 cadss 3") == Vitals(
        142, 88, 76, 98, 14, 5, 3
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("hr=76", Vitals(heart_rate=76)),
        ("HR 76 SpO2=98", Vitals(heart_rate=76, spo2=98)),
        ("moaas 5", Vitals(moaas=5)),
        ("  120/70  ", Vitals(systolic=120, diastolic=70)),
        ("bp 120/70 rr=12", Vitals(systolic=120, diastolic=70, resp_rate=12)),
        ("BP=120/70", Vitals(systolic=120, diastolic=70)),
        ("hr = 76", Vitals(heart_rate=76)),
        ("cadss 0 moaas 0", Vitals(moaas=0, cadss=0)),
        ("120 / 70", Vitals(systolic=120, diastolic=70)),
    ],
)
def test_any_subset_any_case_and_key_equals_value(line, expected):
    assert parse_entry(line) == expected


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("", "empty entry"),
        ("   ", "empty entry"),
        ("pulse 76", "'pulse'"),
        ("hr", "'hr'"),
        ("hr=", "'hr='"),
        ("hr spo2 98", "'hr spo2'"),
        ("hr 7.5", "'hr 7.5'"),
        ("76", "'76'"),
        ("hr 76 hr 80", "twice"),
        ("142/88 120/80", "twice"),
        ("142/", "'142/'"),
        ("bp 142", "'bp 142'"),
    ],
)
def test_refusals_name_the_token(line, named):
    with pytest.raises(EntryError) as caught:
        parse_entry(line)
    assert named in str(caught.value)


@pytest.mark.parametrize(
    ("line", "accepted"),
    [
        ("hr 19", "20-300"),
        ("hr 301", "20-300"),
        ("spo2 49", "50-100"),
        ("spo2 101", "50-100"),
        ("rr 1", "2-80"),
        ("rr 81", "2-80"),
        ("moaas 6", "0-5"),
        ("moaas -1", "0-5"),
        ("cadss 93", "0-92"),
        ("49/30", "50-300"),
        ("301/100", "50-300"),
        ("120/19", "20-200"),
        ("250/201", "20-200"),
        ("hr 99999999999999999999999", "20-300"),
    ],
)
def test_impossible_values_name_token_and_range(line, accepted):
    with pytest.raises(EntryError) as caught:
        parse_entry(line)
    message = str(caught.value)
    assert accepted in message
    assert line.split()[-1].split("/")[0][:6] in message


@pytest.mark.parametrize("line", ["120/120", "120/121", "50/50"])
def test_diastolic_at_or_above_systolic_is_impossible(line):
    with pytest.raises(EntryError, match="diastolic must be below systolic"):
        parse_entry(line)


@pytest.mark.parametrize(
    "line",
    [
        "50/20",
        "300/200",
        "hr 20",
        "hr 300",
        "spo2 50",
        "spo2 100",
        "rr 2",
        "rr 80",
        "moaas 0",
        "moaas 5",
        "cadss 0",
        "cadss 92",
        "51/50",
    ],
)
def test_range_edges_are_accepted(line):
    assert not parse_entry(line).is_empty()


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF), max_size=60))
def test_any_string_parses_or_raises_entry_error(line):
    with contextlib.suppress(EntryError):
        parse_entry(line)


@given(
    st.text(alphabet=st.sampled_from(list("0123456789/= -+.hrspoacdmbHRSPOACDMB2")), max_size=40)
)
def test_entry_like_strings_parse_or_raise_entry_error(line):
    try:
        vitals = parse_entry(line)
    except EntryError:
        return
    assert not vitals.is_empty()


def _value(measure: Measure):
    low, high = POSSIBLE_RANGES[measure]
    return st.one_of(st.none(), st.integers(low, high))


@st.composite
def vitals_sets(draw):
    systolic = draw(_value(Measure.SYSTOLIC))
    diastolic = None
    if systolic is not None:
        diastolic = draw(st.integers(20, min(200, systolic - 1)))
    values = {
        m.value: draw(_value(m)) for m in Measure if m not in (Measure.SYSTOLIC, Measure.DIASTOLIC)
    }
    vitals = Vitals(systolic=systolic, diastolic=diastolic, **values)
    if vitals.is_empty():
        vitals = Vitals(heart_rate=draw(st.integers(20, 300)))
    return vitals


@given(vitals_sets())
def test_format_then_parse_gives_the_reading_back(vitals):
    assert parse_entry(format_entry(vitals)) == vitals


@given(vitals_sets())
def test_parse_accepts_any_order_and_case(vitals):
    tokens = format_entry(vitals).upper().replace(" ", "=").split("=")
    # Re-join as key=value pairs: "HR=76 SPO2=98 ..."
    pairs = []
    i = 0
    while i < len(tokens):
        if "/" in tokens[i]:
            pairs.append(tokens[i])
            i += 1
        else:
            pairs.append(f"{tokens[i]}={tokens[i + 1]}")
            i += 2
    assert parse_entry(" ".join(reversed(pairs))) == vitals


@pytest.mark.parametrize(
    "entry", ["9" * 3000, "hr " + "9" * 3000, "x" * 3000, "140/" + "9" * 3000, "spo2=" + "9" * 3000]
)
def test_a_huge_refused_token_is_cut_in_its_message(entry):
    """A pasted screenful must not fill the station's screen and hide the floor's alarms."""
    with pytest.raises(EntryError) as refused:
        parse_entry(entry)
    assert len(str(refused.value)) < 160
    assert "…" in str(refused.value)


def test_a_huge_refused_time_is_cut_in_its_message():
    from datetime import UTC, datetime

    from monitor.timeparse import parse_time

    with pytest.raises(EntryError) as refused:
        parse_time("9" * 3000 + " min ago", datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    assert len(str(refused.value)) < 200
