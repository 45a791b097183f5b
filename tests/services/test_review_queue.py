"""The supervisor's review queue (issue #11, deliverable 1) on both backends: `review list`
and :meth:`Service.review_queue`. Discharged sessions only, newest discharge first, paged;
each filter; the counts of a worked session; odd input refused with one `error:` line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import monitor.services.review as review_module
from monitor.errors import ConfigError, EntryError, NotFound
from tests.cli.test_cli import Cli

FULL = "120/80 hr 70 spo2 98 moaas 5 cadss 0"


def day(n: int) -> datetime:
    """9:00 UTC, ``n`` days after the fixture's first day (the week before the test dose)."""
    return datetime(2026, 11, 10, 9, 0, tzinfo=UTC) + timedelta(days=n)


def worked(service, clock, t0: datetime, patient: str = "W1") -> int:
    """An esketamine-84 session whose counts are worked out by hand (dose D = t0 + 5 min):

    - readings at D+15 (MOAA/S SpO2), D+40 (SBP 190: a high flag ``systolic.high.above`` and
      a medium ``bp.rise.systolic``, 190 - 124 >= 40), D+55 (BP + HR: the BP recheck), D+75
      (MOAA/S SpO2), D+90, D+100 saved at D+115 (a late entry), D+120; nothing near D+30;
    - the high flag saved at D+40 is acknowledged at D+52 (12 min), the medium at D+45;
    - an adverse event (nausea) at D+50; discharged at D+125 with the gate met; not signed.

    Checks after dosing: +15, +40, +90, +120 and the recheck (+55) on time; +60 late (its only
    MOAA/S + SpO2 is at +75, in its late window); +30 missed."""
    clock.set(t0)
    sid = service.start_session(
        patient=patient, protocol="esketamine-84", by="ana", age=52, meds=()
    )
    clock.set(t0 + timedelta(minutes=1))
    service.record_reading(sid, "124/80 hr 70 spo2 98 moaas 5 cadss 0", by="ana")
    dosed = clock.set(t0 + timedelta(minutes=5))
    service.record_dose(sid, by="ana")

    def at(minutes: float) -> datetime:
        return clock.set(dosed + timedelta(minutes=minutes))

    at(15)
    service.record_reading(sid, "moaas 5 spo2 98", by="ana")
    at(40)
    flagged = service.record_reading(sid, "190/95 hr 88 spo2 97 moaas 5 cadss 2", by="ana")
    by_severity = {f.severity.value: f.id for f in flagged.flags}
    assert set(by_severity) == {"high", "medium"}
    at(45)
    service.acknowledge(by_severity["medium"], by="ana", action="rechecking in 15 min")
    at(50)
    service.add_event(sid, kind="adverse", type="nausea", severity="mild", by="ana", text="sick")
    at(52)
    service.acknowledge(by_severity["high"], by="ana", action="prescriber informed")
    at(55)
    service.record_reading(sid, "140/85 hr 80", by="ana")
    at(75)
    service.record_reading(sid, "moaas 5 spo2 97", by="ana")
    at(90)
    service.record_reading(sid, "130/82 hr 72 spo2 98 moaas 5 cadss 0", by="ana")
    at(115)
    service.record_reading(sid, "hr 72", by="ana", measured_at=dosed + timedelta(minutes=100))
    at(120)
    service.record_reading(sid, "128/80 hr 70 spo2 98 moaas 5 cadss 0", by="ana")
    at(125)
    service.discharge(sid, by="ana", escort="partner", instructions_given=True)
    return sid


def visit(
    service,
    clock,
    t0: datetime,
    patient: str,
    *,
    by: str = "ana",
    high: bool = False,
    skip_30: bool = False,
    late_entry: bool = False,
    adverse: bool = False,
    override: bool = False,
    discharge: bool = True,
) -> int:
    """A ketamine-im session (checks +15, +30, +45, +60; dose D = t0 + 5 min), full sets at
    each check, discharged at D+61, quiet unless told: ``high`` an SBP of 185 at +15
    (acknowledged at +17); ``skip_30`` no reading at +30 (missed); ``late_entry`` the +60
    reading saved at +72; ``adverse`` a headache at +20; ``override`` discharged at +31 by
    override."""
    clock.set(t0)
    sid = service.start_session(patient=patient, protocol="ketamine-im", by=by)
    clock.set(t0 + timedelta(minutes=1))
    service.record_reading(sid, FULL, by=by)
    dosed = clock.set(t0 + timedelta(minutes=5))
    service.record_dose(sid, by=by)
    for minute in (15, 30, 45, 60):
        if minute == 30 and skip_30:
            continue
        if override and minute > 30:
            break
        entry = "185/90 hr 70 spo2 98 moaas 5 cadss 0" if high and minute == 15 else FULL
        if late_entry and minute == 60:
            clock.set(dosed + timedelta(minutes=72))
            service.record_reading(sid, entry, by=by, measured_at=dosed + timedelta(minutes=60))
        else:
            clock.set(dosed + timedelta(minutes=minute))
            saved = service.record_reading(sid, entry, by=by)
        if high and minute == 15:
            clock.set(dosed + timedelta(minutes=17))
            service.acknowledge_many([f.id for f in saved.flags], by=by, action="rechecked")
        if adverse and minute == 15:
            clock.set(dosed + timedelta(minutes=20))
            service.add_event(
                sid, kind="adverse", type="headache", severity="mild", by=by, text="headache"
            )
    if not discharge:
        return sid
    if override:
        clock.set(dosed + timedelta(minutes=31))
        service.discharge(
            sid,
            by=by,
            override_reason="patient insisted on leaving",
            escort="partner",
            instructions_given=True,
            cosign="sam",
        )
    else:
        clock.set(max(clock.now, dosed + timedelta(minutes=61)))
        service.discharge(sid, by=by, escort="partner", instructions_given=True)
    return sid


# -- a worked session ------------------------------------------------------------------


def test_the_counts_of_a_worked_session(service, clock):
    sid = worked(service, clock, day(0))
    page = service.review_queue()
    assert not page.more and [r.id for r in page.rows] == [sid]
    row = page.rows[0]
    assert (row.flags_high, row.flags_medium, row.flags_low) == (1, 1, 0)
    assert row.slowest_high_ack_min == 12.0 and row.high_unacknowledged == 0
    # +15, +40, +90, +120 and the BP recheck on time; +60 late; +30 missed.
    assert (row.checks_on_time, row.checks_late, row.checks_missed, row.checks_open) == (
        5,
        1,
        1,
        0,
    )
    assert row.late_entries == 1 and row.adverse == ("nausea",)
    assert (row.override, row.signed, row.severe_bp) == (False, False, True)
    assert row.discharged_at == day(0) + timedelta(minutes=130)
    assert row.recorded_by == ("ana",) and row.started_by == "ana"


def test_the_worked_session_on_the_command_line(service, clock, db_url):
    sid = worked(service, clock, day(0))
    cli = Cli(db_url)
    [row] = cli.json("review", "list")
    assert row["id"] == sid and row["patient"] == "W1" and row["protocol"] == "esketamine-84"
    assert row["flags"] == {"high": 1, "medium": 1, "low": 0}
    assert row["slowest_high_ack_min"] == 12.0 and row["high_unacknowledged"] == 0
    assert row["checks"] == {"on_time": 5, "late": 1, "missed": 1, "open": 0}
    assert row["late_entries"] == 1 and row["adverse_events"] == ["nausea"]
    assert (row["override"], row["signed"], row["signed_by"]) == (False, False, None)
    assert row["discharged_at"] == "2026-11-10T11:10:00+00:00"
    text = cli("review", "list").stdout.splitlines()
    assert text[0].startswith("id\tpatient\tprotocol\tdischarged\tflags H/M/L")
    assert text[1].split("\t") == [
        str(sid),
        "W1",
        "esketamine-84",
        "2026-11-10 11:10",
        "1/1/0",
        "12 min",
        "1/1",
        "1",
        "1",
        "no",
        "no",
    ]
    service.sign(sid, by="sam", pin="9999")
    assert cli.json("review", "list")[0]["signed_by"] == "sam"
    assert cli.json("review", "list", "--unsigned") == []


# -- filters, order, paging ----------------------------------------------------------------


@pytest.fixture
def floor(service, clock):
    """Six discharged sessions, one a day (day 0 the oldest), and one still in observation."""
    ids = {
        "quiet": visit(service, clock, day(0), "Q", by="ana"),
        "high": visit(service, clock, day(1), "H", by="bo", high=True),
        "missed": visit(service, clock, day(2), "M", by="ana", skip_30=True),
        "late_entry": visit(service, clock, day(3), "L", by="bo", late_entry=True),
        "adverse": visit(service, clock, day(4), "A", by="ana", adverse=True),
        "override": visit(service, clock, day(5), "O", by="bo", override=True),
        "active": visit(service, clock, day(6), "X", by="ana", discharge=False),
    }
    service.sign(ids["quiet"], by="sam", pin="9999")
    return ids


def queue(service, **filters) -> list[int]:
    return [r.id for r in service.review_queue(**filters).rows]


NEWEST_FIRST = ["override", "adverse", "late_entry", "missed", "high", "quiet"]


def test_each_filter_keeps_its_sessions_newest_discharge_first(service, floor):
    def named(**filters) -> list[str]:
        names = {v: k for k, v in floor.items()}
        return [names[i] for i in queue(service, **filters)]

    assert named() == NEWEST_FIRST  # the active session is in no queue
    assert named(unsigned=True) == NEWEST_FIRST[:-1]
    assert named(nurse="bo") == ["override", "late_entry", "high"]
    assert named(nurse="sam") == []  # signing a session does not make it yours
    assert named(protocol="ketamine-im") == NEWEST_FIRST
    assert named(protocol="esketamine-84") == []
    assert named(flagged=True) == ["high"]
    assert named(override=True) == ["override"]
    assert named(late=True) == ["missed"]
    assert named(late_entries=True) == ["late_entry"]
    assert named(adverse=True) == ["adverse"]
    assert named(nurse="ana", unsigned=True) == ["adverse", "missed"]
    # The period is on the discharge time (day n + 66 min, day 5 + 36 min for the override).
    assert named(since=day(2), until=day(4) + timedelta(hours=2)) == [
        "adverse",
        "late_entry",
        "missed",
    ]
    assert named(until=day(1) + timedelta(minutes=66)) == ["high", "quiet"]
    assert named(until=day(1) + timedelta(minutes=65)) == ["quiet"]
    assert named(since=day(7)) == []


def test_a_reopened_session_is_back_in_the_unsigned_queue(service, floor):
    assert floor["quiet"] not in queue(service, unsigned=True)
    service.reopen(floor["quiet"], by="sam", reason="BP value mistyped")
    assert queue(service, unsigned=True)[-1] == floor["quiet"]


def test_the_counts_of_each_kind_of_session(service, floor):
    rows = {r.id: r for r in service.review_queue().rows}
    high = rows[floor["high"]]
    # SBP 185: systolic.high.above, and 185 - 120 >= 40: bp.rise.systolic; both acked at +17.
    assert (high.flags_high, high.flags_medium, high.slowest_high_ack_min) == (1, 1, 2.0)
    assert high.severe_bp and high.checks_on_time == 5  # +15 .. +60 and the recheck at +30
    assert (rows[floor["missed"]].checks_missed, rows[floor["missed"]].checks_late) == (1, 0)
    override = rows[floor["override"]]
    assert override.override and override.checks_open == 2  # +45, +60 not reached
    assert override.checks_ended_early == 2  # by an override before the minimum: not missed
    assert rows[floor["quiet"]].signed and rows[floor["quiet"]].signed_by == "sam"
    assert rows[floor["quiet"]].slowest_high_ack_min is None


def test_a_page_is_the_newest_and_says_when_more_exist(service, floor, monkeypatch):
    page = service.review_queue(limit=2)
    assert [r.id for r in page.rows] == [floor["override"], floor["adverse"]] and page.more
    page = service.review_queue(limit=6)
    assert len(page.rows) == 6 and not page.more
    # With small batches, a filter that needs judgement reads batch after batch.
    monkeypatch.setattr(review_module, "REVIEW_BATCH", 2)
    page = service.review_queue(late=True, limit=1)
    assert [r.id for r in page.rows] == [floor["missed"]] and not page.more
    page = service.review_queue(limit=5)
    assert len(page.rows) == 5 and page.more


def test_only_the_pages_sessions_are_loaded_and_judged(service, floor, monkeypatch):
    loaded: list[int] = []
    views = service._views

    def counting(session, rows, **kwargs):
        loaded.extend(r.id for r in rows)
        return views(session, rows, **kwargs)

    monkeypatch.setattr(service, "_views", counting)
    service.review_queue(limit=2)
    assert loaded == [floor["override"], floor["adverse"], floor["late_entry"]]  # page + 1
    loaded.clear()
    service.review_queue(flagged=True, limit=1)  # answered by the database: one session
    assert loaded == [floor["high"]]


def test_sqlite_chooses_candidates_by_the_discharge_index(service, floor):
    if service.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner")
    from tests.services.test_history import plans

    found = plans(service, lambda: service.review_queue(since=day(1), until=day(3), limit=2))
    candidates = [p for p in found if "treatment_sessions" in p and "ix_" in p]
    assert any("ix_treatment_sessions_active" in p for p in candidates), found
    assert not any("SCAN treatment_sessions" in p for p in found), found


def test_odd_input_to_the_service_is_refused(service, floor):
    with pytest.raises(NotFound, match="unknown user 'zed'"):
        service.review_queue(nurse="zed")
    with pytest.raises(ConfigError, match="unknown protocol 'ketamine-xx'"):
        service.review_queue(protocol="ketamine-xx")
    with pytest.raises(EntryError, match="after --to"):
        service.review_queue(since=day(3), until=day(2))
    for limit in (0, -1, 2**31):
        with pytest.raises(EntryError, match="out of range"):
            service.review_queue(limit=limit)


def test_the_command_line_filters_and_pages(service, floor, db_url):
    cli = Cli(db_url)
    listed = cli.json("review", "list")
    assert [r["id"] for r in listed] == [floor[n] for n in NEWEST_FIRST]
    page = cli("review", "list", "--limit", "2", "--json")
    assert page.stderr.count("\n") == 1 and "--limit" in page.stderr
    assert cli("review", "list", "--limit", "6").stderr == ""
    assert len(cli("review", "list", "--limit", "1").stdout.splitlines()) == 2  # header, row

    def ids(*args: str) -> list[int]:
        return [r["id"] for r in cli.json("review", "list", *args)]

    assert ids("--unsigned") == [floor[n] for n in NEWEST_FIRST[:-1]]
    assert ids("--nurse", "bo") == [floor["override"], floor["late_entry"], floor["high"]]
    assert ids("--protocol", "ketamine-im", "--flagged") == [floor["high"]]
    assert ids("--override") == [floor["override"]]
    assert ids("--late") == [floor["missed"]]
    assert ids("--late-entries") == [floor["late_entry"]]
    assert ids("--adverse") == [floor["adverse"]]
    assert ids("--from", "2026-11-12", "--to", "2026-11-13") == [
        floor["late_entry"],
        floor["missed"],
    ]
    assert ids("--from", "2026-11-30") == []
    assert cli("review", "list", "--from", "2026-11-30").stdout == ""  # no rows, no header


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--from", "yesterday-ish"), "not understood"),
        (("--to", "2026-02-30"), "not understood"),
        (("--from", "0001-01-01"), "out of range"),
        (("--from", "2026-11-28", "--to", "2026-11-27"), "after --to"),
        (("--limit", "-1"), "not a whole number"),
        (("--limit", "0"), "out of range"),
        (("--limit", "99999999999999999999"), "out of range"),
        (("--limit", "١٢"), "not a whole number"),
        (("--nurse", "zed"), "unknown user 'zed'"),
        (("--nurse", "x" * 100), "at most 64"),
        (("--nurse", "line\nbreak"), "at most 64"),
        (("--protocol", "ketamine-xx"), "unknown protocol"),
    ],
)
def test_odd_options_are_one_line_exit_2(service, db_url, args, says):
    assert says in Cli(db_url).refused("review", "list", *args)


def test_a_check_left_open_by_the_discharge_is_missed_everywhere(service, clock):
    """One rule for a closed record (monitor.core.schedule.at_discharge): discharged at +50,
    +15 had closed (missed), +30 was overdue and +40 due (missed: the patient left before
    them), +60, +90 and +120 were not yet due (not reached). The queue, the session's checks
    and the explanation after discharge all read it so."""
    t0 = day(0)
    clock.set(t0)
    sid = service.start_session(patient="E1", protocol="esketamine-84", by="ana", age=40, meds=())
    clock.set(t0 + timedelta(minutes=1))
    service.record_reading(sid, FULL, by="ana")
    dosed = clock.set(t0 + timedelta(minutes=5))
    service.record_dose(sid, by="ana")
    clock.set(dosed + timedelta(minutes=50))
    service.discharge(
        sid,
        by="ana",
        override_reason="called away: family emergency",
        escort="partner",
        instructions_given=True,
        cosign="sam",
    )
    row = next(r for r in service.review_queue().rows if r.id == sid)
    assert (row.checks_missed, row.checks_open) == (3, 3)
    statuses = {c.label: c.status.value for c in service.session(sid).checks}
    assert [statuses[k] for k in ("+15 min", "+30 min", "+40 min")] == ["missed"] * 3
    assert [statuses[k] for k in ("+60 min", "+90 min", "+120 min")] == ["not_reached"] * 3
    # Discharged by override before the minimum: those read "observation ended early".
    assert row.checks_ended_early == 3
    clock.set(dosed + timedelta(minutes=70))
    # Due when the patient left, so missed: it can be explained after the discharge.
    explained = service.skip_check(sid, "+40 min", by="ana", reason="patient left early")
    assert explained.status.value == "missed" and explained.skip is not None
    with pytest.raises(Exception, match="not_reached"):
        service.skip_check(sid, "+90 min", by="ana", reason="never due")
