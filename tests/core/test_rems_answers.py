"""Every REMS answer correctable (clinical revision 3, issue #19 item 7; docs/clinical.md, "The
REMS Patient Monitoring Form"): the values a correction takes, the answer on the form
(the latest correction, else the first answer, else the proposal), and the answers a change
after discharge affected (monitor.core.rems_answers, monitor.core.rems_rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.rems import Correction, RemsInput, Submission, rems_form
from monitor.core.rems_answers import (
    FIELDS,
    YES_NO_FIELDS,
    Answer,
    FirstAnswer,
    answer_value,
    changed_fields,
    shown,
)
from monitor.core.rems_rules import (
    correct_refusal,
    correct_state_refusal,
    discharged_refusal,
    minute_refusal,
    submitted_value_refusal,
    unconfirmed_refusal,
    value_refusal,
)
from monitor.errors import EntryError
from monitor.store.models import REMS_FIELDS

DOSED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LEFT = DOSED + timedelta(minutes=125)
SESSION = {
    "session_id": 7,
    "patient": "MRN-7",
    "protocol": "esketamine-56",
    "dose_mg": 56,
    "lot": "L1",
    "first_treatment": False,
    "meds": (),
    "dosed_at": DOSED,
    "discharged_at": LEFT,
    "readings": (),
    "ready_minute": 40,
    "ready_minute_proposed": 40,
    "ready_minute_by": "ana",
}


def _form(**changes):
    return rems_form(RemsInput(**(SESSION | changes)), now=LEFT + timedelta(hours=1), zone=UTC)


def _at(minutes: float) -> datetime:
    return LEFT + timedelta(minutes=minutes)


def test_the_answers_are_the_tables():
    assert FIELDS == REMS_FIELDS
    assert tuple(f for f in FIELDS if f != "ready_minute") == YES_NO_FIELDS


@pytest.mark.parametrize(
    ("typed", "value"),
    [("yes", True), ("no", False), ("true", True), ("false", False), (" YES ", True)],
)
def test_yes_no_answers_take_yes_no_true_false(typed, value):
    for field in YES_NO_FIELDS:
        assert answer_value(field, typed) is value
        assert answer_value(field, value) is value


def test_the_ready_minute_takes_a_whole_number():
    assert answer_value("ready_minute", "40") == 40
    assert answer_value("ready_minute", " 0040 ") == 40
    assert answer_value("ready_minute", 40) == 40


@pytest.mark.parametrize(
    "typed",
    ["1e9", "", " ", "4.5", "-3", "+40", "40 min", "٤٠", "0x28", "\x00", "\udcff\udcfe", "yes"],
)
def test_a_ready_minute_that_is_not_a_whole_number_is_refused_cleanly(typed):
    with pytest.raises(EntryError, match="whole number of minutes") as refused:
        answer_value("ready_minute", typed)
    assert len(str(refused.value)) < 200
    assert "\x00" not in str(refused.value)


def test_a_huge_ready_minute_is_out_of_range_without_being_converted():
    with pytest.raises(EntryError, match="out of range") as refused:
        answer_value("ready_minute", "9" * 100_000)
    assert len(str(refused.value)) < 200
    with pytest.raises(EntryError, match="whole number"):
        answer_value("ready_minute", True)  # a bool is not a minute


@pytest.mark.parametrize("typed", ["", "y", "1", "0", "oui", "yes!", "\x00", "x" * 10_000])
def test_a_yes_no_answer_that_is_not_yes_or_no_is_refused_cleanly(typed):
    with pytest.raises(EntryError, match="yes or no") as refused:
        answer_value("sedation", typed)
    assert len(str(refused.value)) < 200
    with pytest.raises(EntryError, match="yes or no"):
        answer_value("sedation", 1)  # a number is not yes/no


def test_a_ready_minute_is_between_1_and_the_minutes_monitored():
    assert minute_refusal(1, 125) is None
    assert minute_refusal(125, 125) is None
    for minute in (0, 126, -1, 10**9):
        refusal = minute_refusal(minute, 125)
        assert refusal is not None
        assert isinstance(refusal.error(), EntryError)
    assert minute_refusal(126, 125).reason == (  # type: ignore[union-attr]
        "ready minute 126 is out of range: accepted 1 to 125 (the minutes monitored, from "
        "dosing to discharge)"
    )
    assert minute_refusal(1, None) is not None  # not dosed: no minute at all


def test_the_ready_minute_and_the_vitals_at_the_end_wait_for_the_discharge():
    for field in ("ready_minute", "vitals_ok_end"):
        refusal = discharged_refusal(7, field, discharged=False)
        assert refusal is not None and "still in observation" in refusal.reason
        assert discharged_refusal(7, field, discharged=True) is None
    for field in ("vitals_ok_before", "sedation", "serious_adverse_event"):
        assert discharged_refusal(7, field, discharged=False) is None


def test_the_answer_on_the_form_is_the_latest_correction_and_the_first_answer_is_kept():
    form = _form()
    assert form.ready == Answer(40, 40, first=FirstAnswer(40, "ana"))
    assert (form.ready.origin, form.ready.by) == ("first answer", "ana")
    assert (form.sedation.origin, form.sedation.by) == (None, None)  # no MOAA/S: unknown
    assert (form.serious_adverse_event.value, form.serious_adverse_event.origin) == (
        False,
        "proposal",
    )
    corrections = (
        Correction("ready_minute", 60, "sam", _at(10), "calm from +60"),
        Correction("ready_minute", 55, "kim", _at(20), "the notes say +55"),
        Correction("vitals_ok_before", False, "sam", _at(30), "BP 182/100 on paper"),
        Correction("vitals_ok_end", False, "sam", _at(31), "dizzy on standing"),
        Correction("sedation", True, "sam", _at(32), "drowsy at +50"),
        Correction("dissociation", True, "sam", _at(33), "CADSS 6 on paper"),
        Correction("respiratory_depression", True, "sam", _at(34), "SpO2 90 on paper"),
        Correction("serious_adverse_event", True, "sam", _at(35), "syncope, not charted"),
    )
    form = _form(corrections=corrections)
    assert form.ready.value == form.ready_minute == 55
    assert (form.ready.proposal, form.ready.first) == (40, FirstAnswer(40, "ana"))
    assert (form.ready.origin, form.ready.by, form.ready_minute_by) == ("correction",) + (
        "kim",
    ) * 2
    for field in YES_NO_FIELDS:
        answer = form.answer(field)
        assert answer.value is (field != "vitals_ok_before" and field != "vitals_ok_end")
        assert (answer.origin, answer.by) == ("correction", "sam")
    shown_json = form.as_json(DOSED.date())
    assert shown_json["ready_minute"] == 55 and shown_json["ready_minute_by"] == "kim"
    assert shown_json["answers"]["ready_minute"] == {
        "field": "ready_minute",
        "value": 55,
        "proposal": 40,
        "source": "correction",
        "by": "kim",
        "first_answer": {"value": 40, "by": "ana"},
        "evidence": [],
        "corrected_by": "kim",
        "corrected_at": _at(20).isoformat(),
        "reason": "the notes say +55",
    }
    assert list(shown_json["answers"]) == list(FIELDS)
    assert [c["field"] for c in shown_json["corrections"]] == [c.field for c in corrections]
    assert shown_json["corrections"][0]["value"] == 60


def test_a_correction_answers_a_ready_minute_nobody_gave():
    form = _form(ready_minute=None, ready_minute_by=None, ready_minute_proposed=None)
    assert "no ready-to-leave minute confirmed" in form.missing
    fixed = _form(
        ready_minute=None,
        ready_minute_by=None,
        ready_minute_proposed=None,
        corrections=(Correction("ready_minute", 90, "sam", _at(5), "stable from +90"),),
    )
    assert fixed.ready_minute == 90 and fixed.ready.first is None
    assert "no ready-to-leave minute confirmed" not in fixed.missing


def test_a_correction_changes_the_answer_unless_it_confirms_one():
    form = _form()
    refusal = value_refusal("ready_minute", form.ready, 40)
    assert refusal is not None
    assert (
        refusal.reason
        == "ready_minute is already 'minute 40' (answered by ana): nothing to correct"
    )
    assert value_refusal("ready_minute", form.ready, 41) is None
    assert value_refusal("ready_minute", form.ready, 40, confirming=True) is None
    # A yes/no answer is never equal to a minute.
    assert value_refusal("serious_adverse_event", form.serious_adverse_event, 0) is None


def test_after_submission_only_an_affected_answer_is_confirmed_as_sent():
    refusal = correct_state_refusal(7, signed=False, submitted=True)
    assert refusal is not None and "already submitted" in refusal.reason
    assert correct_state_refusal(7, signed=False, submitted=True, confirming=True) is None
    signed = correct_state_refusal(7, signed=True, submitted=False, confirming=True)
    assert signed is not None and "signed off" in signed.reason
    form = _form()
    assert submitted_value_refusal(7, "ready_minute", form.ready, 40) is None
    refusal = submitted_value_refusal(7, "ready_minute", form.ready, 45)
    assert refusal is not None
    assert refusal.reason == (
        "the REMS form of session 7 is already submitted with ready_minute 'minute 40': only "
        "that answer can be confirmed now"
    )


def test_what_a_change_after_discharge_affects():
    stored = {f: False for f in YES_NO_FIELDS} | {"ready_minute": 40}
    now = stored | {"sedation": True, "ready_minute": 122}
    history = [(_at(30), now)]
    assert changed_fields(stored, history, ()) == ("ready_minute", "sedation")
    # Nothing stored (discharged before revision 3), or nothing changed since discharge.
    assert changed_fields(None, history, ()) == ()
    assert changed_fields(stored, [], ()) == ()
    # A correction made before the change does not confirm; one made at or after it does.
    before = Correction("sedation", True, "sam", _at(29), "drowsy")
    after = Correction("ready_minute", 40, "sam", _at(30), "still +40: the paper reading")
    assert changed_fields(stored, history, (before,)) == ("ready_minute", "sedation")
    assert changed_fields(stored, history, (before, after)) == ("sedation",)
    # A proposal that changed back is not affected.
    assert changed_fields(stored, [(_at(30), now), (_at(40), stored)], ()) == ()


def test_only_a_change_that_moved_an_answer_asks_for_it_again():
    stored = {f: False for f in YES_NO_FIELDS} | {"ready_minute": 40}
    sedated = stored | {"sedation": True}
    confirmed = Correction("sedation", True, "sam", _at(35), "drowsy on the chart")
    # A note at +50 moves nothing: the confirmation at +35 stands.
    history = [(_at(30), sedated), (_at(50), sedated)]
    assert changed_fields(stored, history, (confirmed,)) == ()
    # A serious event at +50 moves its own answer only.
    serious = sedated | {"serious_adverse_event": True}
    history = [(_at(30), sedated), (_at(50), serious)]
    assert changed_fields(stored, history, (confirmed,)) == ("serious_adverse_event",)
    # Sedation moved away and back after the confirmation: asked again.
    history = [(_at(30), sedated), (_at(40), stored), (_at(50), sedated)]
    assert changed_fields(stored, history, (confirmed,)) == ("sedation",)


def test_the_form_names_the_unconfirmed_answers_and_the_sign_off_waits():
    stored = {"ready_minute": 40, "serious_adverse_event": True} | dict.fromkeys(
        ("vitals_ok_before", "vitals_ok_end", "sedation", "dissociation", "respiratory_depression")
    )
    form = _form(at_discharge=stored, changed_at=_at(10))
    assert form.proposals()["serious_adverse_event"] is False
    assert form.changed_after_discharge == ("serious_adverse_event",)
    shown_json = form.as_json(DOSED.date())
    assert shown_json["changed_after_discharge"] == ["serious_adverse_event"]
    assert shown_json["proposals_at_discharge"]["serious_adverse_event"] is True
    # Before discharge nothing is affected.
    assert (
        _form(discharged_at=None, at_discharge=stored, changed_at=_at(10)).changed_after_discharge
        == ()
    )
    refusal = unconfirmed_refusal(7, form.changed_after_discharge)
    assert refusal is not None
    assert refusal.reason == (
        "session 7: REMS answers changed after discharge, not confirmed: serious_adverse_event; "
        "a supervisor confirms or corrects each with `monitor rems correct 7 --field F --value "
        "V --by SUPERVISOR --reason TEXT`"
    )
    assert unconfirmed_refusal(7, ()) is None
    # A submitted form still takes the confirmation.
    sent = _form(at_discharge=stored, changed_at=_at(10), submission=Submission("sam", _at(5)))
    assert correct_refusal(sent, user="sam", role="supervisor") is None


def test_answers_are_shown_as_people_read_them():
    assert [shown("ready_minute", v) for v in (40, None)] == ["minute 40", "none"]
    assert [shown("sedation", v) for v in (True, False, None)] == ["yes", "no", "unknown"]
