"""`monitor record ID --stdin`: batch entry for gateways, each line saved or refused on its own
(docs/interface.md, "Batch entry"), on both databases."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading

import pytest
from sqlalchemy import bindparam, create_engine, func, select

from monitor.errors import Refused
from monitor.store import models as m
from monitor.store import tables as t
from tests.cli.test_cli import MONITOR, PINS, Cli, start
from tests.cli.test_cli import cli as cli  # the fixture: a database with sam and ana

LINES = "120/80 hr 70\nhr 0\n\n130/85 @ 2 min ago\nbp 999/80\n150/95 hr 80 spo2 97\n"


def readings_of(db: str, session_id: int) -> int:
    engine = create_engine(db)
    try:
        with engine.connect() as connection:
            return connection.scalar(
                select(func.count())
                .select_from(m.Reading)
                .where(m.Reading.session_id == session_id)
            )
    finally:
        engine.dispose()


def test_each_line_is_saved_or_refused_on_its_own_with_a_result_line(cli: Cli):
    sid = start(cli)
    result = cli("record", str(sid), "--stdin", "--by", "ana", stdin=LINES, ok=False)
    assert result.returncode == 2  # some lines were refused
    out = result.stdout.splitlines()
    assert len(out) == 6
    assert out[0].startswith("line 1: reading ")
    assert out[1].startswith("line 2: refused: ") and "HR 0 is impossible" in out[1]
    assert out[2] == "line 3: refused: empty line: nothing to record"
    assert out[3].startswith("line 4: reading ")
    assert out[4].startswith("line 5: refused: ")
    assert out[5].startswith("line 6: reading ")
    assert result.stderr.strip() == "3 saved, 3 refused"
    assert readings_of(cli.db, sid) == 3


def test_json_results_one_object_per_line_and_a_clean_batch_exits_0(cli: Cli):
    sid = start(cli)
    result = cli("record", str(sid), "--stdin", "--json", "--by", "ana", stdin="120/80\nhr 72\n")
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(o["line"], o["saved"]) for o in objects] == [(1, True), (2, True)]
    assert objects[1]["reading"]["heart_rate"] == 72
    assert objects[0]["reading"]["systolic"] == 120


def test_a_batch_sent_again_with_the_same_key_saves_nothing_twice(cli: Cli):
    sid = start(cli)
    first = cli(
        "record", str(sid), "--stdin", "--key", "gw-7", "--by", "ana", stdin=LINES, ok=False
    )
    again = cli(
        "record", str(sid), "--stdin", "--key", "gw-7", "--by", "ana", stdin=LINES, ok=False
    )
    assert readings_of(cli.db, sid) == 3
    saved = [line.split(":")[0] for line in first.stdout.splitlines() if ": reading " in line]
    repeated = [line for line in again.stdout.splitlines() if "already saved" in line]
    assert [line.split(":")[0] for line in repeated] == saved
    assert all("not saved again" in line and "(key gw-7:" in line for line in repeated)
    # The summary of the re-sent batch does not count the old readings as saved.
    assert "0 saved, 3 already saved (same key)" in again.stderr
    objects = [
        json.loads(line)
        for line in cli(
            "record",
            str(sid),
            "--stdin",
            "--key",
            "gw-7",
            "--json",
            "--by",
            "ana",
            stdin=LINES,
            ok=False,
        ).stdout.splitlines()
    ]
    assert [o.get("already_saved") for o in objects if o["saved"]] == [True, True, True]


def test_the_pin_comes_from_the_first_line_with_pin_stdin(cli: Cli):
    sid = start(cli)
    cli(
        "record",
        str(sid),
        "--stdin",
        "--by",
        "ana",
        "--pin-stdin",
        stdin="1234\n120/80\n",
        pin=False,
    )
    assert readings_of(cli.db, sid) == 1
    said = cli.refused(
        "record",
        str(sid),
        "--stdin",
        "--by",
        "ana",
        "--pin-stdin",
        stdin="0000\n120/80\n",
        pin=False,
    )
    assert "not accepted" in said
    assert readings_of(cli.db, sid) == 1


def test_entry_and_stdin_together_or_neither_are_refused(cli: Cli):
    sid = start(cli)
    assert "no ENTRY" in cli.refused("record", str(sid), "120/80", "--stdin", "--by", "ana")
    assert "needs an ENTRY" in cli.refused("record", str(sid), "--by", "ana")


def test_a_line_that_is_not_utf8_is_refused_alone_in_a_real_process(cli: Cli):
    sid = start(cli)
    env = {**os.environ, "MONITOR_DB": cli.db, "MONITOR_PIN": PINS["ana"]}
    env.pop("MONITOR_CONFIG", None)
    result = subprocess.run(
        [*MONITOR, "record", str(sid), "--stdin", "--by", "ana"],
        input=b"120/80\n\xff\xfe hr 70\n130/85\n",
        capture_output=True,
        env=env,
        timeout=120,
    )
    out = result.stdout.decode().splitlines()
    assert result.returncode == 2, result.stderr
    assert out[1] == "line 2: refused: the line is not UTF-8 text"
    assert b"Traceback" not in result.stderr
    assert readings_of(cli.db, sid) == 2


def test_each_result_comes_as_its_line_is_done_not_at_the_end(cli: Cli):
    """A gateway writes a line and reads its result before it writes the next one."""
    sid = start(cli)
    env = {**os.environ, "MONITOR_DB": cli.db, "MONITOR_PIN": PINS["ana"]}
    env.pop("MONITOR_CONFIG", None)
    env.pop("PYTHONUNBUFFERED", None)
    process = subprocess.Popen(
        [*MONITOR, "record", str(sid), "--stdin", "--by", "ana"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    watchdog = threading.Timer(120, process.kill)  # a hang fails the test instead of CI
    watchdog.start()
    try:
        assert process.stdin and process.stdout
        answers = []
        for entry in (b"120/80\n", b"hr 0\n", b"125/82\n"):
            process.stdin.write(entry)
            process.stdin.flush()
            answers.append(process.stdout.readline().decode())
        process.stdin.close()
        assert process.wait() == 2
    finally:
        watchdog.cancel()
    assert answers[0].startswith("line 1: reading ")
    assert answers[1].startswith("line 2: refused")
    assert answers[2].startswith("line 3: reading ")


# -- A key binds its content (issue #20, item 3; docs/interface.md, "Keys") -----------------


def test_a_batch_key_that_carried_other_values_refuses_each_line_and_exits_2(cli: Cli):
    """The attack of issue #20: a batch under a key already used for other values was answered
    "0 saved, 2 already saved" (exit 0), and 190/120 raised no alarm."""
    sid = start(cli)
    cli("record", str(sid), "--stdin", "--key", "gw", "--by", "ana", stdin="120/80 hr 70\n130/85\n")
    result = cli(
        "record",
        str(sid),
        "--stdin",
        "--key",
        "gw",
        "--by",
        "ana",
        stdin="190/120 hr 150\n80/40 hr 35\n",
        ok=False,
    )
    assert result.returncode == 2
    assert result.stdout.splitlines() == [
        f"line {n}: refused: key gw:{n} already used for different readings (other values): "
        "use a new key for a new reading"
        for n in (1, 2)
    ]
    assert result.stderr.strip() == "0 saved, 2 refused"
    assert readings_of(cli.db, sid) == 2
    answers = cli(
        "record",
        str(sid),
        "--stdin",
        "--json",
        "--key",
        "gw",
        "--by",
        "ana",
        stdin="190/120 hr 150\n",
        ok=False,
    )
    assert answers.returncode == 2
    (answer,) = [json.loads(line) for line in answers.stdout.splitlines()]
    assert answer["saved"] is False and "already_saved" not in answer
    assert answer["error"].startswith("key gw:1 already used for different readings")
    assert readings_of(cli.db, sid) == 2


def test_a_batch_sent_again_with_one_line_changed_refuses_only_that_line(cli: Cli):
    """Each line is answered on its own: the retried lines are already saved, the changed one
    (another value, another time as typed) is refused and counted as refused."""
    sid = start(cli)
    sent = "120/80 hr 70\n125/82 @ 3 min ago\nspo2 97\n"
    cli("record", str(sid), "--stdin", "--key", "gw-8", "--by", "ana", stdin=sent)
    for changed, line in (("spo2 96", 3), ("125/82 @ 4 min ago", 2)):
        lines = sent.splitlines()
        lines[line - 1] = changed
        again = cli(
            "record",
            str(sid),
            "--stdin",
            "--key",
            "gw-8",
            "--by",
            "ana",
            stdin="\n".join(lines) + "\n",
            ok=False,
        )
        assert again.returncode == 2
        out = again.stdout.splitlines()
        assert out[line - 1].startswith(
            f"line {line}: refused: key gw-8:{line} already used for different readings ("
        )
        assert sum("already saved as reading" in answer for answer in out) == 2
        assert again.stderr.strip() == "0 saved, 2 already saved (same key), 1 refused"
    assert readings_of(cli.db, sid) == 3


def test_record_with_a_key_retried_as_typed_or_reused_for_another_reading(cli: Cli):
    sid = start(cli)
    entry = ["record", str(sid), "150/95 hr 80", "--at", "5 min ago", "--key", "k-7"]
    first = cli(*entry, "--by", "ana").stdout
    again = cli(*entry, "--by", "ana")  # "5 min ago" again, later: the same entry
    assert again.stdout == first
    assert again.stderr.startswith("note: already saved as reading ")
    for other in (
        ["record", str(sid), "190/120 hr 150", "--at", "5 min ago", "--key", "k-7"],
        ["record", str(sid), "150/95 hr 80", "--at", "6 min ago", "--key", "k-7"],
        ["record", str(sid), "150/95 hr 80", "--key", "k-7"],
    ):
        said = cli.refused(*other, "--by", "ana")
        assert said.startswith("error: key k-7 already used for different readings (")
        assert said.endswith("use a new key for a new reading")
    said = cli.refused(*entry, "--by", "sam")  # the same entry, but sam's key it is not
    assert "(a reading recorded by another user)" in said
    assert readings_of(cli.db, sid) == 1


# -- Lines saved in groups (issue #23, item 4; docs/interface.md, "Batch entry") ------------


def test_a_group_saves_its_readings_together_and_a_refused_one_alone(service, db_url):
    """Several readings in one transaction, each in its own savepoint: none is seen elsewhere
    before the group commits; a refused one leaves the others; each has its audit row."""
    sid = service.start_session(patient="MRN-G", protocol="ketamine-iv", by="ana")
    other = create_engine(db_url)
    try:
        with service.group() as group:
            first = group.record(sid, "120/80 hr 70", by="ana", key="g:1")
            with pytest.raises(Refused, match="HR 0 is impossible"):
                group.record(sid, "hr 0", by="ana", key="g:2")
            with pytest.raises(Refused, match="unknown user"):
                group.record(sid, "hr 71", by="nobody")
            second = group.record(sid, "125/82 hr 72", by="ana", key="g:3")
            again = group.record(sid, "120/80 hr 70", by="ana", key="g:1")  # its own retry
            assert again.reading.id == first.reading.id and not again.saved_now
            with other.connect() as connection:
                assert connection.scalar(_COUNT, {"sid": sid}) == 0  # not committed yet
        with other.connect() as connection:
            assert connection.scalar(_COUNT, {"sid": sid}) == 2
            audited = connection.execute(
                select(t.audit_log.c.entity_id).where(
                    t.audit_log.c.action == "reading.record", t.audit_log.c.session_id == sid
                )
            ).scalars()
            assert sorted(audited) == [first.reading.id, second.reading.id]
    finally:
        other.dispose()
    assert first.saved_now and second.saved_now


def test_a_refused_line_amid_good_ones_refuses_only_itself(cli: Cli):
    sid = start(cli)
    good = [f"{110 + n}/{70 + n} hr {60 + n}" for n in range(10)]
    lines = [*good[:5], "bp 120/80 spo2 101", *good[5:]]
    result = cli(
        "record",
        str(sid),
        "--stdin",
        "--key",
        "amid",
        "--by",
        "ana",
        stdin="\n".join(lines) + "\n",
        ok=False,
    )
    assert result.returncode == 2
    out = result.stdout.splitlines()
    assert [line.split(":")[0] for line in out] == [f"line {n}" for n in range(1, 12)]
    assert out[5].startswith("line 6: refused: ")
    assert all(": reading " in line for n, line in enumerate(out) if n != 5)
    assert result.stderr.strip() == "10 saved, 1 refused"
    assert readings_of(cli.db, sid) == 10


def test_a_killed_batch_loses_no_answered_line_and_saves_none_twice_when_sent_again(cli: Cli):
    """A gateway's batch killed (SIGKILL) mid-stream: every line answered is saved; sent again
    with the same key, each line answered before is "already saved" as the same reading, the
    rest are saved now, and no line is saved twice."""
    sid = start(cli)
    count = 300
    lines = "".join(f"{100 + n % 80}/{60 + n % 30} hr {50 + n % 90}\n" for n in range(count))
    env = {**os.environ, "MONITOR_DB": cli.db, "MONITOR_PIN": PINS["ana"]}
    env.pop("MONITOR_CONFIG", None)
    batch = [*MONITOR, "record", str(sid), "--stdin", "--key", "kill", "--by", "ana"]
    process = subprocess.Popen(
        batch, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    watchdog = threading.Timer(120, process.kill)  # a hang fails the test instead of CI
    watchdog.start()
    try:
        assert process.stdin and process.stdout
        writer = threading.Thread(target=_feed, args=(process.stdin, lines.encode()), daemon=True)
        writer.start()
        answered = [process.stdout.readline().decode()]  # the first group is committed
        process.send_signal(signal.SIGKILL)
        answered += [line.decode() for line in process.stdout]  # answered before the kill
        process.wait()
    finally:
        watchdog.cancel()
    saved = dict(_answer(line) for line in answered if line.endswith("\n"))  # whole lines
    assert 1 <= len(saved) < count  # killed mid-stream
    assert list(saved) == list(range(1, len(saved) + 1))  # answered in order, none skipped
    keyed = _keyed_readings(cli.db, sid)
    assert {n: keyed[f"kill:{n}"] for n in saved} == saved  # every answered line is saved
    again = cli(*batch[3:], stdin=lines)
    resent = dict(_answer(line) for line in again.stdout.splitlines())
    assert len(resent) == count
    assert {n: resent[n] for n in saved} == saved  # answered before: the same readings
    already = sum("already saved" in line for line in again.stdout.splitlines())
    assert len(saved) <= already < count
    assert readings_of(cli.db, sid) == count  # none saved twice
    assert _keyed_readings(cli.db, sid) == {f"kill:{n}": r for n, r in resent.items()}


_COUNT = (
    select(func.count()).select_from(t.readings).where(t.readings.c.session_id == bindparam("sid"))
)


def _feed(stdin, data: bytes) -> None:
    try:
        stdin.write(data)
        stdin.close()
    except OSError:  # the process was killed
        pass


def _answer(line: str) -> tuple[int, int]:
    """(line number, reading id) of a batch's answer ``line N: reading R ...`` or
    ``line N: already saved as reading R ...``."""
    head, rest = line.split(": ", 1)
    reading = rest.split("reading ", 1)[1].split()[0]
    return int(head.removeprefix("line ")), int(reading)


def _keyed_readings(db: str, session_id: int) -> dict[str, int]:
    engine = create_engine(db)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(t.readings.c.client_key, t.readings.c.id).where(
                    t.readings.c.session_id == session_id
                )
            )
            return {key: rid for key, rid in rows}
    finally:
        engine.dispose()
