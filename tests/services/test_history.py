"""History reads (issue #10): the audit trail and the list of sessions page and stream on both
backends. A limit keeps the newest rows, a period is served by an index, the whole trail comes
one JSON object per line, and every odd option is one `error:` line with exit 2."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, text

from monitor.errors import EntryError, NotFound
from tests.cli.test_cli import Cli, start, with_sam_and_ana

OK = "120/80 hr 70 spo2 98"


def begin(service, patient: str) -> int:
    return service.start_session(patient=patient, protocol="ketamine-im", by="ana")


def day(n: int) -> datetime:
    """Noon UTC, ``n`` days after the test's first day."""
    return datetime(2026, 11, 20, 12, 0, tzinfo=UTC) + timedelta(days=n)


@pytest.fixture
def history(service, clock):
    """Three sessions on three days (one discharged and signed), each with two readings."""
    ids = []
    for n in range(3):
        clock.set(day(n))
        sid = begin(service, f"P{n}")
        for k in range(2):
            clock.set(day(n) + timedelta(minutes=5 + k))
            service.record_reading(sid, OK, by="ana")
        ids.append(sid)
    clock.set(day(0) + timedelta(minutes=30))
    service.discharge(
        ids[0],
        by="ana",
        override_reason="left early",
        escort="partner",
        instructions_given=True,
        cosign="sam",
    )
    service.sign(ids[0], by="sam", pin="9999")
    clock.set(day(3))
    return ids


# -- the service -------------------------------------------------------------------------


def test_the_whole_trail_streams_oldest_first(service, history):
    with service.audit_page() as page:
        assert not isinstance(page.rows, list)  # an iterator: read as the rows arrive
        rows = list(page.rows)
        assert not page.more
    ids = [a.id for a in rows]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert [a.action for a in rows].count("reading.record") == 6
    assert service.audit() == rows


def test_a_limit_keeps_the_newest_rows_oldest_first_and_says_more_exist(service, history):
    everything = service.audit()
    with service.audit_page(limit=4) as page:
        newest = list(page.rows)
        assert page.more
    assert newest == everything[-4:]
    with service.audit_page(limit=len(everything)) as page:
        assert list(page.rows) == everything and not page.more
    with service.audit_page(limit=10**6) as page:
        assert list(page.rows) == everything and not page.more


def test_a_sessions_trail_and_a_period_of_the_trail(service, history):
    first, second, _ = history
    trail = service.audit(second)
    assert {a.session_id for a in trail} == {second}
    assert [a.action for a in trail] == ["session.start", "reading.record", "reading.record"]
    with service.audit_page(since=day(1), until=day(1) + timedelta(hours=1)) as page:
        assert [a.id for a in page.rows] == [a.id for a in trail]
    with service.audit_page(first, since=day(0), until=day(0) + timedelta(minutes=5)) as page:
        assert [a.action for a in page.rows] == ["session.start", "reading.record"]
    with service.audit_page(second, limit=1) as page:
        assert [a.id for a in page.rows] == [trail[-1].id] and page.more
    instant = day(2) + timedelta(minutes=6)  # a period of one instant: the row at that instant
    with service.audit_page(since=instant, until=instant) as page:
        assert [(a.action, a.at) for a in page.rows] == [("reading.record", instant)]
    with service.audit_page(since=day(40)) as page:
        assert list(page.rows) == [] and not page.more


def test_an_unknown_session_or_an_odd_page_is_refused_before_any_row(service, history):
    with pytest.raises(NotFound, match="no session 9999"), service.audit_page(9999):
        pass
    with (
        pytest.raises(EntryError, match="after --to"),
        service.audit_page(since=day(2), until=day(1)),
    ):
        pass
    for limit in (0, -1, 2**31):
        with pytest.raises(EntryError, match="out of range"), service.session_page(limit=limit):
            pass


def test_sessions_page_newest_first_by_start_and_state(service, history):
    first, second, third = history
    with service.session_page() as page:
        listed = list(page.rows)
        assert not page.more
    assert [s.id for s in listed] == [third, second, first]
    assert [(s.status, s.signed) for s in listed][-1] == ("discharged", True)
    assert listed[0].patient == "P2" and listed[0].started_at == day(2)
    with service.session_page(limit=2) as page:
        assert [s.id for s in page.rows] == [third, second] and page.more
    with service.session_page(active_only=True, limit=2) as page:
        assert [s.id for s in page.rows] == [third, second] and not page.more
    with service.session_page(since=day(0), until=day(1)) as page:
        assert [s.id for s in page.rows] == [second, first]
    with service.session_page(since=day(1) + timedelta(seconds=1)) as page:
        assert [s.id for s in page.rows] == [third]
    assert service.list_sessions(active_only=True) == listed[:2]


def test_a_page_is_one_snapshot_rows_saved_meanwhile_do_not_join_it(service, history):
    newest = service.audit()[-3:]
    with service.audit_page(limit=3) as page:
        # Saved after the page's bounds were read and before its rows are: not in it.
        service.record_reading(history[2], OK, by="ana")
        assert list(page.rows) == newest
    assert service.audit()[-1].id > newest[-1].id


def test_the_trail_is_read_through_a_server_side_cursor_on_postgresql(service, history):
    if service.engine.dialect.name != "postgresql":
        pytest.skip("SQLite reads its rows a step at a time by itself")
    cursors = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        cursors.append((type(cursor).__name__, statement))

    event.listen(service.engine, "before_cursor_execute", seen)
    try:
        with service.audit_page() as page:
            assert len(list(page.rows)) > 5
    finally:
        event.remove(service.engine, "before_cursor_execute", seen)
    streamed = [name for name, statement in cursors if "FROM audit_log" in statement]
    assert streamed and all("Server" in name for name in streamed), cursors


def plans(service, read) -> list[str]:
    """SQLite's query plan of every statement ``read`` runs, with its own parameters."""
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(service.engine, "before_cursor_execute", seen)
    try:
        read()
    finally:
        event.remove(service.engine, "before_cursor_execute", seen)
    found = []
    with service.engine.connect() as connection:
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith("SELECT"):
                rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                found.append(" | ".join(str(row[-1]) for row in rows))
    return found


def test_sqlite_serves_periods_and_sessions_from_their_indexes(service, history):
    if service.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner (PostgreSQL's is checked by EXPLAIN in the benchmark)")

    def read_period():
        with service.audit_page(since=day(1), until=day(2), limit=2) as page:
            list(page.rows)

    def read_session():
        with service.audit_page(history[1], limit=2) as page:
            list(page.rows)

    def read_started():
        with service.session_page(since=day(1), until=day(2), limit=2) as page:
            list(page.rows)

    def read_newest():
        with service.session_page(active_only=True) as page:
            list(page.rows)

    def bounded(plan: list[str], table: str, index: str) -> None:
        # Every read of the table goes through an index or a bounded range of ids, never a
        # scan of the whole table; the filter's own index is used.
        reads = [p for p in plan if table in p]
        assert reads and not any(f"SCAN {table}" in p for p in reads), reads
        assert any(index in p for p in reads), reads

    bounded(plans(service, read_period), "audit_log", "ix_audit_log_at")
    bounded(plans(service, read_session), "audit_log", "ix_audit_log_session")
    bounded(plans(service, read_started), "treatment_sessions", "ix_treatment_sessions_started")
    bounded(plans(service, read_newest), "treatment_sessions", "ix_treatment_sessions_active")
    signed = " ".join(plans(service, read_newest))
    assert "ix_sign_offs_session" in signed and "ix_reopenings_session" in signed


# -- the command line --------------------------------------------------------------------


@pytest.fixture
def cli(db_url) -> Cli:
    return with_sam_and_ana(Cli(db_url))


def three_sessions(cli: Cli) -> list[int]:
    ids = []
    for n, minutes in enumerate((300, 200, 100)):
        ids.append(start(cli, "--patient", f"MRN-{n}", "--at", f"{minutes} min ago"))
        cli("record", str(ids[-1]), "120/80 hr 70", "--by", "ana", "--at", f"{minutes - 5} min ago")
    return ids


def test_audit_json_is_one_object_per_line_streamed(cli):
    three_sessions(cli)
    out = cli("audit", "--json").stdout
    lines = out.splitlines()
    objects = [json.loads(line) for line in lines]  # each line parses on its own
    assert len(objects) == len(cli("audit").stdout.splitlines()) == 8  # 2 users, 3 + 3
    assert [o["id"] for o in objects] == sorted(o["id"] for o in objects)
    assert {"id", "at", "user", "action", "session_id", "before", "after", "reason"} <= set(
        objects[0]
    )
    assert objects[-1]["action"] == "reading.record" and objects[-1]["after"]["systolic"] == 120


def test_audit_limit_period_and_a_sessions_trail_from_the_command_line(cli):
    first, second, _ = three_sessions(cli)
    whole = cli("audit").stdout.splitlines()
    newest = cli("audit", "--limit", "2")
    assert newest.stdout.splitlines() == whole[-2:]
    assert "the newest 2 rows are shown" in newest.stderr and "--limit" in newest.stderr
    everything = cli("audit", "--limit", str(len(whole)))
    assert everything.stdout.splitlines() == whole and everything.stderr == ""
    trail = [json.loads(line) for line in cli("audit", str(second), "--json").stdout.splitlines()]
    assert {o["session_id"] for o in trail} == {second}
    assert [o["action"] for o in trail] == ["session.start", "reading.record"]
    # The trail's times are the actions' (now), whatever the readings' times.
    today = datetime.now().date().isoformat()  # the local day, as typed
    assert cli("audit", "--from", today, "--to", today).stdout.splitlines() == whole
    assert cli("audit", "--from", "10 min ago", "--to", "now").stdout.splitlines() == whole
    assert cli("audit", "--to", "1000 min ago").stdout == ""
    assert cli("audit", str(first), "--from", "now").stdout == ""


def test_session_list_pages_and_filters_by_start(cli):
    first, second, third = three_sessions(cli)
    assert [s["id"] for s in cli.json("session", "list")] == [third, second, first]
    page = cli("session", "list", "--limit", "2", "--json")
    assert [s["id"] for s in json.loads(page.stdout)] == [third, second]
    assert page.stderr.count("\n") == 1 and "--limit" in page.stderr
    assert cli("session", "list", "--limit", "3").stderr == ""
    text_page = cli("session", "list", "--limit", "1").stdout.splitlines()
    assert text_page[0].startswith("id\t") and text_page[1].startswith(f"{third}\t")
    assert len(text_page) == 2
    assert [s["id"] for s in cli.json("session", "list", "--from", "250 min ago")] == [
        third,
        second,
    ]
    assert [s["id"] for s in cli.json("session", "list", "--to", "250 min ago")] == [first]
    listed = cli.json("session", "list", "--from", "150 min ago", "--to", "now", "--active")
    assert [s["id"] for s in listed] == [third]
    assert cli.json("session", "list", "--from", "now") == []
    assert cli("session", "list", "--from", "now").stdout == ""  # no rows, no header


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("audit", "--limit", "0"), "out of range"),
        (("audit", "--limit", "-1"), "not a whole number"),
        (("audit", "--limit", "99999999999999999999"), "out of range"),
        (("audit", "--limit", "9" * 5000), "not a whole number"),
        (("audit", "--limit", "١٢"), "not a whole number"),
        (("audit", "--limit", "𝟏"), "not a whole number"),
        (("audit", "--limit", "1; DROP TABLE audit_log"), "not a whole number"),
        (("session", "list", "--limit", "2147483648"), "out of range"),
        (("session", "list", "--limit", ""), "not a whole number"),
        (("audit", "--from", "'; DROP TABLE audit_log; --"), "not understood"),
        (("audit", "--to", "1 OR 1=1"), "not understood"),
        (("audit", "--from", "2026-02-30"), "not understood"),
        (("audit", "--from", "0001-01-01"), "out of range"),
        (("audit", "--to", "9999-12-31T23:59-05:00"), "out of range"),
        (("audit", "--from", "2026-11-28", "--to", "2026-11-27"), "after --to"),
        (("session", "list", "--from", "now", "--to", "60 min ago"), "after --to"),
        (("session", "list", "--from", "Zoë"), "not understood"),
        (("session", "list", "--to", "line\nbreak"), "not understood"),
        (("audit", "2147483648"), "out of range"),
        (("audit", "9999"), "no session 9999"),
    ],
)
def test_odd_paging_options_are_one_line_exit_2(cli, args, says):
    start(cli)
    before = cli("audit").stdout
    assert says in cli.refused(*args)
    assert cli("audit").stdout == before
    assert len(cli.json("session", "list")) == 1


def test_the_migration_made_the_history_indexes(db_url):
    from sqlalchemy import inspect

    from monitor.store.engine import make_engine

    engine = make_engine(db_url)
    found = inspect(engine)
    assert "ix_audit_log_at" in {i["name"] for i in found.get_indexes("audit_log")}
    started = {i["name"] for i in found.get_indexes("treatment_sessions")}
    assert "ix_treatment_sessions_started" in started
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM audit_log")).scalar_one() >= 0
    engine.dispose()
