"""The REMS form's rules (monitor.core.rems_rules): who may mark a form submitted or correct a
proposal, and the reason given when not; the services raise it and the station shows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.rems import Correction, RemsInput, Submission, rems_form
from monitor.core.rems_rules import (
    CORRECTING,
    SUBMITTING,
    correct_refusal,
    correct_state_refusal,
    dosed_refusal,
    esketamine_refusal,
    field_refusal,
    submit_refusal,
    submit_state_refusal,
    supervisor_refusal,
    value_refusal,
)
from monitor.errors import EntryError, PermissionDenied, Refused

DOSED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SENT = Submission("sam", datetime(2026, 11, 21, 10, 0, tzinfo=UTC))


#: A discharged esketamine session with no readings; each test changes what it needs.
SESSION = {
    "session_id": 7,
    "patient": "MRN-7",
    "protocol": "esketamine-56",
    "dose_mg": 56,
    "lot": "L1",
    "first_treatment": False,
    "meds": (),
    "dosed_at": DOSED,
    "discharged_at": DOSED + timedelta(minutes=125),
    "readings": (),
}


def _form(**changes):
    given = RemsInput(**(SESSION | changes))
    return rems_form(given, now=DOSED + timedelta(minutes=130), zone=UTC)


def test_only_a_supervisor_submits_or_corrects():
    refusal = supervisor_refusal(SUBMITTING, user="ana", role="nurse")
    assert refusal is not None and refusal.permission
    assert refusal.reason == "ana is a nurse: only a supervisor marks a REMS form submitted"
    assert isinstance(refusal.error(), PermissionDenied)
    refusal = supervisor_refusal(CORRECTING, user="ana", role="nurse")
    assert refusal is not None
    assert refusal.reason == "ana is a nurse: only a supervisor corrects a REMS answer"
    assert supervisor_refusal(SUBMITTING, user="sam", role="supervisor") is None


def test_a_form_is_for_a_dosed_esketamine_session():
    refusal = esketamine_refusal(3, "iv-ketamine")
    assert refusal is not None and not refusal.permission
    assert refusal.reason == "session 3 is iv-ketamine: REMS forms are for esketamine sessions"
    assert esketamine_refusal(3, "esketamine-84") is None
    refusal = dosed_refusal(3, dosed=False)
    assert refusal is not None
    assert refusal.reason == "session 3 has no dose recorded: there is no form"
    assert dosed_refusal(3, dosed=True) is None


def test_a_form_is_submitted_after_discharge_and_once():
    refusal = submit_state_refusal(7, discharged=False, submission=None)
    assert refusal is not None
    assert refusal.reason == "session 7 is still in observation: discharge it first"
    refusal = submit_state_refusal(7, discharged=True, submission=SENT)
    assert refusal is not None
    assert refusal.reason == (
        "the REMS form of session 7 was already marked submitted by sam at 2026-11-21T10:00+00:00"
    )
    assert type(refusal.error()) is Refused
    assert submit_state_refusal(7, discharged=True, submission=None) is None


def test_submit_refusal_reads_the_form_role_first():
    assert submit_refusal(_form(), user="sam", role="supervisor") is None
    in_observation = _form(discharged_at=None)
    nurse = submit_refusal(in_observation, user="ana", role="nurse")
    assert nurse is not None and nurse.permission
    refusal = submit_refusal(in_observation, user="sam", role="supervisor")
    assert refusal is not None and "still in observation" in refusal.reason
    refusal = submit_refusal(_form(submission=SENT), user="sam", role="supervisor")
    assert refusal is not None and "already marked submitted by sam" in refusal.reason


def test_a_signed_off_form_still_may_be_submitted():
    assert submit_refusal(_form(signed=True), user="sam", role="supervisor") is None


def test_every_answer_takes_a_correction():
    for field in (
        "ready_minute",
        "vitals_ok_before",
        "vitals_ok_end",
        "sedation",
        "dissociation",
        "respiratory_depression",
        "serious_adverse_event",
    ):
        assert field_refusal(field) is None
    refusal = field_refusal("lot")
    assert refusal is not None
    assert refusal.reason == (
        "field 'lot' cannot be corrected: use ready_minute, vitals_ok_before, vitals_ok_end, "
        "sedation, dissociation, respiratory_depression, serious_adverse_event"
    )
    assert isinstance(refusal.error(), EntryError)


def test_no_correction_after_sign_off_or_submission():
    refusal = correct_state_refusal(7, signed=True, submitted=True)
    assert refusal is not None
    assert refusal.reason == (
        "session 7 is signed off: it takes no new REMS correction until a supervisor reopens it"
    )
    refusal = correct_state_refusal(7, signed=False, submitted=True)
    assert refusal is not None
    assert refusal.reason == (
        "the REMS form of session 7 is already submitted: a correction would no longer match "
        "the form sent"
    )
    assert correct_state_refusal(7, signed=False, submitted=False) is None


def test_correct_refusal_reads_the_form():
    assert correct_refusal(_form(), user="sam", role="supervisor") is None
    nurse = correct_refusal(_form(), user="ana", role="nurse")
    assert nurse is not None and nurse.permission
    signed = correct_refusal(_form(signed=True), user="sam", role="supervisor")
    assert signed is not None and "signed off" in signed.reason
    sent = correct_refusal(_form(submission=SENT), user="sam", role="supervisor")
    assert sent is not None and "already submitted" in sent.reason


@pytest.mark.parametrize("value", [True, False])
def test_a_correction_changes_the_answer(value):
    at = DOSED + timedelta(minutes=30)
    form = _form(corrections=(Correction("sedation", value, "sam", at, "asleep"),))
    refusal = value_refusal("sedation", form.sedation, value)
    assert refusal is not None
    said = "yes" if value else "no"
    assert refusal.reason == (
        f"sedation is already '{said}' (corrected by sam at 2026-11-20T09:30+00:00: asleep): "
        "nothing to correct"
    )
    assert value_refusal("sedation", form.sedation, not value) is None


def test_an_unknown_proposal_may_be_answered_either_way():
    form = _form()  # no MOAA/S recorded: the proposal is unknown
    assert form.sedation.value is None
    assert value_refusal("sedation", form.sedation, True) is None
    assert value_refusal("sedation", form.sedation, False) is None


def test_the_form_carries_the_sign_off_but_the_json_does_not():
    assert _form().signed is False
    form = _form(signed=True)
    assert form.signed is True
    assert "signed" not in form.as_json(DOSED.date())
