"""Every REMS answer correctable by a supervisor before submission, the first answer kept, and the
answers a change after discharge affected (clinical revision 3, issue #19 items 6 and 7;
docs/clinical.md, "The REMS Patient Monitoring Form" and "REMS answers after discharge"),
through the services and the command line, on both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Session as OrmSession

from monitor.core.intake import expected_dose
from monitor.core.rems_answers import FIELDS
from monitor.core.rems_rules import unconfirmed_refusal
from monitor.errors import EntryError, PermissionDenied, Refused
from monitor.services import Service
from monitor.services.rems_record import rems_changed_after_discharge, rems_proposals
from monitor.store import models as m
from tests.cli.test_cli import ago, cli, start  # noqa: F401 - the `cli` fixture
from tests.helpers import DOSED
from tests.services.test_rems import FULL, treat

#: Each answer and a value that changes it on the calm session of ``treat`` (discharged at +121,
#: proposed ready at +40, nothing flagged, no event).
CHANGES = {
    "ready_minute": "55",
    "vitals_ok_before": "no",
    "vitals_ok_end": "false",
    "sedation": "yes",
    "dissociation": "true",
    "respiratory_depression": "YES",
    "serious_adverse_event": "yes",
}
ODD_MINUTES = ["0", "122", "-1", "1e9", "", " ", "4.5", "9" * 5000, "99999999999999999999", "\x00"]
ODD_ANSWERS = ["", "maybe", "1", "40", "\x00\x01", "y" * 600]


@pytest.fixture
def stored_at_discharge(db_url) -> Iterator[None]:
    """The discharge stores the REMS proposals as they stood (``rems_at_discharge``), as the
    services will once the discharge is wired to :func:`rems_proposals`: computed in the
    discharge's own statement (the database takes the column only with the discharge)."""
    helper = Service.open(db_url)

    def store(session: OrmSession, _context: object, _instances: object) -> None:
        for row in list(session.dirty):
            if (
                isinstance(row, m.TreatmentSession)
                and row.discharged_at is not None
                and row.rems_at_discharge is None
                and expected_dose(row.protocol) is not None
                and inspect(row).attrs.discharged_at.history.has_changes()
            ):
                with session.no_autoflush:
                    view = helper._views(session, [row], as_of=row.discharged_at)[0]
                proposals = rems_proposals(
                    view, criteria=helper.config.discharge, windows=helper.config.windows
                )
                row.rems_at_discharge = json.dumps(proposals)

    event.listen(OrmSession, "before_flush", store)
    try:
        yield
    finally:
        event.remove(OrmSession, "before_flush", store)
        helper.close()


def _rows(service: Service, sql: str) -> list[tuple]:
    with service.engine.connect() as c:
        return [tuple(r) for r in c.execute(text(sql))]


def _unconfirmed(service: Service, sid: int) -> list[str]:
    with service._read() as session:
        return service._rems_unconfirmed(session, sid)


def _reading_at(service: Service, sid: int, minute: int) -> int:
    view = service.session(sid)
    return next(
        r.id
        for r in view.readings
        if r.in_force and r.measured_at == DOSED + timedelta(minutes=minute)
    )


# -- every answer corrected ----------------------------------------------------------------


def test_every_answer_is_corrected_by_a_supervisor_and_the_first_answer_is_kept(service, clock):
    sid = treat(service, clock, "P1")
    form = service.rems(sid)
    assert form.proposals() == {
        "ready_minute": 40,
        "vitals_ok_before": True,
        "vitals_ok_end": True,
        "sedation": False,
        "dissociation": False,
        "respiratory_depression": False,
        "serious_adverse_event": False,
    }
    assert (form.ready_minute, form.ready.origin, form.ready.by) == (40, "first answer", "ana")
    clock.set(DOSED + timedelta(hours=3))
    for field, typed in CHANGES.items():
        clock.advance(1)
        form = service.rems_correct(sid, field=field, value=typed, reason=f"why {field}", by="sam")
        answer = form.answer(field)
        assert answer.value != answer.proposal, field
        assert (answer.origin, answer.by, answer.correction.reason) == (
            "correction",
            "sam",
            f"why {field}",
        )
    assert form.ready_minute == 55
    assert (form.ready.proposal, form.ready.first.value, form.ready.first.by) == (40, 40, "ana")
    assert form.as_json(service.today())["answers"]["ready_minute"]["first_answer"] == {
        "value": 40,
        "by": "ana",
    }
    assert [c.field for c in form.corrections] == list(FIELDS)
    # The minute in its own column, yes/no in theirs; one audit row each, with the reason.
    stored = _rows(service, "SELECT field, value, minute FROM rems_corrections ORDER BY id")
    assert stored[0] == ("ready_minute", None, 55)
    assert all(minute is None and value is not None for _, value, minute in stored[1:])
    audit = _rows(
        service, "SELECT user_name, reason, after FROM audit_log WHERE action = 'rems.correct'"
    )
    assert [(who, why) for who, why, _ in audit] == [("sam", f"why {f}") for f in FIELDS]
    assert json.loads(audit[0][2])["ready_minute"] == 55
    # The session's own record keeps the discharging user's answer.
    view = service.session(sid)
    assert (view.ready_minute, view.ready_minute_by, view.ready_minute_proposed) == (40, "ana", 40)
    # A later correction replaces the earlier on the form; both are kept.
    clock.advance(5)
    form = service.rems_correct(sid, field="ready_minute", value=47, reason="+47", by="sam")
    assert form.ready_minute == 47
    assert [c.value for c in form.corrections if c.field == "ready_minute"] == [55, 47]
    with pytest.raises(Refused, match=r"already 'minute 47'.*nothing to correct"):
        service.rems_correct(sid, field="ready_minute", value="47", reason="again", by="sam")


def test_the_ready_minute_is_between_1_and_the_minutes_monitored(service, clock):
    sid = treat(service, clock, "P1")  # dosed at 0, discharged at +121
    clock.set(DOSED + timedelta(hours=3))
    assert service.rems(sid).minutes_monitored == 121
    for typed in ODD_MINUTES:
        with pytest.raises(EntryError) as refused:
            service.rems_correct(sid, field="ready_minute", value=typed, reason="x", by="sam")
        message = str(refused.value)
        assert len(message) < 200 and message.isprintable(), message
    for typed in ODD_ANSWERS:
        with pytest.raises(EntryError, match="yes or no"):
            service.rems_correct(sid, field="sedation", value=typed, reason="x", by="sam")
    with pytest.raises(EntryError, match="cannot be corrected"):
        service.rems_correct(sid, field="x" * 5000, value="yes", reason="x", by="sam")
    assert _rows(service, "SELECT COUNT(*) FROM rems_corrections") == [(0,)]
    assert service.rems_correct(sid, field="ready_minute", value="1", reason="a", by="sam")
    assert service.rems_correct(sid, field="ready_minute", value=121, reason="b", by="sam")
    assert service.rems(sid).ready_minute == 121


def test_a_nurse_is_refused_and_so_is_every_correction_after_submission(service, clock):
    sid = treat(service, clock, "P1")
    clock.set(DOSED + timedelta(hours=3))
    for field, typed in CHANGES.items():
        with pytest.raises(PermissionDenied, match="only a supervisor corrects a REMS answer"):
            service.rems_correct(sid, field=field, value=typed, reason="x", by="ana")
    service.rems_submit(sid, by="sam")
    for field, typed in CHANGES.items():
        with pytest.raises(Refused, match="already submitted"):
            service.rems_correct(sid, field=field, value=typed, reason="late", by="sam")
    assert _rows(service, "SELECT COUNT(*) FROM rems_corrections") == [(0,)]


def test_in_observation_only_the_answers_already_known_are_corrected(service, clock):
    sid = treat(service, clock, "P1", discharge=False)
    clock.set(DOSED + timedelta(minutes=119))
    for field in ("ready_minute", "vitals_ok_end"):
        with pytest.raises(Refused, match="still in observation"):
            service.rems_correct(sid, field=field, value=CHANGES[field], reason="x", by="sam")
    form = service.rems_correct(sid, field="sedation", value="yes", reason="drowsy", by="sam")
    assert form.sedation.value is True
    # Not dosed, or not esketamine: there is no form.
    clock.set(DOSED + timedelta(minutes=125))
    undosed = service.start_session(
        patient="P2", protocol="esketamine-56", by="ana", age=40, first_treatment=False, meds=()
    )
    with pytest.raises(Refused, match="no dose recorded"):
        service.rems_correct(undosed, field="sedation", value="yes", reason="x", by="sam")
    iv = service.start_session(patient="P3", protocol="ketamine-iv", by="ana", age=40)
    with pytest.raises(Refused, match="REMS forms are for esketamine sessions"):
        service.rems_correct(iv, field="ready_minute", value="40", reason="x", by="sam")


# -- the record after discharge ----------------------------------------------------------


def test_the_proposals_stored_at_discharge_are_the_forms(service, clock, stored_at_discharge):
    sid = treat(service, clock, "P1")
    with service._read() as session:
        stored = json.loads(session.get(m.TreatmentSession, sid).rems_at_discharge)
    assert stored == service.rems(sid).proposals()
    view = service.session(sid)
    assert rems_proposals(view) == stored
    assert rems_changed_after_discharge(view, json.dumps(stored)) == ()
    assert _unconfirmed(service, sid) == []
    assert service.rems(sid).changed_after_discharge == ()


def test_a_change_after_discharge_waits_for_a_supervisors_confirmation(
    service, clock, stored_at_discharge
):
    sid = treat(service, clock, "P1")
    clock.set(DOSED + timedelta(hours=3))
    # A supervisor finds MOAA/S 2 at +60 on paper: sedation, and the ready minute moves.
    service.amend(_reading_at(service, sid, 60), "moaas 2", by="sam", reason="paper chart")
    form = service.rems(sid)
    assert form.proposals()["sedation"] is True
    assert "sedation" in form.changed_after_discharge
    assert _unconfirmed(service, sid) == list(form.changed_after_discharge)
    assert form.as_json(service.today())["changed_after_discharge"] == list(
        form.changed_after_discharge
    )
    refusal = unconfirmed_refusal(sid, _unconfirmed(service, sid))
    assert refusal is not None and "monitor rems correct" in refusal.reason
    view = service.session(sid)
    with service._read() as session:
        stored = session.get(m.TreatmentSession, sid).rems_at_discharge
    assert rems_changed_after_discharge(
        view, stored, criteria=service.config.discharge, windows=service.config.windows
    ) == tuple(form.changed_after_discharge)
    # Confirming keeps the answer the form has (the proposal, here): no "nothing to correct".
    clock.advance(10)
    for field in form.changed_after_discharge:
        answer = form.answer(field)
        value = answer.value if answer.value is not None else 90
        form = service.rems_correct(
            sid, field=field, value=value, reason="checked against the chart", by="sam"
        )
    assert form.changed_after_discharge == ()
    assert _unconfirmed(service, sid) == []
    # A confirmed answer is not confirmed again without a new change.
    with pytest.raises(Refused, match="nothing to correct"):
        service.rems_correct(sid, field="sedation", value=True, reason="again", by="sam")
    # A later change asks again: an event recorded after discharge.
    clock.advance(10)
    service.add_event(
        sid,
        kind="adverse",
        text="a serious event found in the notes",
        by="sam",
        type="dizziness",
        severity="severe",
        serious=True,
        at=DOSED + timedelta(minutes=100),
    )
    assert "serious_adverse_event" in _unconfirmed(service, sid)
    assert "sedation" not in _unconfirmed(service, sid)  # unchanged since its confirmation


def test_a_submitted_form_takes_only_the_confirmation_of_what_was_sent(
    service, clock, stored_at_discharge
):
    sid = treat(service, clock, "P1")
    clock.set(DOSED + timedelta(hours=3))
    service.rems_submit(sid, by="sam")
    clock.advance(10)
    service.amend(_reading_at(service, sid, 60), "moaas 2", by="sam", reason="paper chart")
    assert "sedation" in _unconfirmed(service, sid)
    clock.advance(5)
    with pytest.raises(Refused, match="already submitted with sedation 'yes'"):
        service.rems_correct(sid, field="sedation", value=False, reason="x", by="sam")
    with pytest.raises(Refused, match="already submitted: a correction"):
        service.rems_correct(sid, field="dissociation", value=True, reason="x", by="sam")
    form = service.rems_correct(sid, field="sedation", value=True, reason="as sent", by="sam")
    assert "sedation" not in form.changed_after_discharge


# -- the command line ----------------------------------------------------------------------


def _discharged(cli) -> int:  # noqa: F811
    sid = start(cli, "--at", ago(140), "--first-treatment", "no")
    cli("record", str(sid), FULL, "--by", "ana", "--at", ago(135))
    cli("session", "dose", str(sid), "--by", "ana", "--at", ago(130))
    for minutes_ago, entry in (
        (115, "spo2 98 moaas 5"),
        (90, "132/84 hr 72 spo2 98 rr 14 moaas 5 cadss 2"),
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


def _correct(cli, sid: int, field: str, value: str, by: str = "sam", ok: bool = True):  # noqa: F811
    args = ("rems", "correct", str(sid), "--field", field, "--value", value)
    args += ("--reason", f"why {field}", "--by", by)
    return cli(*args) if ok else cli.refused(*args)


def test_rems_correct_from_the_command_line(cli):  # noqa: F811
    sid = _discharged(cli)
    form = cli.json("rems", "show", str(sid))
    first = form["ready_minute"]
    monitored = form["minutes_monitored"]
    assert form["answers"]["ready_minute"]["source"] == "first answer"
    assert form["answers"]["ready_minute"]["by"] == "ana"
    assert form["answers"]["sedation"]["source"] == "proposal"

    assert _correct(cli, sid, "ready_minute", "45", by="ana", ok=False) == (
        "error: ana is a nurse: only a supervisor corrects a REMS answer"
    )
    for typed in ("0", str(monitored + 1), "1e9", "", "-5", "9" * 400, "4.5"):
        error = _correct(cli, sid, "ready_minute", typed, ok=False)
        assert "ready minute" in error and len(error) < 200, error
    for typed in ("", "maybe", "2", "\x07"):
        error = _correct(cli, sid, "sedation", typed, ok=False)
        assert "yes or no" in error and "\x07" not in error, error
    assert "'lot'" in _correct(cli, sid, "lot", "yes", ok=False)
    # Invalid UTF-8 on the command line is refused before anything runs.
    error = cli.refused(
        "rems", "correct", str(sid), "--field", "sedation", "--value", "\udcff",
        "--reason", "x", "--by", "sam",
    )  # fmt: skip
    assert "not valid UTF-8" in error

    out = _correct(cli, sid, "ready_minute", "45").stdout
    assert out == (
        f"session {sid} ready_minute: minute 45 (proposed minute {form['ready_minute_proposed']}; "
        f"first answer minute {first} by ana), corrected by sam: why ready_minute\n"
    )
    for field, typed in CHANGES.items():
        if field != "ready_minute":
            assert f"session {sid} {field}: " in _correct(cli, sid, field, typed).stdout
    form = cli.json("rems", "show", str(sid))
    assert form["ready_minute"] == 45 and form["ready_minute_by"] == "sam"
    assert form["answers"]["ready_minute"]["first_answer"] == {"value": first, "by": "ana"}
    for field in FIELDS:
        answer = form["answers"][field]
        assert (answer["source"], answer["by"], answer["reason"]) == (
            "correction",
            "sam",
            f"why {field}",
        )
    assert [c["field"] for c in form["corrections"]] == list(FIELDS)
    assert cli.json("rems")[0]["answers"]["vitals_ok_end"]["value"] is False

    shown = cli("rems", "show", str(sid)).stdout
    assert f"  Ready to leave: 45 min after dosing, by sam (proposed {first})" in shown
    assert f"first answer {first} by ana" in shown
    assert "  Serious AEs: yes  corrected by sam" in shown
    assert "Corrections (oldest first):\n" in shown and "ready_minute → minute 45" in shown

    cli("rems", "submit", str(sid), "--by", "sam")
    assert "already submitted" in _correct(cli, sid, "sedation", "no", ok=False)


def test_a_change_after_discharge_from_the_command_line(cli, stored_at_discharge):  # noqa: F811
    sid = _discharged(cli)
    assert cli.json("rems", "show", str(sid))["changed_after_discharge"] == []
    reading = next(
        r["id"] for r in cli.json("session", "show", str(sid))["readings"] if r["cadss"] == 2
    )
    cli("amend", str(reading), "cadss 9", "--by", "sam", "--reason", "23-item total was 9")
    form = cli.json("rems", "show", str(sid))
    assert "dissociation" in form["changed_after_discharge"]
    assert form["proposals_at_discharge"]["dissociation"] is False
    assert form["answers"]["dissociation"]["proposal"] is True
    shown = cli("rems", "show", str(sid)).stdout
    assert "  Changed after discharge: " in shown
    assert "dissociation: proposed no at discharge, yes now" in shown
    for field in form["changed_after_discharge"]:
        answer = form["answers"][field]
        value = answer["value"] if answer["value"] is not None else 90
        typed = str(value).lower() if isinstance(value, bool) else str(value)
        _correct(cli, sid, field, {"true": "yes", "false": "no"}.get(typed, typed))
    assert cli.json("rems", "show", str(sid))["changed_after_discharge"] == []
