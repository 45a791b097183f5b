"""What a new session needs (monitor.core.intake): one answer for the services and every face
(docs/clinical.md, "Recorded besides vitals")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.intake import SessionRequest, check_intake, intake_refusals, minor_notice
from monitor.errors import EntryError

ESK = SessionRequest(patient="P1", protocol="esketamine-56", age=40, meds=())


def test_a_complete_request_is_accepted_and_cleaned():
    request = SessionRequest(
        patient="  P1 ", protocol="ketamine-iv", dose_mg=36, weight_kg=72, bay=" Bay 1 ", lot=""
    )
    assert intake_refusals(request) == []
    cleaned = check_intake(request)
    assert (cleaned.patient, cleaned.bay, cleaned.lot) == ("P1", "Bay 1", None)


def test_esketamine_fixes_the_dose_and_needs_the_age_and_the_medication_answers():
    assert check_intake(ESK).dose_mg == 56
    assert intake_refusals(SessionRequest(patient="P1", protocol="esketamine-56")) == [
        "esketamine needs the patient's age (REMS)",
        "esketamine needs the REMS medication answers: none, or which of "
        "benzodiazepines, sedative-hypnotics, psychostimulants, maois",
    ]
    wrong = SessionRequest(patient="P1", protocol="esketamine-56", dose_mg=84, age=40, meds=())
    assert intake_refusals(wrong) == [
        "esketamine-56 is a 56 mg dose, not 84 mg: choose the protocol that matches the dose"
    ]


def test_first_treatment_is_not_required_at_the_start():
    """The REMS form lists it as missing until it is answered (core.rems); the service has
    never refused a session without it."""
    assert ESK.first_treatment is None and intake_refusals(ESK) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"patient": " "}, "a patient identifier is required"),
        ({"age": 131}, "age 131 is impossible: accepted 0-130"),
        ({"dose_mg": 0.0}, "dose 0 mg is impossible: accepted above 0 up to 1000"),
        ({"dose_mg": 1000.5}, "dose 1000.5 mg is impossible: accepted above 0 up to 1000"),
        ({"weight_kg": 0.5}, "weight 0.5 kg is impossible: accepted 1-400"),
        ({"weight_kg": 401.0}, "weight 401 kg is impossible: accepted 1-400"),
        ({"dose_number": 0}, "dose number 0 is impossible: accepted 1-1000"),
        ({"dose_number": 1001}, "dose number 1001 is impossible: accepted 1-1000"),
        ({"bay": "Bay 9"}, "bay 'Bay 9' is unknown: use one of Bay 1, Bay 2"),
        ({"lot": "x" * 65}, "the lot number must be one line of at most 64 printable characters"),
        ({"meds": ("benzodiazepines", "benzodiazepines")}, "a medication is named twice"),
    ],
)
def test_each_refusal_says_what_to_fix(change, reason):
    request = SessionRequest(**{"patient": "P1", "protocol": "ketamine-iv", **change})
    refusals = intake_refusals(request, bays=("Bay 1", "Bay 2"))
    assert len(refusals) == 1 and refusals[0].startswith(reason)
    with pytest.raises(EntryError, match="^" + refusals[0][:20]):
        check_intake(request, bays=("Bay 1", "Bay 2"))


def test_every_refusal_is_listed_the_first_one_raised():
    request = SessionRequest(patient="", protocol="esketamine-84", age=200, weight_kg=0)
    refusals = intake_refusals(request)
    assert refusals[0] == "a patient identifier is required" and len(refusals) == 4
    with pytest.raises(EntryError, match="a patient identifier is required"):
        check_intake(request)


@given(
    weight=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
    number=st.one_of(st.none(), st.integers(-5, 2000)),
)
def test_weight_and_dose_number_bounds(weight, number):
    request = SessionRequest(
        patient="P1", protocol="ketamine-iv", weight_kg=weight, dose_number=number
    )
    accepted = (weight is None or 1 <= weight <= 400) and (number is None or 1 <= number <= 1000)
    assert (intake_refusals(request) == []) == accepted


def test_esketamine_is_for_adults_and_other_protocols_take_a_minor_with_a_notice():
    """Clinical revision 3: esketamine under 18 is refused; another protocol accepts a minor,
    and the record says the thresholds are adult ones."""
    minor = SessionRequest(patient="P1", protocol="esketamine-56", age=17, meds=())
    assert intake_refusals(minor) == ["esketamine is for adults: the patient is 17 (under 18)"]
    assert (
        intake_refusals(SessionRequest(patient="P1", protocol="esketamine-56", age=18, meds=()))
        == []
    )
    iv = SessionRequest(patient="P1", protocol="ketamine-iv", age=16)
    assert intake_refusals(iv) == []
    assert minor_notice(16) == "under 18: the thresholds and the gate are adult ones"
    assert minor_notice(18) is None and minor_notice(None) is None
