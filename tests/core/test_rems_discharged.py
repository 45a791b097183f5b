"""The REMS form says as a typed fact whether the patient is still in observation (the form
is submitted only after discharge): faces test ``form.discharged``, never the wording of
``form.missing``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.core.rems import RemsInput, rems_form

DOSED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _form(discharged_at: datetime | None):
    given = RemsInput(
        session_id=1,
        patient="MRN-1",
        protocol="esketamine-56",
        dose_mg=56,
        lot="L1",
        first_treatment=False,
        meds=(),
        dosed_at=DOSED,
        discharged_at=discharged_at,
        readings=(),
    )
    return rems_form(given, now=DOSED + timedelta(minutes=130), zone=UTC)


def test_a_form_in_observation_is_not_discharged_and_says_so():
    form = _form(None)
    assert form.discharged is False
    assert "not discharged" in form.missing


def test_a_form_after_discharge_is_discharged():
    form = _form(DOSED + timedelta(minutes=125))
    assert form.discharged is True
    assert "not discharged" not in form.missing
    # The JSON contract (docs/interface.md) is unchanged: no new key.
    assert "discharged" not in form.as_json(DOSED.date())
