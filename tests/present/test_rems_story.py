"""The REMS Patient Monitoring Form told once (monitor.present.rems): every answer with its
source, what is missing, the due date and the submission; and the tracker's rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from monitor.core.rems import Answer, BloodPressure, Correction, RemsForm, Submission
from monitor.core.rems_answers import FirstAnswer
from monitor.present.parts import Part, Role, Row, plain
from monitor.present.rems import (
    TRACKER_HEADER,
    rems_story,
    text_lines,
    tracker_cells,
    tracker_row,
    tracker_rows,
    yes_no,
)
from tests.helpers import DOSED, at

TODAY = DOSED.date()


def bp(systolic: int, diastolic: int, minute: int) -> BloodPressure:
    return BloodPressure(systolic, diastolic, at(minute), minute)


def form(**changes: object) -> RemsForm:
    """A form of an esketamine session dosed at 09:00 today, discharged, sedated at +15."""
    base = RemsForm(
        session_id=4,
        patient="MRN-SED",
        first_treatment=False,
        meds={
            "benzodiazepines": False,
            "sedative-hypnotics": False,
            "psychostimulants": True,
            "maois": False,
        },
        dose="56 mg",
        lot=None,
        treatment_date=TODAY,
        due_date=TODAY + timedelta(days=7),
        minutes_monitored=135,
        monitored_until="discharge",
        bp_before=bp(128, 82, -5),
        bp_at_40=bp(140, 90, 40),
        bp_end=None,
        vitals_ok_before=Answer(True, True),
        vitals_ok_end=Answer(False, False, ("high: SBP 184 > 180",)),
        sedation=Answer(True, True, ("MOAA/S 3 at +15 min",)),
        dissociation=Answer(False, False),
        respiratory_depression=Answer(None, None),
        serious_adverse_events=(),
        serious_adverse_event=Answer(False, False),
        ready=Answer(110, 105, first=FirstAnswer(110, "ana")),
        missing=("no lot number", "no BP after dosing before the end"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_form_reads_answer_by_answer_with_its_source():
    story = rems_story(form(), TODAY)
    assert [plain(line) for line in text_lines(story)] == [
        "REMS Patient Monitoring Form · MRN-SED · session 4",
        "  Status: due in 7 days",
        "  Submitted: not yet",
        "  Missing: no lot number",
        "    no BP after dosing before the end",
        "  Patient: MRN-SED (name, birth date and sex: the clinic fills them in)",
        "  First treatment: no",
        "  Medication: benzodiazepines no · non-benzodiazepine sedative hypnotics no · "
        "psychostimulants yes · MAOIs no",
        "  Provider, setting: the clinic fills them in",
        "  Treatment date: 2026-11-27",
        "  Due date: 2026-12-04 (7 days after)",
        "  Dose, lot: 56 mg, lot not recorded",
        "  Minutes monitored: 135 (to discharge)",
        "  Ready to leave: 110 min after dosing, by ana (proposed 105)",
        "  Vitals OK before: yes  (from the record)",
        "  Vitals OK at end: no  (from the record)",
        "    high: SBP 184 > 180",
        "  BP before dosing: 128/82 at -5 min (08:55)",
        "  BP near 40 min: 140/90 at +40 min (09:40)",
        "  BP before the end: not recorded",
        "  Sedation: yes  (proposal)",
        "    MOAA/S 3 at +15 min",
        "  Dissociation: no  (proposal)",
        "  Resp. depression: unknown  (proposal)",
        "  Serious AEs: no  (proposal)",
    ]
    rows = {row.label: row for row in story.rows}
    assert rows["Missing"] == Row(
        "Missing",
        (Part("no lot number", Role.ALERT),),
        ((Part("no BP after dosing before the end", Role.ALERT),),),
    )
    assert rows["Sedation"].value == (Part("yes", Role.STRONG), Part("  (proposal)", Role.NOTE))
    assert rows["Vitals OK before"].value[1] == Part("  (from the record)", Role.NOTE)
    assert story.corrections == ()


def test_a_corrected_answer_says_who_when_why_and_keeps_the_proposal():
    first = Correction("sedation", False, "sam", at(200), "asleep, not sedated")
    second = Correction("sedation", True, "kim", at(230), "sedated after all")
    corrected = form(
        sedation=Answer(True, True, ("MOAA/S 3 at +15 min",), second),
        corrections=(first, second),
        submission=Submission("sam", at(240)),
        missing=(),
        first_treatment=True,
        minutes_monitored=None,
        monitored_until=None,
        ready=Answer(None, 105),
        serious_adverse_event=Answer(
            True, True, ("syncope at +30 min: fainted", "seizure at +35 min: brief")
        ),
    )
    story = rems_story(corrected, TODAY + timedelta(days=9))
    rows = {row.label: row for row in story.rows}
    assert rows["Status"].value == (Part("submitted", Role.OK),)
    assert rows["Submitted"].value == (Part("by sam, Fri 27 Nov 2026 13:00", Role.OK),)
    assert rows["Missing"].value == (Part("nothing", Role.OK),)
    assert rows["First treatment"].value == (
        Part("yes"),
        Part(" (enrolled in the REMS: the clinic answers)", Role.NOTE),
    )
    assert plain(rows["Minutes monitored"].value) == "no reading yet"
    assert plain(rows["Ready to leave"].value) == "not confirmed (proposed 105)"
    assert rows["Sedation"].value == (
        Part("yes", Role.STRONG),
        Part(
            "  corrected by kim Fri 27 Nov 2026 12:50: sedated after all (proposal yes)", Role.WARN
        ),
    )
    assert rows["Serious AEs"] == Row(
        "Serious AEs",
        (Part("yes", Role.STRONG), Part("  (proposal)", Role.NOTE)),
        ((Part("syncope at +30 min: fainted; seizure at +35 min: brief"),),),
    )
    assert [plain(line) for line in text_lines(story)[-3:]] == [
        "Corrections (oldest first):",
        "  sedation → no by sam Fri 27 Nov 2026 12:20: asleep, not sedated",
        "  sedation → yes by kim Fri 27 Nov 2026 12:50: sedated after all",
    ]


def test_a_form_still_in_observation_and_one_not_dosed():
    observing = rems_story(form(monitored_until="now", minutes_monitored=42), TODAY)
    rows = {row.label: row for row in observing.rows}
    assert rows["Minutes monitored"].value == (Part("42 (to now)", Role.WARN),)
    undosed = rems_story(
        form(
            treatment_date=None,
            due_date=None,
            dose=None,
            ready=Answer(None, None),
        ),
        TODAY,
    )
    rows = {row.label: row for row in undosed.rows}
    assert rows["Status"].value == (Part("not dosed"),)
    assert plain(rows["Treatment date"].value) == plain(rows["Due date"].value) == "-"
    assert plain(rows["Dose, lot"].value) == "not recorded, lot not recorded"
    assert plain(rows["Ready to leave"].value) == "not confirmed"


def test_the_tracker_rows_say_due_overdue_and_submitted():
    due = form()
    overdue = form(
        session_id=5,
        patient="MRN-OLD",
        treatment_date=date(2026, 11, 18),
        due_date=date(2026, 11, 25),
    )
    today_due = form(session_id=6, due_date=TODAY, missing=())
    sent = form(session_id=7, submission=Submission("sam", at(60)), missing=())
    rows = tracker_rows([due, overdue, today_due, sent], TODAY)
    assert TRACKER_HEADER == ("session", "patient", "treated", "due", "status", "missing")
    assert [tracker_cells(r) for r in rows] == [
        (
            "4",
            "MRN-SED",
            "2026-11-27",
            "2026-12-04",
            "due in 7 days",
            "no lot number; no BP after dosing before the end",
        ),
        (
            "5",
            "MRN-OLD",
            "2026-11-18",
            "2026-11-25",
            "overdue (2 d)",
            "no lot number; no BP after dosing before the end",
        ),
        ("6", "MRN-SED", "2026-11-27", "2026-11-27", "due today", "-"),
        ("7", "MRN-SED", "2026-11-27", "2026-12-04", "submitted", "-"),
    ]
    assert [(r.treated_day, r.due_day, r.left, r.submitted) for r in rows] == [
        ("Fri 27 Nov", "Fri 04 Dec", Part("7 d left"), Part("no")),
        ("Wed 18 Nov", "Wed 25 Nov", Part("2 d overdue", Role.ALERT), Part("no")),
        ("Fri 27 Nov", "Fri 27 Nov", Part("due today", Role.WARN), Part("no")),
        ("Fri 27 Nov", "Fri 04 Dec", Part("submitted", Role.OK), Part("yes", Role.OK)),
    ]
    assert rows[1].status == Part("overdue (2 d)", Role.ALERT)
    assert rows[0].missing_short == Part("2: no lot number", Role.WARN)
    assert tracker_row(sent, TODAY).missing_short == Part("-")


def test_an_answer_is_yes_no_or_says_it_is_not_known():
    assert (yes_no(True), yes_no(False), yes_no(None)) == ("yes", "no", "not answered")
    assert yes_no(None, "unknown") == "unknown"
