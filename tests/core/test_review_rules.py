"""The review rules (monitor.core.review): who may sign, reopen, correct or void, and why not."""

from __future__ import annotations

from monitor.core.review import change_refusal, reopen_refusal, sign_refusal, signed_refusal
from monitor.errors import PermissionDenied, Refused


def test_sign_off_is_a_supervisors_on_a_discharged_unsigned_session():
    assert sign_refusal(7, user="sam", role="supervisor", discharged=True, signed=False) is None
    nurse = sign_refusal(7, user="ana", role="nurse", discharged=True, signed=False)
    assert nurse is not None and isinstance(nurse.error(), PermissionDenied)
    assert nurse.reason == "ana is a nurse: only a supervisor can sign off"
    active = sign_refusal(7, user="sam", role="supervisor", discharged=False, signed=False)
    assert active is not None and active.reason == ("session 7 is still active: discharge it first")
    assert type(active.error()) is Refused
    again = sign_refusal(7, user="sam", role="supervisor", discharged=True, signed=True)
    assert again is not None and again.reason == "session 7 is already signed off"


def test_reopening_needs_a_sign_off_in_force():
    assert reopen_refusal(7, user="sam", role="supervisor", signed=True) is None
    refused = reopen_refusal(7, user="sam", role="supervisor", signed=False)
    assert refused is not None and "nothing to reopen" in refused.reason
    nurse = reopen_refusal(7, user="ana", role="nurse", signed=True)
    assert nurse is not None and nurse.permission


def _change(**given):
    facts = {
        "user": "ana",
        "role": "nurse",
        "recorded_it": True,
        "superseded_by": None,
        "voided": False,
        "session_id": 7,
        "signed": False,
    }
    return change_refusal(3, "amend", **{**facts, **given})


def test_a_reading_in_force_is_corrected_by_its_nurse_or_a_supervisor_until_signed():
    assert _change() is None
    assert _change(role="supervisor", recorded_it=False) is None
    other = _change(recorded_it=False)
    assert (
        other is not None and other.permission and "a supervisor must correct it" in (other.reason)
    )
    corrected = _change(superseded_by=4)
    assert corrected is not None and corrected.reason == (
        "reading 3 was already corrected by reading 4: amend 4"
    )
    voided = _change(voided=True)
    assert voided is not None and "voided" in voided.reason
    signed = _change(signed=True)
    expected = signed_refusal(7, "correction or void", signed=True)
    assert signed is not None and signed == expected
    assert signed.reason.startswith("session 7 is signed off: it takes no new correction or void")
    assert signed_refusal(7, "reading", signed=False) is None
