"""One audit row told (monitor.present.audit): who, what changed, before/after, the reason."""

from __future__ import annotations

import json

from monitor.present.audit import (
    DATABASE_USER,
    NO_USER,
    audit_story,
    change_text,
    detail_lines,
    full_lines,
    parsed,
    shown,
    summary_line,
    text_line,
    who,
)
from monitor.present.parts import Part, Role, plain
from monitor.views import AuditView
from tests.helpers import at


def row(
    action: str,
    *,
    user: str | None = "ana",
    before: object = None,
    after: object = None,
    reason: str | None = None,
    entity: str = "session",
    entity_id: int | None = 3,
    session_id: int | None = 3,
    minutes: float = 0,
    row_id: int = 7,
) -> AuditView:
    def stored(value: object) -> str | None:
        return None if value is None else json.dumps(value)

    return AuditView(
        id=row_id,
        at=at(minutes),
        user=user,
        action=action,
        session_id=session_id,
        entity=entity,
        entity_id=entity_id,
        before=stored(before),
        after=stored(after),
        reason=reason,
    )


#: A trigger's row: the whole session row before and after, one field changed.
TRIGGER = row(
    "db.session.update",
    user=None,
    before={"dosed_at": None, "discharged_at": None, "patient": "MRN-1"},
    after={"dosed_at": "2026-11-27T09:00:00", "discharged_at": None, "patient": "MRN-1"},
)


def test_who_names_the_database_for_a_trigger_row_and_no_user_for_a_refused_sign_in():
    assert who(row("reading.record")) == "ana"
    assert who(TRIGGER) == DATABASE_USER == "(database)"
    assert who(row("auth.refused", user=None, session_id=None)) == NO_USER == "(no user)"
    assert audit_story(TRIGGER).who == Part("(database)", Role.NOTE)
    assert audit_story(row("reading.record")).who == Part("ana")


def test_a_trigger_row_tells_only_the_field_that_changed():
    story = audit_story(TRIGGER)
    assert story.change == "dosed at - → 09:00"
    assert story.before == '{"dosed_at": null}'
    assert story.after == '{"dosed_at": "2026-11-27T09:00:00"}'
    assert plain(text_line(story)) == (
        '2026-11-27 09:00  (database)  db.session.update  session 3  before {"dosed_at": null}'
        '  after {"dosed_at": "2026-11-27T09:00:00"}'
    )
    assert [plain(line) for line in full_lines(story)] == [
        "#7 Fri 27 Nov 2026 09:00:00  (database)  db.session.update  session 3",
        "dosed at - → 09:00",
        "before:",
        "  dosed at: -",
        "  discharged at: -",
        "  patient: MRN-1",
        "after:",
        "  dosed at: 09:00",
        "  discharged at: -",
        "  patient: MRN-1",
    ]


def test_a_new_reading_reads_as_its_quick_entry_line_and_a_void_as_what_became_of_it():
    reading = {"systolic": 128, "diastolic": 82, "heart_rate": 74, "measured_at": at(-10)}
    new = row(
        "reading.record",
        after={**reading, "measured_at": "2026-11-27T08:50:00+00:00"},
        entity="reading",
        entity_id=12,
    )
    assert change_text(new) == "128/82 hr 74; measured 08:50"
    assert audit_story(new).where == "session 3, reading 12"
    void = row(
        "reading.void",
        before={"systolic": 92, "diastolic": 60, "voided": False},
        after={"voided": True},
        reason="wrong patient",
        entity="reading",
        entity_id=13,
    )
    story = audit_story(void)
    assert story.change == "92/60 → voided yes"
    assert summary_line(story) == (
        Part("92/60 → voided yes"),
        Part(" · reason: wrong patient", Role.NOTE),
    )
    assert plain(text_line(story)) == (
        "2026-11-27 09:00  ana  reading.void  session 3, reading 13"
        '  before {"diastolic": 60, "systolic": 92, "voided": false}  after {"voided": true}'
        "  reason: wrong patient"
    )


def test_the_detail_says_the_reason_and_a_correction_keeps_the_proposal_beside_it():
    correction = row(
        "rems.correct",
        user="sam",
        before={"sedation": True, "proposal": True},
        after={"sedation": False},
        reason="MOAA/S 3 was asleep, not sedated",
        minutes=24 * 60,
    )
    story = audit_story(correction)
    assert story.change == "sedation yes → no (proposal yes)"
    assert detail_lines(story) == (
        (
            Part("#7 Sat 28 Nov 2026 09:00:00  ", Role.STRONG),
            Part("sam  rems.correct", Role.STRONG),
            Part("  session 3"),
        ),
        (Part("sedation yes → no (proposal yes)"),),
        (Part("reason: ", Role.STRONG), Part("MOAA/S 3 was asleep, not sedated")),
    )


def test_events_acknowledgements_and_stored_gates_read_as_people_say_them():
    event = row(
        "event.adverse",
        after={"kind": "adverse", "type": "nausea", "severity": "mild", "text": "nauseous"},
    )
    assert change_text(event) == "adverse nausea mild: nauseous"
    serious = row(
        "event.adverse",
        after={"kind": "adverse", "type": "syncope", "serious": True, "text": "fainted"},
    )
    assert change_text(serious) == "adverse syncope SERIOUS: fainted"
    ack = row("flag.acknowledge", after={"message": "SBP 184 > 180", "action": "rechecked"})
    assert change_text(ack) == "SBP 184 > 180 → rechecked"
    gate = json.dumps({"ready": False, "reasons": ["MOAA/S 4"]})
    discharge = row(
        "db.session.update",
        user=None,
        before={"discharged_at": None, "gate": None},
        after={"discharged_at": "2026-11-28T10:30:00", "gate": gate},
    )
    assert change_text(discharge) == "discharged at - → 28 Nov 10:30; gate - → not ready"
    assert plain(full_lines(audit_story(discharge))[-1]) == (
        '  gate: {"ready": false, "reasons": ["MOAA/S 4"]}'
    )
    counted = row(
        "db.user.update",
        user=None,
        before={"failed_pins": 0},
        after={"failed_pins": 1},
        entity="user",
        entity_id=None,
        session_id=None,
    )
    story = audit_story(counted)
    assert (story.change, story.where) == ("failed pins 0 → 1", "")
    assert plain(text_line(story)) == (
        '2026-11-27 09:00  (database)  db.user.update    before {"failed_pins": 0}'
        '  after {"failed_pins": 1}'
    )


def test_a_stored_value_is_read_as_json_and_kept_as_text_when_it_is_not():
    assert parsed('{"dosed_at": null}') == {"dosed_at": None}
    assert parsed("[1, 2]") == [1, 2]
    assert parsed("not json") == "not json"
    assert parsed(None) is None


def test_typed_text_that_looks_like_a_time_past_the_calendars_ends_is_shown_as_typed():
    """Found by tests/cli/test_fuzz.py: a note typed as ``0001-01-01T00:00:00+01:00`` has no
    local time (it is before year 1), and ``monitor audit`` ended in a traceback."""
    day = at(0).date()
    for typed in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        assert shown(typed, day) == typed
    assert shown("9999-12-31T23:59:59", day) == "31 Dec 23:59"
