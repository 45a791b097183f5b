"""A malformed stored row is read as a marker, never a traceback or a blocked queue (issue #20,
item 6; docs/storage.md, "Unreadable records"), on SQLite and PostgreSQL.

The rows are poisoned as the database's owner, as the attack did it: a legitimate transition
(the discharge of an active session) writing a forged gate, or plain inserts of rows the
services would never write (a flag of an unknown severity, a session of an unknown protocol,
an audit row that is not JSON, a rules version that is not TOML). The helpers below are used by
the command line's tests too (tests/cli/test_unreadable_cli.py).
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Table, insert, select, update

from monitor.core.config import ClinicConfig
from monitor.core.rules import Severity
from monitor.errors import Refused
from monitor.export import Selection, export
from monitor.export.csv_readings import reading_lines
from monitor.present.audit import audit_story, text_line
from monitor.present.json import session_json
from monitor.present.parts import plain
from monitor.present.record import discharge_lines, flag_line, session_facts
from monitor.present.session import session_log
from monitor.services.stored import KeptGate, kept_gate
from monitor.store import models as m
from monitor.unreadable import MEDICATION, SCHEDULE, STORED_GATE, Unreadable, read, reason
from tests.helpers import DOSED

SESSIONS = cast(Table, m.TreatmentSession.__table__)
PATIENTS = cast(Table, m.Patient.__table__)
FLAGS = cast(Table, m.Flag.__table__)
AUDIT = cast(Table, m.AuditEntry.__table__)
VERSIONS = cast(Table, m.ConfigVersion.__table__)
SUBMISSIONS = cast(Table, m.RemsSubmission.__table__)
USERS = cast(Table, m.User.__table__)
FULL = "120/80 hr 70 spo2 98 moaas 5 cadss 0"


# -- poisoning, as the database's owner ---------------------------------------------------


def user_id(engine, name: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(USERS.c.id).where(USERS.c.name == name)).scalar_one())


def forge_discharge(
    engine, session_id: int, gate: str | None, *, at: datetime, rems: str | None = None
) -> None:
    """Discharge an active session by the legal transition, with a forged stored gate (and
    REMS proposals), as the attack's session 5 was."""
    with engine.begin() as connection:
        connection.execute(
            update(SESSIONS)
            .where(SESSIONS.c.id == session_id)
            .values(
                discharged_at=at,
                discharged_by_id=user_id(engine, "ana"),
                gate_at_discharge=gate,
                rems_at_discharge=rems,
                escort="partner",
                instructions_given=True,
            )
        )


def insert_session(
    engine,
    patient: str,
    protocol: str,
    *,
    at: datetime,
    config_version: int = 1,
    meds: str | None = None,
) -> int:
    """A session row the services would refuse (an unknown protocol, medication)."""
    with engine.begin() as connection:
        pid = connection.execute(
            insert(PATIENTS).values(identifier=patient, created_at=at).returning(PATIENTS.c.id)
        ).scalar_one()
        return int(
            connection.execute(
                insert(SESSIONS)
                .values(
                    patient_id=pid,
                    protocol=protocol,
                    started_at=at,
                    started_by_id=user_id(engine, "ana"),
                    config_version=config_version,
                    meds=meds,
                    age=40,
                )
                .returning(SESSIONS.c.id)
            ).scalar_one()
        )


def insert_flag(engine, reading_id: int, severity: str) -> int:
    """A flag of a severity the product does not know."""
    with engine.begin() as connection:
        return int(
            connection.execute(
                insert(FLAGS)
                .values(
                    reading_id=reading_id,
                    measure="systolic",
                    severity=severity,
                    rule="forged.rule",
                    message="forged flag",
                    raised_by="reading",
                )
                .returning(FLAGS.c.id)
            ).scalar_one()
        )


def insert_audit(engine, session_id: int | None, before: str | None, after: str | None) -> int:
    """An audit row whose before/after is not JSON."""
    with engine.begin() as connection:
        last = connection.execute(select(AUDIT.c.at).order_by(AUDIT.c.id.desc())).scalar()
        return int(
            connection.execute(
                insert(AUDIT)
                .values(
                    at=last,
                    user_name="ana",
                    action="reading.record",
                    session_id=session_id,
                    entity="reading",
                    entity_id=1,
                    before=before,
                    after=after,
                )
                .returning(AUDIT.c.id)
            ).scalar_one()
        )


def insert_rules(engine, number: int, body: str, at: datetime) -> None:
    """A version of the clinic's rules whose body is whatever it is given."""
    with engine.begin() as connection:
        connection.execute(
            insert(VERSIONS).values(
                id=number, at=at, by_id=None, reason="forged", source="forged", body=body
            )
        )


def insert_submission(engine, session_id: int, answers: str, at: datetime) -> None:
    """A REMS form marked submitted with answers that are not JSON."""
    with engine.begin() as connection:
        connection.execute(
            insert(SUBMISSIONS).values(
                session_id=session_id, by_id=user_id(engine, "sam"), at=at, answers=answers
            )
        )


# -- a record to poison ---------------------------------------------------------------------


def observed(service, clock, patient: str, *, discharge: bool = True) -> int:
    """An esketamine-84 session dosed at the test dose, with a reading at +40 min, then
    discharged by override at +45 (its gate stored) unless ``discharge`` is false."""
    clock.set(DOSED - timedelta(minutes=10))
    sid = service.start_session(
        patient=patient, protocol="esketamine-84", by="ana", age=52, meds=()
    )
    service.record_reading(sid, FULL, by="ana")
    clock.set(DOSED)
    service.record_dose(sid, by="ana")
    clock.set(DOSED + timedelta(minutes=40))
    service.record_reading(sid, FULL, by="ana")
    if discharge:
        clock.set(DOSED + timedelta(minutes=45))
        service.discharge(
            sid,
            by="sam",
            override_reason="left early, informed",
            escort="partner",
            instructions_given=True,
        )
    return sid


def stored_gate(engine, session_id: int) -> dict[str, Any]:
    with engine.connect() as connection:
        text = connection.execute(
            select(SESSIONS.c.gate_at_discharge).where(SESSIONS.c.id == session_id)
        ).scalar_one()
    return cast(dict[str, Any], json.loads(text))


@pytest.fixture
def poisoned(service, clock) -> dict[str, int]:
    """A clean discharged session, and beside it: a session discharged with a forged gate
    without ``protocol`` (the attack's), one whose gate is not JSON, an active one with a flag
    of an unknown severity."""
    clean = observed(service, clock, "CLEAN")
    gate = stored_gate(service.engine, clean)
    del gate["config"]["protocol"]
    forged = observed(service, clock, "FORGED", discharge=False)
    forge_discharge(service.engine, forged, json.dumps(gate), at=DOSED + timedelta(minutes=46))
    garbled = observed(service, clock, "GARBLED", discharge=False)
    forge_discharge(service.engine, garbled, "{not json", at=DOSED + timedelta(minutes=47))
    flagged = observed(service, clock, "FLAGGED", discharge=False)
    reading = service.session(flagged).readings[-1].id
    flag = insert_flag(service.engine, reading, "critical")
    clock.set(DOSED + timedelta(minutes=50))
    return {"clean": clean, "forged": forged, "garbled": garbled, "flagged": flagged, "flag": flag}


# -- the helper ---------------------------------------------------------------------------


def test_read_turns_a_parse_failure_into_a_marker_naming_record_part_and_why():
    assert read(lambda: json.loads("{}"), "session 5", STORED_GATE) == {}
    marker = read(lambda: json.loads("{x"), "session 5", STORED_GATE)
    assert str(marker) == "session 5: stored gate unreadable (not JSON)"
    missing = read(lambda: {}["protocol"], "session 5", STORED_GATE)
    assert str(missing) == "session 5: stored gate unreadable (no 'protocol')"
    # Anyone's text: one printable, short line.
    odd = reason(ValueError("a\x1b[2Jb\nc" + "x" * 200))
    assert odd.isprintable() and len(odd) <= 80 and "\n" not in odd
    with pytest.raises(ZeroDivisionError):  # a bug is not a malformed value
        read(lambda: 1 / 0, "session 5", STORED_GATE)


# -- sessions -------------------------------------------------------------------------------


def test_the_review_queue_loads_with_the_poisoned_sessions_listed_as_unreadable(service, poisoned):
    page = service.review_queue()
    rows = {row.id: row for row in page.rows}
    assert set(rows) == {poisoned["clean"], poisoned["forged"], poisoned["garbled"]}
    assert rows[poisoned["clean"]].unreadable == ()
    assert rows[poisoned["forged"]].unreadable == (
        f"session {poisoned['forged']}: stored gate unreadable (no 'protocol')",
    )
    assert rows[poisoned["garbled"]].unreadable == (
        f"session {poisoned['garbled']}: stored gate unreadable (not JSON)",
    )
    # The rest of the record is counted as usual: its checks, judged at the discharge.
    assert rows[poisoned["forged"]].checks_on_time == rows[poisoned["clean"]].checks_on_time


def test_a_session_with_an_unreadable_gate_shows_what_is_readable_and_names_the_rest(
    service, poisoned
):
    view = service.session(poisoned["forged"])
    assert [str(u) for u in view.unreadable] == [
        f"session {poisoned['forged']}: stored gate unreadable (no 'protocol')"
    ]
    assert view.stored_gate is None and len(view.readings) == 2 and view.checks
    assert view.discharged_at is not None and view.escort == "partner"
    said = [plain(line) for line in discharge_lines(view)]
    assert "Gate at discharge: stored, UNREADABLE (no 'protocol')." in said
    doc = session_json(view)
    assert doc["unreadable"] == [str(view.unreadable[0])]
    assert doc["discharge"]["gate_at_discharge"] == {"unreadable": "no 'protocol'"}
    json.dumps(doc)  # as `session show --json` writes it
    log = session_log(view)
    assert "UNREADABLE" in log[0].text and "stored gate unreadable" in log[0].text
    assert any("gate stored at discharge UNREADABLE" in e.text for e in log)
    # The clean session is read as before.
    clean = service.session(poisoned["clean"])
    assert clean.unreadable == () and clean.stored_gate is not None
    assert session_json(clean)["unreadable"] == []


def test_a_gate_whose_parts_are_of_the_wrong_type_is_unreadable(service, clock, poisoned):
    gate = stored_gate(service.engine, poisoned["clean"])
    forms = {
        "ready is text": {**gate, "ready": "yes"},
        "a list": [gate],
        "a measure unknown": {
            **gate,
            "config": {
                **gate["config"],
                "protocol": {**gate["config"]["protocol"], "baseline": ["bp", "mood"]},
            },
        },
        "windows odd": {
            **gate,
            "config": {**gate["config"], "windows": {"early_min": 5, "nonsense": 1}},
        },
        "a version too large": {**gate, "config_version": 2**80},
        "a version as text": {**gate, "config_version": "1; DROP TABLE x"},
        "a version that does not exist": {**gate, "config_version": 99},
        "judged at no time": {**gate, "judged_at": "yesterday"},
        "windows that cannot be computed": {
            **gate,
            "config": {**gate["config"], "windows": {**gate["config"]["windows"], "late_min": "x"}},
        },
    }
    made = {}
    for n, (what, record) in enumerate(forms.items()):
        sid = observed(service, clock, f"ODD-{n}", discharge=False)
        forge_discharge(service.engine, sid, json.dumps(record), at=DOSED + timedelta(minutes=60))
        made[sid] = what
    clock.set(DOSED + timedelta(minutes=70))
    for view in service.sessions(list(made)):
        assert [u.part for u in view.unreadable] == [STORED_GATE], made[view.id]
        assert view.stored_gate is None and view.readings, made[view.id]
    listed = {row.id: row for row in service.review_queue(limit=50).rows}
    assert all(listed[sid].unreadable for sid in made)


def test_a_flag_of_an_unknown_severity_counts_as_high_and_is_named(service, poisoned):
    view = service.session(poisoned["flagged"])
    flag = next(f for r in view.readings for f in r.flags if f.id == poisoned["flag"])
    assert flag.severity is Severity.HIGH and flag.unreadable is not None
    assert [str(u) for u in view.unreadable] == [
        f"flag {poisoned['flag']}: severity unreadable ('critical' is not a valid Severity)"
    ]
    # Never missed: it waits for an acknowledgement and holds the gate.
    assert flag in view.open_flags()
    assert any("acknowledged" in reason for reason in view.gate.reasons)
    line = plain(flag_line(flag, view.readings[-1].recorded_at))
    assert line.startswith("!!! severity UNREADABLE ('critical' is not a valid Severity")
    assert "NOT acknowledged" in line
    # The floor loads: the active sessions, this one among them.
    assert poisoned["flagged"] in [v.id for v in service.active_sessions()]
    # A nurse acknowledges it as any flag; then it holds nothing.
    done = service.acknowledge(poisoned["flag"], by="ana", action="rechecked: 128/80")
    assert done.unreadable is not None and done.acknowledged
    assert service.session(poisoned["flagged"]).open_flags() == []


def test_a_session_of_an_unknown_protocol_is_listed_unjudged_and_cannot_be_discharged(
    service, clock, poisoned
):
    sid = insert_session(service.engine, "ODD-PROTO", "esketamine-999", at=clock())
    active = {v.id: v for v in service.active_sessions()}
    view = active[sid]
    assert [u.part for u in view.unreadable] == [SCHEDULE]
    assert "unknown protocol 'esketamine-999'" in view.unreadable[0].why
    assert view.schedule is None and view.checks == () and not view.gate.ready
    assert view.gate.reasons == (str(view.unreadable[0]),)
    assert view.dosing_refusals == (str(view.unreadable[0]),)
    facts = dict(session_facts(view))
    assert facts["Protocol"].startswith("esketamine-999 (UNREADABLE (unknown protocol")
    with pytest.raises(Refused, match="cannot be judged: its schedule is unreadable"):
        service.discharge(
            sid, by="sam", override_reason="gone", escort="x", instructions_given=True
        )


def test_medication_that_is_not_understood_is_named_where_it_would_be(service, clock):
    sid = insert_session(service.engine, "ODD-MEDS", "esketamine-84", at=clock(), meds="lsd")
    view = service.session(sid)
    assert [u.part for u in view.unreadable] == [MEDICATION]
    assert view.meds is None and view.checks  # judged as usual
    assert dict(session_facts(view))["Medication"].startswith("UNREADABLE (medication lsd")


def test_rules_that_are_not_toml_mark_the_sessions_that_follow_them(service, clock, poisoned):
    # Version 2 is garbage, version 3 (in force) is the shipped defaults.
    insert_rules(service.engine, 2, "thresholds = [[[", clock())
    insert_rules(service.engine, 3, "", clock())
    sid = insert_session(service.engine, "ODD-RULES", "esketamine-84", at=clock(), config_version=2)
    view = service.session(sid)
    assert [u.part for u in view.unreadable] == [SCHEDULE]
    assert "version 2 of the clinic's rules is not valid TOML" in view.unreadable[0].why
    assert poisoned["flagged"] in [v.id for v in service.active_sessions()]


def test_the_queue_and_the_summary_load_when_the_rules_in_force_are_not_toml(
    service, clock, poisoned
):
    insert_rules(service.engine, 2, "not = toml = at all", clock())
    page = service.review_queue()
    rows = {row.id: row for row in page.rows}
    # Discharged sessions keep their stored gates: judged as they were.
    assert rows[poisoned["clean"]].unreadable == ()
    # The forged one falls back on the rules in force, which cannot be read either.
    assert any("rules in force" in u for u in rows[poisoned["forged"]].unreadable)
    report = service.quality_report(None, None)
    assert report.sessions == 3 and report.unreadable
    active = {v.id: v for v in service.active_sessions()}
    assert all(v.unreadable and v.schedule is None for v in active.values())


def test_the_quality_summary_counts_the_readable_and_names_the_unreadable(service, poisoned):
    report = service.quality_report(None, None)
    assert report.sessions == 3
    assert report.unreadable == (
        f"session {poisoned['forged']}: stored gate unreadable (no 'protocol')",
        f"session {poisoned['garbled']}: stored gate unreadable (not JSON)",
    ) or set(report.unreadable) == {
        f"session {poisoned['forged']}: stored gate unreadable (no 'protocol')",
        f"session {poisoned['garbled']}: stored gate unreadable (not JSON)",
    }


# -- REMS, audit ----------------------------------------------------------------------------


def test_rems_answers_that_are_not_json_do_not_stop_the_forms(service, clock, poisoned):
    sid = observed(service, clock, "REMS", discharge=False)
    gate = stored_gate(service.engine, poisoned["clean"])
    forge_discharge(
        service.engine, sid, json.dumps(gate), at=DOSED + timedelta(minutes=48), rems="[oops"
    )
    insert_submission(service.engine, sid, "{{{", clock())
    # A change after discharge makes the reads compare the stored proposals.
    clock.set(DOSED + timedelta(minutes=55))
    service.record_reading(sid, "hr 70", by="ana", measured_at=DOSED + timedelta(minutes=44))
    view = service.session(sid)
    assert view.rems_changed_after_discharge == ()
    forms = list(service.rems_list().forms)
    assert sid in [f.session_id for f in forms]
    assert service.rems(sid).submitted


def test_an_audit_row_that_is_not_json_is_shown_as_stored_and_named(service, poisoned):
    row_id = insert_audit(service.engine, poisoned["clean"], "{", "not json at all")
    rows = [r for r in service.audit(poisoned["clean"]) if r.id == row_id]
    story = audit_story(rows[0])
    assert story.unreadable == (
        f"audit row {row_id}: before unreadable (not JSON)",
        f"audit row {row_id}: after unreadable (not JSON)",
    )
    assert "not json at all" in story.change
    assert f"UNREADABLE: audit row {row_id}: after unreadable" in plain(text_line(story))
    assert service.audit_keyset().rows


@pytest.mark.parametrize(
    "value",
    ['{"kind": 1, "text": null}', '{"systolic": "x", "spo2": 1e400}', '[1, {"a": []}]', '"{"'],
)
def test_audit_rows_of_odd_json_are_told_without_failing(service, poisoned, value):
    row_id = insert_audit(service.engine, None, value, value)
    [row] = [r for r in service.audit() if r.id == row_id]
    assert plain(text_line(audit_story(row)))


# -- exports ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "csv", "fhir", "pdf"])
def test_exports_write_every_session_and_mark_the_unreadable(service, poisoned, tmp_path, fmt):
    ids = tuple(v for k, v in poisoned.items() if k != "flag")
    result = export(service, Selection(ids=ids), fmt, tmp_path / f"out.{fmt}")
    assert result.sessions == len(ids)
    if fmt == "csv":  # readings: only the flag is in them
        assert result.unreadable == (
            f"flag {poisoned['flag']}: severity unreadable ('critical' is not a valid Severity)",
        )
    else:
        assert {u.split(":")[0] for u in result.unreadable} == {
            f"session {poisoned['forged']}",
            f"session {poisoned['garbled']}",
            f"flag {poisoned['flag']}",
        }
    if fmt == "json":
        lines = [json.loads(line) for line in (tmp_path / "out.json").read_text().splitlines()]
        assert [doc["id"] for doc in lines] == sorted(ids)
        marked = {doc["id"]: doc["unreadable"] for doc in lines}
        assert marked[poisoned["clean"]] == []
        assert marked[poisoned["forged"]] == [
            f"session {poisoned['forged']}: stored gate unreadable (no 'protocol')"
        ]


def test_the_csv_of_readings_marks_a_flag_of_an_unknown_severity(service, poisoned):
    found: list[Unreadable] = []
    lines = reading_lines(service, [poisoned["flagged"]], found, spreadsheet=False)
    rows = list(csv.reader(line for chunk in lines for line in chunk))
    flagged = [row for row in rows if "forged flag" in (row[25] or "")]
    assert len(flagged) == 1
    assert "high (severity UNREADABLE: 'critical' is not a valid Severity)" in flagged[0][25]
    assert [u.record for u in found] == [f"flag {poisoned['flag']}"]


def test_a_clean_record_has_no_marker(service, clock):
    sid = observed(service, clock, "CLEAN")
    other = observed(service, clock, "ACTIVE", discharge=False)
    assert service.session(sid).unreadable == () and service.session(other).unreadable == ()
    assert all(row.unreadable == () for row in service.review_queue().rows)
    assert service.quality_report(None, None).unreadable == ()
    assert all(audit_story(row).unreadable == () for row in service.audit())


# -- what only an SQLite file edited by hand can hold ----------------------------------------


def drop_session_guards(engine) -> None:
    """The file's owner can drop the triggers (docs/storage.md, "Security model")."""
    with engine.begin() as connection:
        for name in ("treatment_sessions_transitions", "treatment_sessions_audit"):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_numbers_and_values_of_another_type_are_left_out_and_named(service, clock, poisoned):
    drop_session_guards(service.engine)
    reading = service.session(poisoned["clean"]).readings[-1].id
    with service.engine.begin() as connection:
        connection.exec_driver_sql(
            f"UPDATE treatment_sessions SET age = 'old' WHERE id = {poisoned['clean']}"
        )
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS readings_no_update")
        connection.exec_driver_sql(f"UPDATE readings SET systolic = 'abc' WHERE id = {reading}")
    view = service.session(poisoned["clean"])
    assert [str(u) for u in view.unreadable] == [
        f"session {poisoned['clean']}: numbers unreadable (age not a number)",
        f"reading {reading}: values unreadable (systolic not a whole number)",
    ]
    assert view.age is None and view.reading(reading).vitals.systolic is None
    assert view.reading(reading).vitals.diastolic == 80
    assert session_json(view) and session_log(view)
    assert {r.id for r in service.review_queue().rows} >= {poisoned["clean"]}


# -- any stored gate at all ----------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    record=st.fixed_dictionaries(
        {},
        optional={
            "ready": JSON,
            "reasons": JSON,
            "items": JSON,
            "judged_at": JSON,
            "saved_at": JSON,
            "config_version": JSON,
            "config": st.fixed_dictionaries(
                {}, optional={"protocol": JSON, "windows": JSON, "discharge": JSON}
            ),
        },
    )
    | JSON,
)
@settings(max_examples=300, deadline=None)
def test_any_stored_gate_is_read_or_marked_never_raised(record):
    row = m.TreatmentSession(id=5, gate_at_discharge=json.dumps(record), discharged_at=DOSED)
    kept = kept_gate(row, lambda version: ClinicConfig())
    assert isinstance(kept, (KeptGate, Unreadable))
