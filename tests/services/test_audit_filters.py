"""The audit trail filtered by user and action, and paged by key (issue #11, the supervisor's
audit view), on both backends: every page newest first by time then id, "older than row N" or
"newer than row N", each read through an index whatever the depth of the page; bad filters are
one refusal, never a query that matches more than it says."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, text

from monitor.errors import EntryError, NotFound
from monitor.services.history import AUDIT, BY_DATABASE
from tests.cli.test_cli import Cli, start, with_sam_and_ana

OK = "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0"


def day(n: int, minutes: float = 0) -> datetime:
    return datetime(2026, 11, 20, 12, 0, tzinfo=UTC) + timedelta(days=n, minutes=minutes)


@pytest.fixture
def trail(service, clock):
    """Two days of work by ana and bo: sessions, readings, a dose (the database's own trigger
    writes a row for it), an acknowledgement, a discharge and sam's sign-off."""
    ids = []
    for n, nurse in enumerate(("ana", "bo")):
        clock.set(day(n))
        sid = service.start_session(patient=f"P{n}", protocol="ketamine-im", by=nurse)
        clock.set(day(n, 2))
        service.record_reading(sid, OK, by=nurse)
        clock.set(day(n, 3))
        service.record_dose(sid, by=nurse)
        for k in range(3):
            clock.set(day(n, 15 + 15 * k))
            service.record_reading(sid, OK, by=nurse)
        ids.append(sid)
    clock.set(day(0, 70))
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


def newest_first(rows):
    return sorted(rows, key=lambda a: (a.at, a.id), reverse=True)


def walk_older(service, limit, **filters):
    """Every page from the newest, older and older; the pages and their flags."""
    pages = [service.audit_keyset(limit=limit, **filters)]
    while pages[-1].older:
        pages.append(service.audit_keyset(before=pages[-1].rows[-1].id, limit=limit, **filters))
        assert len(pages) < 100
    return pages


# -- filters -------------------------------------------------------------------------------


def test_the_trail_filtered_by_user_action_group_and_the_database(service, trail):
    everything = service.audit()
    by_bo = service.audit_keyset(user="bo", limit=100).rows
    assert by_bo and {a.user for a in by_bo} == {"bo"}
    assert len(by_bo) == sum(a.user == "bo" for a in everything)
    readings = service.audit_keyset(action="reading", limit=100).rows
    assert {a.action for a in readings} == {"reading.record"}
    assert len(readings) == 8  # 4 in each session
    exact = service.audit_keyset(action="session.sign", limit=100).rows
    assert [(a.action, a.user) for a in exact] == [("session.sign", "sam")]
    # The rows the database's triggers wrote have no user: their own filter finds them.
    by_database = service.audit_keyset(user=BY_DATABASE, limit=100).rows
    assert by_database and all(a.user is None for a in by_database)
    assert {a.action for a in by_database} >= {"db.session.update"}
    assert service.audit_keyset(action="db", limit=100).rows == tuple(
        newest_first([a for a in everything if a.action.startswith("db.")])
    )
    # Combined with a session and a period.
    first, second = trail
    ana_day0 = service.audit_keyset(
        first, since=day(0), until=day(0, 45), user="ana", action="reading", limit=100
    ).rows
    assert [a.at for a in ana_day0] == [day(0, m) for m in (45, 30, 15, 2)]
    assert service.audit_keyset(second, user="ana", limit=100).rows == ()
    # The command line's page takes the same filters.
    with service.audit_page(first, user="ana", action="session") as page:
        assert [a.action for a in page.rows] == [
            "session.start",
            "session.dose",
            "session.discharge",
        ]


def test_a_group_matches_its_own_actions_only(service, trail):
    """ "_" and "%" are LIKE wildcards: a group must not match an action that merely looks
    like it (rows inserted by hand, as a script with SQL access could)."""
    with service.engine.begin() as connection:
        for action in ("check_skip.x", "checkXskip.x", "check.skipper", "check"):
            connection.execute(
                insert(AUDIT).values(at=day(4), user_name="ana", action=action, entity="x")
            )
    found = {a.action for a in service.audit_keyset(action="check_skip", limit=100).rows}
    assert found == {"check_skip.x"}
    found = {a.action for a in service.audit_keyset(action="check", limit=100).rows}
    assert found == {"check", "check.skipper"}
    assert service.audit_keyset(action="check.skip", limit=100).rows == ()


# -- keyset paging -----------------------------------------------------------------------


def test_keyset_pages_walk_the_whole_trail_newest_first_and_back(service, trail):
    everything = newest_first(service.audit())
    pages = walk_older(service, 4)
    assert [a for p in pages for a in p.rows] == everything
    assert all(len(p.rows) == 4 for p in pages[:-1]) and 1 <= len(pages[-1].rows) <= 4
    assert not pages[0].newer and all(p.newer for p in pages[1:])
    assert all(p.older for p in pages[:-1]) and not pages[-1].older
    # Back again, newer and newer from the oldest page: the same pages, newest first each.
    back = [pages[-1]]
    while back[-1].newer:
        back.append(service.audit_keyset(after=back[-1].rows[0].id, limit=4))
        assert len(back) < 100
    assert [a for p in reversed(back) for a in p.rows] == everything
    assert not back[-1].newer and all(p.older for p in back[1:])


def test_keyset_pages_keep_their_filters_and_a_period(service, trail):
    filters = {"since": day(0), "until": day(1, 20), "user": "ana"}
    pages = walk_older(service, 2, **filters)
    expected = newest_first(
        a for a in service.audit() if a.user == "ana" and day(0) <= a.at <= day(1, 20)
    )
    assert [a for p in pages for a in p.rows] == expected
    assert len(pages) == (len(expected) + 1) // 2
    # A page newer than the oldest row of the period and user comes back to the same rows.
    oldest = expected[-1]
    page = service.audit_keyset(after=oldest.id, limit=100, **filters)
    assert list(page.rows) == expected[:-1] and page.older and not page.newer


def test_a_page_beyond_either_end_is_empty_and_says_which_way_rows_are(service, trail):
    everything = newest_first(service.audit())
    past_oldest = service.audit_keyset(before=everything[-1].id)
    assert past_oldest.rows == () and not past_oldest.older and past_oldest.newer
    past_newest = service.audit_keyset(after=everything[0].id)
    assert past_newest.rows == () and not past_newest.newer and past_newest.older


def test_rows_of_the_same_moment_are_ordered_by_id_and_none_is_lost(service, trail):
    """Rows written in one second of a bulk import share their time: the id breaks the tie,
    so a page boundary inside them neither repeats nor skips a row."""
    with service.engine.begin() as connection:
        connection.execute(
            insert(AUDIT),
            [{"at": day(5), "user_name": "ana", "action": "x.same", "entity": "x"}] * 7,
        )
    pages = walk_older(service, 3, action="x")
    ids = [a.id for p in pages for a in p.rows]
    assert len(ids) == 7 == len(set(ids)) and ids == sorted(ids, reverse=True)


def test_bad_filters_and_cursors_are_refused_with_what_to_do(service, trail):
    with pytest.raises(NotFound, match="no user 'nobody'"):
        service.audit_keyset(user="nobody")
    with pytest.raises(NotFound, match="no session 9999"):
        service.audit_keyset(9999)
    with pytest.raises(NotFound, match="no audit row 999999"):
        service.audit_keyset(before=999999)
    with pytest.raises(EntryError, match="not both"):
        service.audit_keyset(before=1, after=2)
    with pytest.raises(EntryError, match="out of range"):
        service.audit_keyset(limit=0)
    with pytest.raises(EntryError, match="give the earlier time first"):
        service.audit_keyset(since=day(2), until=day(1))
    for action in ("reading%", "%", "_", "x' OR '1'='1", "READING", "reading.", "", "a" * 41):
        with pytest.raises(EntryError, match="is not an action"):
            service.audit_keyset(action=action)
    for user in ("a" * 65, "ana\nsam", "\x1b[31m"):
        with pytest.raises(EntryError, match="printable"):
            service.audit_keyset(user=user)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    user=st.one_of(st.none(), st.text(max_size=80)),
    action=st.one_of(st.none(), st.text(string.printable, max_size=50), st.text(max_size=20)),
)
def test_any_filter_text_is_refused_or_matches_only_what_it_says(service, trail, user, action):
    try:
        rows = service.audit_keyset(user=user, action=action, limit=200).rows
    except (EntryError, NotFound):
        return
    for row in rows:
        assert user is None or row.user == (None if user == BY_DATABASE else user)
        assert action is None or row.action == action or row.action.startswith(action + ".")


# -- the query plans on a big trail ----------------------------------------------------------


def big_trail(service, rows: int = 20000) -> None:
    """``rows`` audit rows a minute apart over three sessions' worth of ids, by bulk insert."""
    base = datetime(2025, 1, 1, tzinfo=UTC)
    batch = [
        {
            "at": base + timedelta(minutes=i),
            "user_name": ("ana", "bo", "sam")[i % 3],
            "action": ("reading.record", "flag.acknowledge", "session.start")[i % 3],
            "session_id": 1 + i // 40,
            "entity": "x",
        }
        for i in range(rows)
    ]
    with service.engine.begin() as connection:
        connection.execute(insert(AUDIT), batch)
        if connection.dialect.name == "postgresql":
            connection.execute(text("ANALYZE audit_log"))


def explain(service, read) -> list[str]:
    """The plan of every SELECT on audit_log that ``read`` runs (SQLite: EXPLAIN QUERY PLAN;
    PostgreSQL: EXPLAIN), with its own parameters."""
    from sqlalchemy import event

    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "FROM audit_log" in statement and statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(service.engine, "before_cursor_execute", seen)
    try:
        read()
    finally:
        event.remove(service.engine, "before_cursor_execute", seen)
    plans = []
    sqlite = service.engine.dialect.name == "sqlite"
    with service.engine.connect() as connection:
        for statement, parameters in statements:
            if "WHERE audit_log.id =" in statement:
                continue  # the cursor row, by its primary key
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            rows = connection.exec_driver_sql(prefix + statement, parameters)
            plans.append(" | ".join(str(row[-1] if sqlite else row[0]) for row in rows))
    return plans


def test_a_deep_page_is_read_through_the_time_index_like_the_first(service):
    """Page 1 and a page 15,000 rows deep, with and without a period and a user: every read
    of audit_log goes through the time index in the page's order (never the table, never a
    sort of the period's rows: SQLite no temporary B-tree, PostgreSQL at most an incremental
    sort of rows of the same moment), so the LIMIT stops it after the page."""
    big_trail(service)
    deep = service.audit_keyset(limit=50)
    for _ in range(3):  # a few pages down, then jump to a row deep in the trail
        deep = service.audit_keyset(before=deep.rows[-1].id, limit=50)
    with service.engine.connect() as connection:
        middle = connection.execute(
            text("SELECT id FROM audit_log ORDER BY at LIMIT 1 OFFSET 5000")
        ).scalar_one()
    period = {"since": datetime(2025, 1, 2, tzinfo=UTC), "until": datetime(2025, 1, 13, tzinfo=UTC)}
    reads = {
        "newest": lambda: service.audit_keyset(limit=50),
        "deep": lambda: service.audit_keyset(before=middle, limit=50),
        "deep newer": lambda: service.audit_keyset(after=middle, limit=50),
        "period": lambda: service.audit_keyset(limit=50, **period),
        "period deep": lambda: service.audit_keyset(before=middle, limit=50, **period),
        "period user deep": lambda: service.audit_keyset(
            before=middle, user="bo", limit=50, **period
        ),
    }
    sqlite = service.engine.dialect.name == "sqlite"
    for name, read in reads.items():
        plans = explain(service, read)
        assert plans, name
        for plan in plans:
            if sqlite:
                # An ordered walk of the index that the LIMIT stops is fine; the table is not.
                assert not re.search(r"SCAN audit_log(?! USING (COVERING )?INDEX)", plan), plan
                assert "TEMP B-TREE" not in plan, (name, plan)
            else:
                assert "Seq Scan" not in plan, (name, plan)
                assert "Sort Key" not in plan or "Incremental Sort" in plan, (name, plan)
        assert all("ix_audit_log_at" in p for p in plans), (name, plans)
    # And the deep page holds the rows it should.
    page = service.audit_keyset(before=middle, limit=50)
    assert page.older and page.newer and len(page.rows) == 50
    assert all(a.id < middle for a in page.rows)


# -- the command line ----------------------------------------------------------------------


@pytest.fixture
def cli(db_url) -> Cli:
    return with_sam_and_ana(Cli(db_url))


def test_audit_by_user_and_action_from_the_command_line(cli):
    sid = start(cli, "--at", "30 min ago")
    cli("record", str(sid), "120/80 hr 70 spo2 98", "--by", "ana", "--at", "20 min ago")
    cli("record", str(sid), "122/80 hr 72 spo2 98", "--by", "ana", "--at", "10 min ago")
    lines = cli("audit", "--user", "ana", "--action", "reading").stdout.splitlines()
    assert len(lines) == 2 and all("ana  reading.record" in line for line in lines)
    assert cli("audit", str(sid), "--action", "session.start").stdout.count("\n") == 1
    assert cli("audit", "--user", "sam", "--action", "reading").stdout == ""
    assert "user.add" in cli("audit", "--user", "sam", "--json").stdout
    assert "error: no user 'nobody'" in cli("audit", "--user", "nobody", ok=False).stderr
    for bad in ("reading%", "x' OR 1=1 --", "", "\x00"):
        result = cli("audit", "--action", bad, ok=False)
        assert result.returncode == 2 and result.stderr.startswith("error: "), bad
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
