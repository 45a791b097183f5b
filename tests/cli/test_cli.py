"""The `monitor` command line as docs/interface.md gives it, run as a real process on both backends."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta

import pytest

from tests.built import remembered
from tests.conftest import cheap_pg_pins, cheap_pins

MONITOR = [sys.executable, "-m", "monitor"]


#: The test users' PINs: a command acting `--by` one of them gets it in MONITOR_PIN.
PINS = {"ana": "1234", "sam": "9999", "bo": "2222"}


def run_in_process(args: list[str], stdin: str | None, env: dict[str, str]):
    """`monitor ARGS` run in this process (as `python -m monitor` would run it, without the
    0.5 s start of a new interpreter): exit status, stdout and stderr. Anything but a clean
    exit (a traceback) propagates and fails the test."""
    from monitor import cli as command_line

    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_stdin = dict(os.environ), sys.stdin
    os.environ.clear()
    os.environ.update(env)
    sys.stdin = io.StringIO(stdin or "")
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                command_line.main(list(args))
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        sys.stdin = saved_stdin
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


class Cli:
    """Runs `monitor` against one database, as the user named by `--by` (with their PIN).

    In this process by default (fast); ``process=True`` starts a real `python -m monitor`."""

    def __init__(self, db: str) -> None:
        self.db = db

    def __call__(
        self,
        *args: str,
        stdin: str | None = None,
        ok: bool = True,
        pin: bool = True,
        process: bool = False,
    ):
        env = {**os.environ, "MONITOR_DB": self.db}
        env.pop("MONITOR_CONFIG", None)
        env.pop("MONITOR_PIN", None)
        if pin and "--by" in args:
            by = args[args.index("--by") + 1]
            env["MONITOR_PIN"] = PINS.get(by, "0000")
        if process:
            result = subprocess.run(
                [*MONITOR, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
            )
        else:
            result = run_in_process(list(args), stdin, env)
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    def refused(self, *args: str, stdin: str | None = None, pin: bool = True) -> str:
        result = self(*args, stdin=stdin, ok=False, pin=pin)
        assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: ")
        assert "Traceback" not in result.stderr
        return lines[0]

    def json(self, *args: str):
        return json.loads(self(*args, "--json").stdout)


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="seconds")


def with_sam_and_ana(run: Cli) -> Cli:
    """A supervisor ``sam`` (9999) and a nurse ``ana`` (1234) added by the command line, on
    SQLite once for the session and copied after (tests/built.py), their PINs hashed as a
    set-up's are (tests/conftest.py, ``cheap_pins``)."""

    def build() -> None:
        with cheap_pins():
            run("user", "add", "sam", "--role", "supervisor", "--pin-stdin", stdin="9999\n9999\n")
            run("user", "add", "ana", "--role", "nurse", "--by", "sam", "--pin-stdin",
                stdin="1234\n1234\n")  # fmt: skip
        cheap_pg_pins(run.db, {"sam": "9999", "ana": "1234"})

    remembered(run.db, "sam and ana by the command line", build)
    return run


@pytest.fixture
def cli(db_url) -> Cli:
    return with_sam_and_ana(Cli(db_url))


def start(cli: Cli, *extra: str) -> int:
    out = cli(
        "session",
        "start",
        "--patient",
        "MRN-1",
        "--protocol",
        "esketamine-84",
        "--by",
        "ana",
        "--age",
        "52",
        "--bay",
        "Bay 2",
        "--lot",
        "L42",
        "--meds",
        "none",
        *extra,
    ).stdout
    assert out.strip().isdigit(), out  # the id alone
    return int(out)


def test_a_whole_session_from_the_command_line(cli):
    sid = start(cli, "--at", ago(140))
    cli("record", str(sid), "124/80 hr 70 spo2 98 moaas 5 cadss 0", "--by", "ana", "--at", ago(130))
    cli("session", "dose", str(sid), "--by", "ana", "--at", ago(125))
    shown = cli.json("session", "show", str(sid))
    assert (shown["patient"], shown["protocol"], shown["age"]) == ("MRN-1", "esketamine-84", 52)
    assert shown["status"] == "active"

    out = cli(
        "record", str(sid), "190/95 hr 88 spo2 97 moaas 5 cadss 2", "--by", "ana", "--at", ago(85)
    ).stdout
    assert "SBP 190 >= 180: severe elevation" in out
    shown = cli.json("session", "show", str(sid))
    flags = [f for r in shown["readings"] for f in r["flags"]]
    high = next(f for f in flags if f["severity"] == "high")
    assert high["acknowledged"] is False

    refusal = cli.refused("session", "discharge", str(sid), "--by", "ana")
    assert "discharge gate not met" in refusal and "not acknowledged" in refusal

    for f in flags:
        cli("flag", "ack", str(f["id"]), "--by", "ana", "--action", "recheck, prescriber told")
    cli("record", str(sid), "132/84 hr 74 spo2 98 moaas 5 cadss 1", "--by", "ana", "--at", ago(75))
    cli("record", str(sid), "128/80 hr 72 spo2 98 moaas 5 cadss 0", "--by", "ana", "--at", ago(4))
    # revision 3: the escort and the no-driving instruction are gate conditions
    refusal = cli.refused("session", "discharge", str(sid), "--by", "ana")
    assert "escort not recorded" in refusal and "no-driving instruction not given" in refusal
    out = cli(
        "session",
        "discharge",
        str(sid),
        "--by",
        "ana",
        "--escort",
        "partner",
        "--instructions-given",
    ).stdout
    assert "discharged" in out

    assert "only a supervisor" in cli.refused(
        "review", "sign", str(sid), "--by", "ana", "--pin-stdin", stdin="1234\n"
    )
    assert "name or PIN not accepted" in cli.refused(
        "review", "sign", str(sid), "--by", "sam", "--pin-stdin", stdin="0000\n"
    )
    cli("review", "sign", str(sid), "--by", "sam", "--pin-stdin", stdin="9999\n")
    shown = cli.json("session", "show", str(sid))
    assert shown["status"] == "discharged"
    assert shown["review"]["signed_by"] == "sam"
    assert shown["discharge"]["discharged_at"].endswith("+00:00")

    trail = cli("audit", str(sid)).stdout
    for action in (
        "session.start",
        "reading.record",
        "flag.acknowledge",
        "session.discharge",
        "session.sign",
    ):
        assert action in trail


def test_dose_later_and_list(cli):
    sid = start(cli)
    cli("record", str(sid), "150/95 hr 80", "--by", "ana", "--at", ago(3))
    refusal = cli.refused("session", "dose", str(sid), "--by", "ana")
    assert "dosing gate not met" in refusal and "baseline check not done" in refusal
    # revision 3: an override needs a clinician (a nurse alone is refused; the supervisor acts)
    refusal = cli.refused(
        "session", "dose", str(sid), "--by", "ana", "--override-reason", "Dr A reviewed BP"
    )
    assert "needs a clinician" in refusal
    out = cli(
        "session", "dose", str(sid), "--by", "sam", "--override-reason", "Dr A reviewed BP"
    ).stdout
    assert "dosing gate overridden by sam: Dr A reviewed BP" in out
    assert "already dosed" in cli.refused("session", "dose", str(sid), "--by", "ana")
    listed = cli.json("session", "list", "--active")
    assert {"id", "patient", "protocol", "status"} <= set(listed[0])
    assert [s["id"] for s in listed] == [sid]
    shown = cli.json("session", "show", str(sid))
    assert shown["dose_override_reason"] == "Dr A reviewed BP"
    baseline = shown["checks"][0]
    assert (baseline["label"], baseline["status"]) == ("baseline", "missed")
    assert baseline["skipped"] is None  # revision 3: the override never marks the baseline
    assert {f["rule"] for f in shown["readings"][0]["flags"]} == {
        "bp.predose.systolic",
        "bp.predose.diastolic",
    }


def test_amend_from_the_command_line(cli):
    # dosed from paper without a baseline: an override, by the supervisor (revision 3)
    out = cli(
        "session",
        "start",
        "--patient",
        "MRN-1",
        "--protocol",
        "esketamine-84",
        "--by",
        "sam",
        "--age",
        "52",
        "--meds",
        "none",
        "--dosed-at",
        ago(30),
        "--dose-override-reason",
        "from paper",
    ).stdout
    sid = int(out)
    out = cli("record", str(sid), "hr 150", "--by", "ana", "--json").stdout
    reading = json.loads(out)
    out = cli("amend", str(reading["id"]), "hr 105", "--by", "ana", "--reason", "typo").stdout
    assert "corrects reading" in out
    shown = cli.json("session", "show", str(sid))
    old, new = shown["readings"]
    assert old["superseded_by"] == new["id"] and old["heart_rate"] == 150
    assert new["heart_rate"] == 105
    cli("user", "add", "bo", "--role", "nurse", "--by", "sam", "--pin-stdin", stdin="2222\n2222\n")
    assert "did not record" in cli.refused(
        "amend", str(new["id"]), "hr 100", "--by", "bo", "--reason", "x"
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("record", "{sid}", "hr 400", "--by", "ana"), "'hr 400'"),
        (("record", "{sid}", "pulse", "80", "--by", "ana"), "'pulse'"),
        (("record", "{sid}", "120/80", "--by", "nobody"), "name or PIN not accepted"),
        (("record", "9999", "120/80", "--by", "ana"), "no session 9999"),
        (("record", "{sid}", "120/80", "--by", "ana", "--at", "yesterday-ish"), "not understood"),
        (("record", "{sid}", "120/80", "--by", "ana", "--at", "in 1 hour"), "not understood"),
        (("session", "show", "abc"), "abc"),
        (
            ("session", "start", "--patient", "X", "--protocol", "nope", "--by", "ana"),
            "unknown protocol",
        ),
        (("flag", "ack", "777", "--by", "ana", "--action", "x"), "no flag 777"),
        (("amend", "777", "hr 80", "--by", "ana", "--reason", "x"), "no reading 777"),
        (("user", "add", "ana", "--role", "nurse", "--by", "sam", "--pin-stdin"), "already exists"),
        (("user", "add", "zed", "--role", "doctor", "--by", "sam", "--pin-stdin"), "doctor"),
        (("review", "sign", "{sid}", "--by", "sam", "--pin-stdin"), "still active"),
    ],
)
def test_refusals_are_one_line_exit_2_and_save_nothing(cli, args, says):
    sid = start(cli)
    before = cli("audit").stdout
    args = tuple(a.format(sid=sid) for a in args)
    assert says in cli.refused(*args, stdin="9999\n9999\n")
    # Nothing saved; a refused PIN is audited (and nothing else).
    after = [line for line in cli("audit").stdout.splitlines() if "auth.refused" not in line]
    assert after == before.splitlines()


def test_future_measurement_is_refused(cli):
    sid = start(cli)
    future = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert "in the future" in cli.refused(
        "record", str(sid), "hr 80", "--by", "ana", "--at", future
    )


def test_local_time_without_offset_is_accepted(cli):
    sid = start(cli)
    local = (datetime.now() - timedelta(minutes=1)).replace(microsecond=0).isoformat()
    reading = json.loads(
        cli("record", str(sid), "hr 80", "--by", "ana", "--at", local, "--json").stdout
    )
    assert reading["measured_at"].endswith("+00:00")


def test_db_commands(cli):
    assert "up to date" in cli("db", "current").stdout
    assert "already" in cli("db", "upgrade").stdout
    assert "agree" in cli("db", "check").stdout


def test_new_sqlite_file_is_made_private_and_migrated(tmp_path):
    path = tmp_path / "sub" / "station.db"
    run = Cli(str(path))
    assert "upgraded empty database" in run("db", "upgrade").stdout
    assert run("session", "list").stdout == ""
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_config_show_names_sources(cli, tmp_path):
    station = tmp_path / "station.toml"
    station.write_text('bays = ["Bay 1", "Bay 2"]\n')
    out = cli("--config", str(station), "config", "show").stdout
    assert out.startswith("version 1 in force: set by the upgrade")
    line = next(x for x in out.splitlines() if x.startswith("bays"))
    assert "Bay 2" in line and str(station) in line
    line = next(x for x in out.splitlines() if x.startswith("discharge.spo2_min"))
    assert "94" in line and "[default]" in line
    # A clinical rule in --config is refused: the clinic's rules live in the database.
    clinic = tmp_path / "clinic.toml"
    clinic.write_text("[discharge]\nspo2_min = 95\n")
    assert "monitor config load" in cli.refused("--config", str(clinic), "config", "show")
    bad = tmp_path / "bad.toml"
    bad.write_text("colour = 1\n")
    assert "unknown key 'colour'" in cli.refused("--config", str(bad), "config", "show")


def test_bad_db_url_is_one_line(tmp_path):
    run = Cli("mysql://nobody@localhost/x")
    assert "not supported" in run.refused("session", "list")
    folder = Cli(str(tmp_path))
    assert "is a folder" in folder.refused("session", "list")


def test_unreachable_postgres_is_one_line_not_a_traceback():
    run = Cli("postgresql+psycopg://postgres@127.0.0.1:1/none")
    result = run("session", "list", ok=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: the database cannot be used")
    assert "Traceback" not in result.stderr


def test_demo_makes_a_live_floor_in_its_own_database(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("MONITOR_DB", None)
    result = subprocess.run(
        [*MONITOR, "demo"], capture_output=True, text=True, env=env, timeout=120, check=True
    )
    demo_db = tmp_path / "data" / "monitor" / "monitor-demo.db"
    assert demo_db.exists()
    assert not (tmp_path / "data" / "monitor" / "monitor.db").exists()  # the real one untouched
    assert "ana" in result.stdout and "1111" in result.stdout and "supervisor" in result.stdout
    assert f"monitor --db {demo_db}" in result.stdout
    run = Cli(str(demo_db))
    sessions = run.json("session", "list", "--active")
    assert len(sessions) == 6
    shown = [run.json("session", "show", str(s["id"])) for s in sessions]
    assert sum(s["discharge"]["ready"] for s in shown) == 1
    severities = {f["severity"] for s in shown for r in s["readings"] for f in r["flags"]}
    assert {"high", "medium", "low"} <= severities
    assert any(c["status"] == "overdue" for s in shown for c in s["checks"])
    assert any(s["dosed_at"] is None for s in shown)
    # Run again: a fresh demo, not a doubled one.
    subprocess.run([*MONITOR, "demo"], capture_output=True, env=env, timeout=120, check=True)
    assert len(run.json("session", "list", "--active")) == 6


def test_demo_into_a_named_database_and_never_into_a_real_one(tmp_path):
    run = Cli(str(tmp_path / "clinic.db"))
    out = run("demo").stdout
    assert str(tmp_path / "clinic.db") in out
    assert len(run.json("session", "list")) == 9  # 6 in observation, 3 discharged for review
    again = run("demo").stdout  # a demo it made: kept as it is, not doubled
    assert "already" in again and len(run.json("session", "list")) == 9
    real = Cli(str(tmp_path / "real.db"))
    real("db", "upgrade")
    real("user", "add", "sam", "--role", "supervisor", "--pin-stdin", stdin="9999\n9999\n")
    assert "not a demo's" in real.refused("demo")
    assert real.json("session", "list") == []


def test_files_a_mistyped_path_an_empty_file_and_a_wide_mode(tmp_path):
    typo = Cli(str(tmp_path / "no" / "such.db"))
    assert "no database at" in typo.refused("session", "list")
    assert not (tmp_path / "no").exists()
    empty = tmp_path / "empty.db"
    empty.touch(mode=0o600)
    assert "empty (0 bytes)" in Cli(str(empty)).refused("session", "list")
    made = Cli(str(tmp_path / "new" / "deep" / "m.db"))
    made("db", "upgrade")
    for folder in (tmp_path / "new", tmp_path / "new" / "deep"):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    os.chmod(tmp_path / "new" / "deep" / "m.db", 0o644)
    result = made("session", "list")
    assert "warning: database file" in result.stderr and "chmod 600" in result.stderr


def test_a_command_without_its_pin_is_refused(cli):
    sid = start(cli)
    refusal = cli.refused("record", str(sid), "120/80", "--by", "ana", pin=False)
    assert "PIN for ana is needed" in refusal


def test_a_newer_database_is_refused_without_a_backup(tmp_path):
    run = Cli(str(tmp_path / "n.db"))
    run("db", "upgrade")
    import sqlite3

    with sqlite3.connect(tmp_path / "n.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    assert "newer than this monitor" in run.refused("db", "upgrade")
    assert "newer" in run.refused("session", "list")
    assert not list(tmp_path.glob("*.bak"))
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    os.chmod(other, 0o600)
    assert "not a monitor database" in Cli(str(other)).refused("db", "upgrade")


def baseline_and_dose(cli: Cli, sid: int, dosed_ago: float) -> None:
    cli("record", str(sid), OK_ENTRY, "--by", "ana", "--at", ago(dosed_ago + 5))
    cli("session", "dose", str(sid), "--by", "ana", "--at", ago(dosed_ago))


OK_ENTRY = "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0"


def test_the_unsafe_flows_of_revision_1_are_refused(cli):
    """Issue 7's unsafe flows, tried again: each is refused or keeps the patient not ready."""
    sid = start(cli, "--at", ago(150))
    baseline_and_dose(cli, sid, 130)
    for minutes in (90, 40, 12):
        cli("record", str(sid), OK_ENTRY, "--by", "ana", "--at", ago(minutes))
    cli("record", str(sid), "70/40 hr 35 spo2 85 moaas 1", "--by", "ana", "--at", ago(2))
    # 1. a discharge timed before a later, alarming reading
    assert "before the latest reading" in cli.refused(
        "session", "discharge", str(sid), "--by", "ana", "--at", ago(5)
    )
    # ... and now: the gate judges that reading
    refusal = cli.refused("session", "discharge", str(sid), "--by", "ana")
    assert "latest BP 70/40 raises a high flag" in refusal
    # 3. HR 138 and RR 7 at the end, acknowledged "noted"
    out = cli("record", str(sid), "120/80 hr 138 spo2 97 rr 7 moaas 5 cadss 0", "--by", "ana")
    flags = [
        line.split("[flag ")[1].rstrip("]") for line in out.stdout.splitlines() if "[flag" in line
    ]
    shown = cli.json("session", "show", str(sid))
    for reading in shown["readings"]:
        for f in reading["flags"]:
            if not f["acknowledged"]:
                cli("flag", "ack", str(f["id"]), "--by", "ana", "--action", "noted")
    assert flags
    refusal = cli.refused("session", "discharge", str(sid), "--by", "ana")
    assert "latest HR 138" in refusal and "latest RR 7" in refusal

    # 4. a nurse's correction of her own 188/104 does not clear the high alarm
    other = start(cli, "--patient", "MRN-2", "--at", ago(150))
    baseline_and_dose(cli, other, 130)
    for minutes in (90, 40):
        cli("record", str(other), OK_ENTRY, "--by", "ana", "--at", ago(minutes))
    high = cli.json("record", str(other), "188/104 hr 70 spo2 98 moaas 5 cadss 0", "--by", "ana")
    cli("amend", str(high["id"]), "128/80", "--by", "ana", "--reason", "typo")
    refusal = cli.refused("session", "discharge", str(other), "--by", "ana")
    assert "not acknowledged" in refusal
    shown = cli.json("session", "show", str(other))
    assert shown["discharge"]["ready"] is False

    # 5. dosing with no baseline, then with an open before-dosing flag
    third = start(cli, "--patient", "MRN-3")
    assert "baseline check not done" in cli.refused("session", "dose", str(third), "--by", "ana")
    cli("record", str(third), "152/92 hr 70 spo2 98 moaas 5 cadss 0", "--by", "ana")
    assert "before-dosing flags not acknowledged" in cli.refused(
        "session", "dose", str(third), "--by", "ana"
    )


def test_revision_2_commands(cli):
    sid = start(cli, "--at", ago(60), "--first-treatment", "yes", "--dose-number", "1")
    baseline_and_dose(cli, sid, 50)
    reading = cli.json("record", str(sid), "85/50 hr 70", "--by", "ana", "--at", ago(45))
    out = cli("void", str(reading["id"]), "--by", "ana", "--reason", "wrong patient").stdout
    assert f"reading {reading['id']} voided by ana: wrong patient" in out
    out = cli(
        "event",
        "add",
        str(sid),
        "--kind",
        "adverse",
        "--type",
        "nausea",
        "--severity",
        "mild",
        "--by",
        "ana",
        "felt sick",
    ).stdout
    assert "adverse nausea (mild): felt sick" in out
    assert "--severity" in cli.refused(
        "event", "add", str(sid), "--kind", "adverse", "--type", "nausea", "--by", "ana", "x"
    )
    out = cli("check", "skip", str(sid), "+15 min", "--by", "ana", "--reason", "asleep").stdout
    assert "explained by ana: asleep" in out
    assert "only an overdue or missed" in cli.refused(
        "check", "skip", str(sid), "+90 min", "--by", "ana", "--reason", "x"
    )
    shown = cli.json("session", "show", str(sid))
    assert shown["first_treatment"] is True and shown["dose_number"] == 1 and shown["meds"] == []
    assert shown["readings"][1]["voided"]["reason"] == "wrong patient"
    assert shown["events"][0]["type"] == "nausea"
    text = cli("session", "show", str(sid)).stdout
    assert "VOIDED by ana" in text and "adverse nausea (mild): felt sick" in text
    assert "not done: asleep" in text
    out = cli(
        "session",
        "discharge",
        str(sid),
        "--by",
        "sam",  # revision 3: an override needs a clinician
        "--override-reason",
        "left early",
        "--escort",
        "daughter",
        "--instructions-given",
        "--ready-minute",
        "45",
    ).stdout
    assert "escort: daughter; no-driving instruction: given" in out
    shown = cli.json("session", "show", str(sid))["discharge"]
    assert (shown["ready_minute"], shown["escort"]) == (45, "daughter")
    assert shown["gate_at_discharge"]["ready"] is False


def test_iv_infusion_end_from_the_command_line(cli):
    sid = start(cli, "--patient", "MRN-IV", "--protocol", "ketamine-iv", "--at", ago(80))
    base = datetime.now(UTC).replace(microsecond=0)
    dose, end = (base - timedelta(minutes=m) for m in (60, 10))
    cli("record", str(sid), OK_ENTRY, "--by", "ana", "--at", ago(65))
    cli("session", "dose", str(sid), "--by", "ana", "--at", dose.isoformat())
    out = cli("session", "infusion-end", str(sid), "--by", "ana", "--at", end.isoformat()).stdout
    assert "pre-discharge check now +110 min" in out
    assert "already recorded" in cli.refused("session", "infusion-end", str(sid), "--by", "ana")


def test_revision_3_discharge_of_an_iv_session_from_the_command_line(cli):
    """An IV session needs its infusion end recorded; a discharge time may not be in the
    future; the escort and the no-driving instruction are given (revision 3)."""
    sid = start(cli, "--patient", "MRN-IV3", "--protocol", "ketamine-iv", "--at", ago(140))
    cli("record", str(sid), OK_ENTRY, "--by", "ana", "--at", ago(125))
    cli("session", "dose", str(sid), "--by", "ana", "--at", ago(120))
    cli("record", str(sid), OK_ENTRY, "--by", "ana", "--at", ago(18))
    home = ("--escort", "partner", "--instructions-given")
    refusal = cli.refused("session", "discharge", str(sid), "--by", "ana", *home)
    assert "infusion end not recorded" in refusal
    cli("session", "infusion-end", str(sid), "--by", "ana", "--at", ago(80))
    ahead = (datetime.now(UTC) + timedelta(minutes=1)).isoformat(timespec="seconds")
    refusal = cli.refused("session", "discharge", str(sid), "--by", "ana", "--at", ahead, *home)
    assert "in the future" in refusal
    assert "discharged" in cli("session", "discharge", str(sid), "--by", "ana", *home).stdout
    shown = cli.json("session", "show", str(sid))["discharge"]
    assert shown["gate_at_discharge"]["ready"] is True
    assert (shown["escort"], shown["instructions_given"]) == ("partner", True)


@pytest.mark.parametrize(
    ("local", "says"),
    [("2026-11-01T01:30", "happens twice"), ("2026-03-08T02:30", "does not exist")],
)
def test_clock_change_local_times_are_refused(cli, local, says):
    sid = start(cli)
    env = {**os.environ, "MONITOR_DB": cli.db, "TZ": "America/New_York", "MONITOR_PIN": "1234"}
    result = subprocess.run(
        [*MONITOR, "record", str(sid), "120/80", "--by", "ana", "--at", local],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert says in result.stderr and "give an offset" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("event", "add", "{sid}", "--kind", "note", "--by", "ana", "x" * 5000),
        ("event", "add", "{sid}", "--kind", "note", "--by", "ana", "line\nbreak"),
        ("event", "add", "{sid}", "--kind", "note", "--by", "ana", "\x1b[31mred"),
        ("event", "add", "{sid}", "--kind", "adverse", "--type", "🙂", "--by", "ana", "x"),
        ("event", "add", "99999999999", "--kind", "note", "--by", "ana", "x"),
        ("event", "add", "{sid}", "--kind", "note", "--by", "ana", "--at", "0001-01-01", "x"),
        ("check", "skip", "{sid}", "\x07", "--by", "ana", "--reason", "x"),
        ("check", "skip", "{sid}", "+15 min", "--by", "ana", "--reason", ""),
        ("void", "{rid}", "--by", "ana", "--reason", "   "),
        ("void", "-1", "--by", "ana", "--reason", "x"),
        ("session", "infusion-end", "{sid}", "--by", "ana"),
        ("session", "dose", "{sid}", "--by", "ana", "--override-reason", "x\nreviewed: signed"),
        (
            "session",
            "start",
            "--patient",
            "P",
            "--protocol",
            "esketamine-56",
            "--by",
            "ana",
            "--age",
            "40",
            "--meds",
            "aspirin",
        ),
        (
            "session",
            "start",
            "--patient",
            "P",
            "--protocol",
            "esketamine-56",
            "--by",
            "ana",
            "--age",
            "40",
            "--meds",
            "none",
            "--dose-mg",
            "84",
        ),
        (
            "session",
            "start",
            "--patient",
            "P",
            "--protocol",
            "ketamine-im",
            "--by",
            "ana",
            "--at",
            "2020-01-01T00:00+00:00",
        ),
        (
            "session",
            "discharge",
            "{sid}",
            "--by",
            "ana",
            "--override-reason",
            "x",
            "--ready-minute",
            "-5",
        ),
        ("amend", "{rid}", "hr 80", "--by", "ana", "--reason", "x", "--at", "in a bit"),
        ("session", "show", "99999999999999999999"),
        ("void", "١٢", "--by", "ana", "--reason", "x"),
        (
            "session",
            "start",
            "--patient",
            "P",
            "--protocol",
            "ketamine-im",
            "--by",
            "ana",
            "--dose-mg",
            "١٢٠",
        ),
    ],
)
def test_odd_input_to_the_revision_2_commands_is_one_line_and_saves_nothing(db_url, args):
    run = Cli(db_url)
    run("user", "add", "ana", "--role", "supervisor", "--pin-stdin", stdin="1234\n1234\n")
    sid = start(run)
    rid = run.json("record", str(sid), "120/80", "--by", "ana")["id"]
    before = run("audit", str(sid)).stdout
    run.refused(*(a.format(sid=sid, rid=rid) for a in args))
    assert run("audit", str(sid)).stdout == before


def test_the_no_driving_answer_no_is_kept_as_no(cli):
    sid = start(cli)
    out = cli(
        "session",
        "discharge",
        str(sid),
        "--by",
        "sam",  # revision 3: an override needs a clinician
        "--override-reason",
        "left",
        "--escort",
        "none",
        "--instructions-not-given",
    ).stdout
    assert "no-driving instruction: NOT given" in out
    assert cli.json("session", "show", str(sid))["discharge"]["instructions_given"] is False


def test_session_list_has_headers_and_audit_reads_as_typed(cli):
    sid = start(cli, "--patient", "Zoë-1")
    cli("event", "add", str(sid), "--kind", "note", "--by", "ana", "O₂ 2 L/min by nasal cannula")
    listed = cli("session", "list").stdout.splitlines()
    assert listed[0].split("\t") == ["id", "patient", "protocol", "bay", "status", "dosed"]
    assert "Zoë-1" in listed[1]
    trail = cli("audit", str(sid)).stdout
    assert "O₂ 2 L/min" in trail and "\\u" not in trail
    assert "quick entry" in cli("record", "--help").stdout


def test_audit_text_names_the_database_and_shows_only_what_a_trigger_row_changed(cli):
    sid = start(cli)
    cli("record", str(sid), "120/80 hr 70 spo2 98 moaas 5 cadss 0", "--by", "ana")
    cli("session", "dose", str(sid), "--by", "ana")
    rows = [line for line in cli("audit", str(sid)).stdout.splitlines() if "db.session" in line]
    assert rows, "the dose changes a set-once column through its trigger"
    for row in rows:
        assert "  (database)  db.session." in row
        assert '"discharged_at"' not in row  # unchanged fields left out
        # revision 3: who dosed is set with the dosing time
        assert 'before {"dosed_at": null, "dosed_by_id": null}' in row
    whole = [json.loads(line) for line in cli("audit", str(sid), "--json").stdout.splitlines()]
    trigger = next(row for row in whole if row["action"].startswith("db.session"))
    assert "discharged_at" in trigger["before"]  # --json keeps the stored row whole


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("99999999999", "99999999999 is out of range (1 to 2147483647)"),
        ("2147483648", "2147483648 is out of range (1 to 2147483647)"),
        ("0", "0 is out of range (1 to 2147483647)"),
        ("9" * 5000, "99999999999999999999… is out of range"),
        ("١٢", "'١٢' is not a whole number"),
        ("12a", "'12a' is not a whole number"),
    ],
)
def test_an_id_too_big_is_out_of_range_not_not_a_number(cli, value, says):
    message = cli.refused("session", "show", value)
    assert says in message
    assert len(message.splitlines()) == 1


def test_record_sent_again_with_its_key_says_it_was_already_saved(cli):
    sid = start(cli)
    first = cli("record", str(sid), "150/95 hr 80", "--by", "ana", "--key", "gw-1")
    assert "already saved" not in first.stderr
    again = cli("record", str(sid), "150/95 hr 80", "--by", "ana", "--key", "gw-1")
    assert again.stdout == first.stdout  # the reading first saved, as before
    assert "already saved as reading" in again.stderr and "not saved again" in again.stderr


def test_the_record_command_summary_is_whole_in_the_help(cli):
    out = cli("--help").stdout
    line = next(x for x in out.splitlines() if x.strip().startswith("record "))
    assert "quick entry" in line and not line.rstrip().endswith("e.g.")  # not cut at "e.g."


def test_esketamine_is_refused_under_18_and_a_minor_on_another_protocol_carries_a_notice(cli):
    """Clinical revision 3 (docs/clinical.md, "Recorded besides vitals"), through the command
    line on both backends: nothing is saved for the refused minor."""
    refusal = cli.refused(
        "session", "start", "--patient", "MRN-KID", "--protocol", "esketamine-56",
        "--by", "ana", "--age", "17", "--meds", "none",
    )  # fmt: skip
    assert refusal == "error: esketamine is for adults: the patient is 17 (under 18)"
    assert cli.json("session", "list") == []
    out = cli(
        "session", "start", "--patient", "MRN-KID", "--protocol", "ketamine-iv",
        "--by", "ana", "--age", "16", "--dose-mg", "20", "--weight-kg", "40",
    )  # fmt: skip
    shown = cli("session", "show", out.stdout.strip()).stdout
    assert "16 / 40 kg (under 18: the thresholds and the gate are adult ones)" in shown
