"""The REMS tracker (issue #11, deliverable 5): the Patient Monitoring Form's answers computed
from the record, what is missing, the due date, "mark submitted" and a supervisor's corrections
of the proposals, on both backends, through the services and the command line."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from monitor.core.rems import due_date, treatment_date
from monitor.errors import PermissionDenied, Refused
from monitor.services import with_clock
from monitor.store.engine import make_engine
from tests.cli.test_cli import ago, cli, start  # noqa: F401 - the `cli` fixture
from tests.helpers import DOSED
from tests.store.test_migrations import empty_url, migrate_to, populate  # noqa: F401 - a fixture
from tests.store.test_pg_roles import station_url  # noqa: F401 - a fixture

FULL = "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0"
CALM = [
    (15, "spo2 98 moaas 5"),
    (30, "spo2 97 moaas 5"),
    (40, "134/84 hr 72 spo2 98 rr 14 moaas 5 cadss 2"),
    (60, "spo2 98 moaas 5"),
    (90, "128/82 hr 70 spo2 98 rr 14 moaas 5 cadss 0"),
    (118, "124/80 hr 68 spo2 98 rr 14 moaas 5 cadss 0"),
]


def treat(
    service,
    clock,
    patient: str,
    dosed: datetime = DOSED,
    *,
    readings=CALM,
    lot: str | None = "L42",
    first: bool | None = False,
    meds: tuple[str, ...] = (),
    discharge: bool = True,
    **discharge_args,
) -> int:
    """An esketamine-84 session dosed at ``dosed``: a baseline at -5, the readings given,
    discharged at +121 unless told not to."""

    def t(minutes: float) -> datetime:
        return clock.set(dosed + timedelta(minutes=minutes))

    t(-30)
    sid = service.start_session(
        patient=patient,
        protocol="esketamine-84",
        by="ana",
        age=50,
        lot=lot,
        first_treatment=first,
        meds=meds,
    )
    t(-5)
    service.record_reading(sid, FULL, by="ana")
    t(0)
    service.record_dose(sid, by="ana")
    for minute, entry in readings:
        t(minute)
        reading = service.record_reading(sid, entry, by="ana")
        needing = [f.id for f in reading.flags if f.severity.needs_action]
        if needing:
            service.acknowledge_many(needing, by="ana", action="rechecked, prescriber informed")
    if discharge:
        t(121)
        service.discharge(
            sid, by="ana", escort="partner", instructions_given=True, **discharge_args
        )
    return sid


# -- the answers, on worked examples ------------------------------------------------------


def test_a_first_treatment_with_everything_recorded_leaves_nothing_missing(service, clock):
    sid = treat(service, clock, "P1", first=True, meds=("benzodiazepines", "maois"))
    form = service.rems(sid)
    assert form.first_treatment is True
    assert form.meds == {
        "benzodiazepines": True,
        "sedative-hypnotics": False,
        "psychostimulants": False,
        "maois": True,
    }
    assert (form.dose, form.lot) == ("84 mg", "L42")
    assert form.treatment_date == date(2026, 11, 27)
    # Due 7 calendar days after the treatment date, across the month's end.
    assert form.due_date == date(2026, 12, 4)
    # From dosing to the discharge (+121): the baseline at -5 does not count (revision 3).
    assert (form.minutes_monitored, form.monitored_until) == (121, "discharge")
    assert (form.bp_before.systolic, form.bp_before.minute) == (120, -5)
    assert (form.bp_at_40.systolic, form.bp_at_40.minute) == (134, 40)
    assert (form.bp_end.systolic, form.bp_end.minute) == (124, 118)
    assert form.vitals_ok_before.value is True and form.vitals_ok_end.value is True
    for answer in (form.sedation, form.dissociation, form.respiratory_depression):
        assert (answer.value, answer.proposal, answer.source) == (False, False, "proposal")
    assert form.serious_adverse_events == ()
    assert form.ready_minute is not None and form.ready_minute == form.ready_minute_proposed
    assert form.missing == ()
    shown = form.as_json(date(2026, 11, 30))
    assert shown["status"] == "due in 4 days"
    assert shown["bp_at_40_min"]["minute"] == 40
    assert shown["sedation"]["source"] == "proposal"


def test_a_missing_lot_and_no_bp_near_40_min_are_named(service, clock):
    no_40 = [(15, "spo2 98 moaas 5"), (30, "spo2 98 moaas 5"), (90, FULL), (118, FULL)]
    sid = treat(service, clock, "P1", lot=None, readings=no_40, first=None)
    form = service.rems(sid)
    assert form.lot is None and form.bp_at_40 is None
    assert "no lot number" in form.missing
    assert "no BP near 40 min after dosing" in form.missing
    assert "first treatment not answered" in form.missing
    # The form's due date still follows the treatment.
    assert form.due_date == date(2026, 12, 4)


def test_a_deteriorating_patient_gets_every_proposal_with_its_evidence(service, clock):
    worse = [
        (15, "spo2 96 moaas 4"),
        (30, "spo2 93 moaas 3"),
        (40, "150/92 hr 96 spo2 90 rr 8 moaas 3 cadss 12"),
        (60, "spo2 95 moaas 4"),
        (90, "132/84 hr 80 spo2 97 rr 14 moaas 5 cadss 3"),
        (118, "126/80 hr 74 spo2 98 rr 14 moaas 5 cadss 0"),
    ]
    sid = treat(service, clock, "P1", readings=worse, discharge=False)
    clock.set(DOSED + timedelta(minutes=42))
    service.add_event(
        sid,
        kind="intervention",
        type="oxygen",
        by="ana",
        text="2 L/min nasal",
        at=DOSED + timedelta(minutes=41),
    )
    service.add_event(
        sid,
        kind="adverse",
        type="other",
        severity="severe",
        serious=True,
        by="ana",
        text="apnoea 20 s",
        at=DOSED + timedelta(minutes=40),
    )
    clock.set(DOSED + timedelta(minutes=130))
    form = service.rems(sid)
    # Still in observation: minutes so far, and the form says so.
    assert (form.minutes_monitored, form.monitored_until) == (130, "now")
    assert "not discharged" in form.missing
    assert form.sedation.value is True
    assert "MOAA/S 3 at +30 min" in form.sedation.evidence
    assert form.dissociation.value is True and form.dissociation.evidence == (
        "CADSS 12 at +40 min",
    )
    evidence = form.respiratory_depression.evidence
    assert form.respiratory_depression.value is True
    assert "RR 8 at +40 min" in evidence and "SpO2 90 at +40 min" in evidence
    assert any(e.startswith("oxygen given at +41 min") for e in evidence)
    assert form.serious_adverse_events == ("other at +40 min: apnoea 20 s",)
    assert form.bp_at_40.systolic == 150
    # Recovered at the end: the latest values are acceptable.
    assert form.vitals_ok_end.value is True


def test_an_override_discharge_is_not_acceptable_at_the_end_and_has_no_ready_minute(service, clock):
    high_end = [*CALM[:-1], (118, "186/96 hr 88 spo2 98 rr 14 moaas 5 cadss 0")]
    sid = treat(
        service, clock, "P1", readings=high_end, override_reason="transferred to ED", cosign="sam"
    )
    form = service.rems(sid)
    assert form.vitals_ok_end.value is False
    assert any("SBP" in e or "BP" in e for e in form.vitals_ok_end.evidence)
    assert form.bp_end.systolic == 186
    assert form.ready_minute is None
    assert "no ready-to-leave minute confirmed" in form.missing


def test_vitals_before_dosing_are_not_acceptable_when_the_baseline_is_flagged(service, clock):
    clock.set(DOSED - timedelta(minutes=30))
    sid = service.start_session(
        patient="P1", protocol="esketamine-84", by="ana", age=50, lot="L1", meds=()
    )
    clock.set(DOSED - timedelta(minutes=5))
    high = service.record_reading(sid, "156/96 hr 70 spo2 98 moaas 5 cadss 0", by="ana")
    service.acknowledge_many(
        [f.id for f in high.flags], by="ana", action="reviewed by Dr K", cosign="sam"
    )
    clock.set(DOSED)
    service.record_dose(sid, by="ana")
    form = service.rems(sid)
    assert form.vitals_ok_before.value is False
    assert form.bp_before.systolic == 156


def test_due_dates_follow_the_local_calendar_across_month_and_year_ends():
    assert due_date(date(2026, 11, 27)) == date(2026, 12, 4)
    assert due_date(date(2026, 12, 28)) == date(2027, 1, 4)
    assert due_date(date(2028, 2, 25)) == date(2028, 3, 3)  # a leap year
    from zoneinfo import ZoneInfo

    late_evening = datetime(2026, 11, 30, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    moment = late_evening.astimezone(UTC)  # already 1 December in UTC
    assert moment.date() == date(2026, 12, 1)
    assert treatment_date(moment, ZoneInfo("America/New_York")) == date(2026, 11, 30)
    assert due_date(treatment_date(moment, ZoneInfo("America/New_York"))) == date(2026, 12, 7)


def test_the_due_list_holds_unsubmitted_forms_due_within_7_days_oldest_first(service, clock):
    old = treat(service, clock, "P1", DOSED - timedelta(days=7))  # due today
    older = treat(service, clock, "P2", DOSED - timedelta(days=9))  # overdue
    sent = treat(service, clock, "P3", DOSED - timedelta(days=6))
    service.rems_submit(sent, by="sam")
    recent = treat(service, clock, "P4", DOSED)
    active = treat(service, clock, "P5", DOSED + timedelta(hours=3), discharge=False)
    clock.set(DOSED + timedelta(hours=6))
    ketamine = service.start_session(patient="P6", protocol="ketamine-im", by="ana")
    due = list(service.rems_list(due=True).forms)
    assert [f.session_id for f in due] == [older, old, recent, active]
    today = service.today()
    assert [f.status(today) for f in due] == [
        "overdue (2 d)",
        "due today",
        "due in 7 days",
        "due in 7 days",
    ]
    everything = service.rems_list()
    assert [f.session_id for f in everything.forms] == [active, recent, sent, old, older]
    assert not everything.more
    page = service.rems_list(limit=2)
    assert [f.session_id for f in page.forms] == [active, recent] and page.more
    with pytest.raises(Refused, match="esketamine"):
        service.rems(ketamine)
    # A week later, the form of the 27th is overdue by the calendar, whatever the hour.
    later = with_clock(service, lambda: datetime(2026, 12, 5, 0, 1, tzinfo=UTC))
    assert later.rems(recent).status(later.today()) == "overdue (1 d)"


# -- submitted, corrected ------------------------------------------------------------------


def test_submitting_is_a_supervisors_once(service, clock):
    sid = treat(service, clock, "P1")
    with pytest.raises(PermissionDenied, match="only a supervisor"):
        service.rems_submit(sid, by="ana")
    clock.set(DOSED + timedelta(days=1))
    form = service.rems_submit(sid, by="sam")
    assert form.submission is not None and form.submission.by == "sam"
    assert form.submission.at == DOSED + timedelta(days=1)
    with pytest.raises(Refused, match="already marked submitted by sam"):
        service.rems_submit(sid, by="sam")
    assert service.rems(sid).status(service.today()) == "submitted"
    with service.engine.connect() as c:
        rows = c.execute(text("SELECT answers FROM rems_submissions")).scalars().all()
        audit = c.execute(
            text("SELECT user_name FROM audit_log WHERE action = 'rems.submit'")
        ).scalars()
        assert list(audit) == ["sam"]
    assert len(rows) == 1 and json.loads(rows[0])["lot"] == "L42"


def test_a_form_is_submitted_only_once_the_patient_has_left(service, clock):
    sid = treat(service, clock, "P1", discharge=False)
    with pytest.raises(Refused, match="still in observation"):
        service.rems_submit(sid, by="sam")


def test_corrections_are_kept_beside_the_proposal_with_who_and_why(service, clock):
    sid = treat(service, clock, "P1")
    clock.set(DOSED + timedelta(hours=3))
    with pytest.raises(PermissionDenied, match="only a supervisor"):
        service.rems_correct(
            sid, field="sedation", value=True, reason="drowsy on the ward", by="ana"
        )
    form = service.rems_correct(
        sid, field="sedation", value=True, reason="drowsy at +50, not charted", by="sam"
    )
    assert (form.sedation.value, form.sedation.proposal) == (True, False)
    assert form.sedation.correction.by == "sam"
    assert form.sedation.correction.reason == "drowsy at +50, not charted"
    assert form.sedation.source.startswith("corrected by sam")
    with pytest.raises(Refused, match="already 'yes'"):
        service.rems_correct(sid, field="sedation", value=True, reason="again", by="sam")
    with pytest.raises(Refused, match="cannot be corrected"):
        service.rems_correct(sid, field="lot", value=True, reason="x", by="sam")
    with pytest.raises(Refused, match="empty"):
        service.rems_correct(sid, field="dissociation", value=True, reason=" ", by="sam")
    clock.set(DOSED + timedelta(hours=4))
    form = service.rems_correct(
        sid, field="sedation", value=False, reason="rechecked the notes: alert", by="sam"
    )
    assert form.sedation.value is False
    assert [(c.field, c.value) for c in form.corrections] == [
        ("sedation", True),
        ("sedation", False),
    ]
    shown = form.as_json(service.today())
    assert shown["sedation"]["source"] == "correction"
    assert shown["sedation"]["reason"] == "rechecked the notes: alert"
    assert len(shown["corrections"]) == 2
    with service.engine.connect() as c:
        audit = c.execute(
            text("SELECT user_name, reason FROM audit_log WHERE action = 'rems.correct'")
        ).all()
    assert [tuple(a) for a in audit] == [
        ("sam", "drowsy at +50, not charted"),
        ("sam", "rechecked the notes: alert"),
    ]
    service.rems_submit(sid, by="sam")
    with pytest.raises(Refused, match="already submitted"):
        service.rems_correct(sid, field="dissociation", value=True, reason="late", by="sam")


def test_after_sign_off_a_form_may_be_submitted_but_not_corrected(service, clock):
    sid = treat(service, clock, "P1")
    service.sign(sid, by="sam", pin="9999")
    with pytest.raises(Refused, match="signed off"):
        service.rems_correct(sid, field="dissociation", value=True, reason="x", by="sam")
    assert service.rems_submit(sid, by="sam").submitted


def test_the_rems_tables_refuse_every_rewrite(service, clock):
    sid = treat(service, clock, "P1")
    service.rems_correct(sid, field="sedation", value=True, reason="drowsy", by="sam")
    service.rems_submit(sid, by="sam")
    engine = make_engine(service.engine.url.render_as_string(hide_password=False))
    try:
        for sql in (
            "UPDATE rems_submissions SET answers = '{}'",
            "DELETE FROM rems_submissions",
            "UPDATE rems_corrections SET value = NOT value",
            "DELETE FROM rems_corrections",
            # A second submission of the same session, whatever the statement.
            "INSERT INTO rems_submissions (session_id, by_id, at, answers) "
            "SELECT session_id, by_id, at, '{}' FROM rems_submissions",
        ):
            with (
                pytest.raises(Exception, match=r"(monitor|refused|UNIQUE|unique)"),
                engine.begin() as c,
            ):
                c.execute(text(sql))
    finally:
        engine.dispose()


def test_migration_0007_keeps_every_row_and_guards_its_tables(empty_url):  # noqa: F811
    migrate_to(empty_url, "0006")
    populate(empty_url)
    engine = make_engine(empty_url)
    counted = "SELECT (SELECT COUNT(*) FROM readings), (SELECT COUNT(*) FROM audit_log)"
    with engine.connect() as c:
        before = tuple(c.execute(text(counted)).one())
    engine.dispose()
    migrate_to(empty_url, "0007")
    engine = make_engine(empty_url)
    try:
        with engine.connect() as c:
            assert tuple(c.execute(text(counted)).one()) == before
        with engine.begin() as c:
            c.execute(
                text(
                    "INSERT INTO rems_submissions (session_id, by_id, at, answers) "
                    "VALUES (1, 2, '2026-11-28 09:00:00.000000', '{}')"
                )
            )
        for sql in ("UPDATE rems_submissions SET answers = 'x'", "DELETE FROM rems_submissions"):
            with pytest.raises(Exception, match="append-only"), engine.begin() as c:
                c.execute(text(sql))
    finally:
        engine.dispose()


# -- the command line ----------------------------------------------------------------------


def _whole_session(cli) -> int:  # noqa: F811
    sid = start(cli, "--at", ago(140), "--first-treatment", "yes")
    cli("record", str(sid), FULL, "--by", "ana", "--at", ago(135))
    cli("session", "dose", str(sid), "--by", "ana", "--at", ago(130))
    for minutes_ago, entry in (
        (115, "spo2 98 moaas 5"),
        (100, "spo2 98 moaas 5"),
        (90, "132/84 hr 72 spo2 98 rr 14 moaas 5 cadss 6"),
        (70, "spo2 98 moaas 5"),
        (40, FULL),
        (12, FULL),
    ):
        cli("record", str(sid), entry, "--by", "ana", "--at", ago(minutes_ago))
    cli(
        "session",
        "discharge",
        str(sid),
        "--by",
        "ana",
        "--escort",
        "partner",
        "--instructions-given",
    )
    return sid


def test_rems_from_the_command_line(cli):  # noqa: F811
    sid = _whole_session(cli)
    listed = cli.json("rems")
    assert [f["session"] for f in listed] == [sid]
    assert listed[0]["patient"] == "MRN-1" and listed[0]["first_treatment"] is True
    treated = date.fromisoformat(listed[0]["treatment_date"])
    assert date.fromisoformat(listed[0]["due_date"]) == treated + timedelta(days=7)
    assert listed[0]["dissociation"]["proposal"] is True
    table = cli("rems", "--due").stdout
    assert table.splitlines()[0].split("\t")[:5] == [
        "session",
        "patient",
        "treated",
        "due",
        "status",
    ]
    assert table.splitlines()[1].startswith(f"{sid}\tMRN-1\t")
    assert "due in" in table

    shown = cli("rems", "show", str(sid)).stdout
    assert "  Dissociation: yes  (proposal)\n    CADSS 6 at +40 min\n" in shown
    assert "  Minutes monitored: 130 (to discharge)\n" in shown  # from dosing, 130 min ago

    error = cli.refused(
        "rems", "correct", str(sid), "--field", "dissociation", "--value", "no",
        "--reason", "x", "--by", "ana",
    )  # fmt: skip
    assert error == "error: ana is a nurse: only a supervisor corrects a REMS answer"
    out = cli(
        "rems", "correct", str(sid), "--field", "dissociation", "--value", "no",
        "--reason", "CADSS mis-scored: 23-item total was 2", "--by", "sam",
    ).stdout  # fmt: skip
    assert "dissociation: no (proposed yes), corrected by sam" in out
    form = cli.json("rems", "show", str(sid))
    assert form["dissociation"]["value"] is False
    assert form["dissociation"]["proposal"] is True
    assert form["dissociation"]["corrected_by"] == "sam"
    assert form["dissociation"]["reason"] == "CADSS mis-scored: 23-item total was 2"

    error = cli.refused("rems", "submit", str(sid), "--by", "ana")
    assert "only a supervisor" in error
    out = cli("rems", "submit", str(sid), "--by", "sam").stdout
    assert f"REMS form of session {sid} marked submitted by sam" in out
    error = cli.refused("rems", "submit", str(sid), "--by", "sam")
    assert "already marked submitted by sam" in error
    assert cli("rems", "--due").stdout.strip() == "no REMS forms due"
    assert cli.json("rems", "--due") == []
    assert cli.json("rems")[0]["status"] == "submitted"
    assert cli.json("rems")[0]["submitted"]["by"] == "sam"


def test_rems_refusals_are_one_line(cli):  # noqa: F811
    error = cli.refused("rems", "show", "999")
    assert error.startswith("error: no session 999")
    error = cli.refused(
        "rems", "correct", "1", "--field", "lot", "--value", "yes", "--reason", "x",
        "--by", "sam",
    )  # fmt: skip
    assert "lot" in error
    sid = start(cli)
    error = cli.refused("rems", "submit", str(sid), "--by", "sam")
    assert "no dose recorded" in error
    assert cli.refused("rems", "submit", str(sid), "--by", "sam", pin=False).startswith("error:")


@pytest.mark.postgres
def test_the_station_role_submits_and_corrects_but_cannot_rewrite(station_url, clock):  # noqa: F811
    from monitor.services import Service

    service = Service.open(station_url, clock=clock)
    try:
        service.authenticate("ana", "1234")  # the database checks who acts
        service.authenticate("sam", "9999")
        sid = treat(service, clock, "P1")
        service.rems_correct(sid, field="sedation", value=True, reason="drowsy", by="sam")
        assert service.rems_submit(sid, by="sam").submitted
    finally:
        service.close()
    engine = make_engine(station_url)
    try:
        for sql in (
            "UPDATE rems_submissions SET answers = '{}'",
            "TRUNCATE rems_corrections",
            "ALTER TABLE rems_submissions DISABLE TRIGGER ALL",
        ):
            with (
                pytest.raises(Exception, match=r"(?i)(permission denied|must be owner|refused)"),
                engine.begin() as c,
            ):
                c.execute(text(sql))
    finally:
        engine.dispose()
