"""Clinician co-signature and serious events through the command line, both backends
(docs/interface.md, "Who is acting"; docs/clinical.md, "Serious events"): `event add` prints
the alarm it opened; `flag ack` of an event alarm or a before-dosing flag needs a supervisor,
or `--cosign NAME` with that supervisor's PIN after the actor's."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from monitor.services import Service
from tests.built import remembered
from tests.cli.test_cli import run_in_process
from tests.conftest import cheap_pg_pins, cheap_pins

PINS = {"sam": "9999", "kim": "5555", "ana": "1234", "bo": "2345", "old": "7777"}
OK = "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0"


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="seconds")


class Run:
    """`monitor ARGS` on one database; the PINs given as the test says, nothing else."""

    def __init__(self, db: str) -> None:
        self.db = db

    def __call__(
        self,
        *args: str,
        pin: str | None = None,
        cosign_pin: str | None = None,
        stdin: str | None = None,
    ):
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("MONITOR_") or k == "MONITOR_SECRET_FILE"
        }
        env["MONITOR_DB"] = self.db
        if pin is None and "--by" in args and "--pin-stdin" not in args:
            pin = PINS[args[args.index("--by") + 1]]
        if pin is not None:
            env["MONITOR_PIN"] = pin
        if cosign_pin is not None:
            env["MONITOR_COSIGN_PIN"] = cosign_pin
        return run_in_process(list(args), stdin, env)

    def ok(self, *args: str, **kwargs) -> str:
        result = self(*args, **kwargs)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def refused(self, *args: str, **kwargs) -> str:
        result = self(*args, **kwargs)
        assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert "Traceback" not in result.stderr
        return lines[0]


@pytest.fixture
def run(db_url) -> Run:
    """Supervisors sam and kim, nurses ana and bo, and a disabled supervisor: on SQLite added
    once for the session and copied after (tests/built.py), their PINs hashed as a set-up's
    are (tests/conftest.py, ``cheap_pins``)."""

    def build() -> None:
        service = Service.open(db_url)
        with cheap_pins():
            service.add_user("sam", "supervisor", PINS["sam"])
            for name, role in (("kim", "supervisor"), ("ana", "nurse"), ("bo", "nurse")):
                service.add_user(name, role, PINS[name], by="sam")
            service.add_user("old", "supervisor", PINS["old"], by="sam")
        service.disable_user("old", by="sam")
        service.close()
        cheap_pg_pins(db_url, PINS)

    remembered(db_url, "the co-signers", build)
    return Run(db_url)


def start(run: Run, patient: str = "MRN-1", began: float = 60) -> int:
    return int(
        run.ok(
            "session",
            "start",
            "--patient",
            patient,
            "--protocol",
            "esketamine-84",
            "--by",
            "ana",
            "--age",
            "52",
            "--meds",
            "none",
            "--at",
            ago(began),
        ).strip()
    )


def dosed(run: Run) -> int:
    sid = start(run)
    run.ok("record", str(sid), OK, "--by", "ana", "--at", ago(55))
    run.ok("session", "dose", str(sid), "--by", "ana", "--at", ago(50))
    return sid


def oxygen(run: Run, sid: int) -> int:
    out = run.ok(
        "event",
        "add",
        str(sid),
        "--kind",
        "intervention",
        "--type",
        "oxygen",
        "--by",
        "ana",
        "2 L/min by nasal cannula",
    )
    match = re.search(r"^alarm: flag (\d+) \(high\): serious event \d+ \(oxygen given\)", out, re.M)
    assert match, out
    return int(match.group(1))


def saved(run: Run, flag_id: int) -> list[tuple]:
    service = Service.open(run.db)
    try:
        with service.engine.connect() as c:
            return [
                tuple(r)
                for r in c.execute(
                    text(
                        "SELECT a.action, u.name, c.name FROM acknowledgements a "
                        "JOIN users u ON u.id = a.by_id LEFT JOIN users c ON c.id = a.cosigned_by_id "
                        "WHERE a.flag_id = :f"
                    ),
                    {"f": flag_id},
                )
            ]
    finally:
        service.close()


def test_event_add_prints_the_alarm_a_serious_event_opened(run):
    sid = dosed(run)
    oxygen(run, sid)
    out = run.ok(
        "event",
        "add",
        str(sid),
        "--kind",
        "adverse",
        "--type",
        "suicidal-thoughts",
        "--severity",
        "mild",
        "--by",
        "ana",
        "passive thoughts, voiced",
    )
    assert "adverse suicidal-thoughts (mild): passive thoughts, voiced" in out
    assert re.search(r"^alarm: flag \d+ \(high\)", out, re.M), out
    out = run.ok(
        "event",
        "add",
        str(sid),
        "--kind",
        "intervention",
        "--type",
        "antihypertensive",
        "--by",
        "ana",
        "labetalol 10 mg IV",
    )
    assert re.search(r"^alarm: flag \d+ \(medium\)", out, re.M), out
    out = run.ok(
        "event",
        "add",
        str(sid),
        "--kind",
        "adverse",
        "--type",
        "nausea",
        "--severity",
        "moderate",
        "--by",
        "ana",
        "nauseated",
    )
    assert "alarm" not in out


def test_a_nurse_alone_cannot_acknowledge_a_serious_event(run):
    sid = dosed(run)
    flag = oxygen(run, sid)
    refusal = run.refused("flag", "ack", str(flag), "--by", "ana", "--action", "sats fine")
    assert f"flag {flag} (the alarm of serious event" in refusal
    assert "needs a clinician" in refusal and "--cosign" in refusal
    assert saved(run, flag) == []


@pytest.mark.parametrize(
    ("who", "options", "said"),
    [
        ("a nurse co-signing", {"cosign": "bo", "cosign_pin": PINS["bo"]}, "must be a supervisor"),
        (
            "self co-signing",
            {"by": "sam", "cosign": "sam", "cosign_pin": PINS["sam"]},
            "must be another user than sam",
        ),
        (
            "a wrong co-signer PIN",
            {"cosign": "kim", "cosign_pin": "0000"},
            "name or PIN not accepted",
        ),
        (
            "an unknown co-signer",
            {"cosign": "nobody", "cosign_pin": "5555"},
            "name or PIN not accepted",
        ),
        (
            "a disabled co-signer",
            {"cosign": "old", "cosign_pin": PINS["old"]},
            "name or PIN not accepted",
        ),
        ("no co-signer PIN", {"cosign": "kim"}, "PIN for kim (co-signing) is needed"),
        (
            "a missing second stdin line",
            {"cosign": "kim", "stdin": "1234\n", "cosign_pin": PINS["kim"]},
            "standard input has no line for PIN for kim",
        ),
    ],
)
def test_a_co_signature_that_is_not_a_clinicians_is_refused(run, who, options, said):
    sid = dosed(run)
    flag = oxygen(run, sid)
    by = options.get("by", "ana")
    args = [
        "flag",
        "ack",
        str(flag),
        "--by",
        by,
        "--action",
        "sats fine",
        "--cosign",
        options["cosign"],
    ]
    stdin = options.get("stdin")
    if stdin is not None:
        args.append("--pin-stdin")
    refusal = run.refused(*args, stdin=stdin, cosign_pin=options.get("cosign_pin"))
    assert said in refusal, who
    assert saved(run, flag) == [], who


def test_a_wrong_co_signer_pin_is_audited_and_counted(run):
    sid = dosed(run)
    flag = oxygen(run, sid)
    for _ in range(5):
        run.refused(
            "flag",
            "ack",
            str(flag),
            "--by",
            "ana",
            "--action",
            "x",
            "--cosign",
            "kim",
            cosign_pin="0000",
        )
    # kim is now locked: even the right PIN is refused, until a supervisor unlocks her
    assert "name or PIN not accepted" in run.refused(
        "flag",
        "ack",
        str(flag),
        "--by",
        "ana",
        "--action",
        "x",
        "--cosign",
        "kim",
        cosign_pin=PINS["kim"],
    )
    trail = run.ok("audit", "--action", "auth", "--json")
    assert trail.count('"auth.refused"') >= 6 and "kim" not in trail  # withheld from all ...
    trail = run.ok("audit", "--action", "auth", "--json", "--by", "sam")
    assert "kim" in trail  # ... but a supervisor
    run.ok("user", "unlock", "kim", "--by", "sam")
    run.ok(
        "flag",
        "ack",
        str(flag),
        "--by",
        "ana",
        "--action",
        "x",
        "--cosign",
        "kim",
        cosign_pin=PINS["kim"],
    )


def test_a_supervisor_co_signs_by_environment_or_the_second_stdin_line(run):
    sid = dosed(run)
    first, second = oxygen(run, sid), oxygen(run, sid)
    out = run.ok(
        "flag",
        "ack",
        str(first),
        "--by",
        "ana",
        "--action",
        "sats 97 on air",
        "--cosign",
        "sam",
        cosign_pin=PINS["sam"],
    )
    assert f"flag {first} acknowledged by ana, co-signed by sam: sats 97 on air" in out
    assert "may continue toward discharge" in out
    out = run.ok(
        "flag",
        "ack",
        str(second),
        "--by",
        "ana",
        "--action",
        "oxygen stopped",
        "--cosign",
        "kim",
        "--pin-stdin",
        stdin=f"{PINS['ana']}\n{PINS['kim']}\n",
    )
    assert "co-signed by kim" in out
    assert saved(run, first) == [("sats 97 on air", "ana", "sam")]
    assert saved(run, second) == [("oxygen stopped", "ana", "kim")]
    assert "already acknowledged" in run.refused(
        "flag", "ack", str(first), "--by", "sam", "--action", "again"
    )


def test_a_supervisor_acknowledges_alone(run):
    sid = dosed(run)
    flag = oxygen(run, sid)
    out = run.ok("flag", "ack", str(flag), "--by", "sam", "--action", "reviewed")
    assert f"flag {flag} acknowledged by sam: reviewed" in out
    assert saved(run, flag) == [("reviewed", "sam", None)]


def test_a_before_dosing_flag_needs_a_clinician(run):
    sid = start(run)
    shown = run.ok(
        "record",
        str(sid),
        "156/96 hr 70 spo2 98 moaas 5 cadss 0",
        "--by",
        "ana",
        "--at",
        ago(55),
        "--json",
    )
    flags = [f["id"] for f in json.loads(shown)["flags"]]
    assert flags
    refusal = run.refused("flag", "ack", str(flags[0]), "--by", "ana", "--action", "reviewed")
    assert f"flag {flags[0]} (a before-dosing flag) needs a clinician" in refusal
    assert saved(run, flags[0]) == []
    out = run.ok(
        "flag",
        "ack",
        str(flags[0]),
        "--by",
        "ana",
        "--action",
        "reviewed by Dr K",
        "--cosign",
        "sam",
        cosign_pin=PINS["sam"],
    )
    assert "co-signed by sam" in out and "serious event" not in out
    # after dosing, a nurse acknowledges alone
    for f in flags[1:]:
        run.ok("flag", "ack", str(f), "--by", "sam", "--action", "reviewed")
    run.ok("session", "dose", str(sid), "--by", "ana", "--at", ago(50))
    low = json.loads(run.ok("record", str(sid), "85/50 hr 70", "--by", "ana", "--json"))
    out = run.ok("flag", "ack", str(low["flags"][0]["id"]), "--by", "bo", "--action", "fluids")
    assert "acknowledged by bo: fluids" in out


def test_dose_and_discharge_check_the_co_signers_pin(run):
    sid = start(run)
    refusal = run.refused(
        "session",
        "dose",
        str(sid),
        "--by",
        "ana",
        "--override-reason",
        "baseline on paper",
        "--cosign",
        "sam",
        cosign_pin="0000",
    )
    assert "name or PIN not accepted" in refusal
    out = run.ok(
        "session",
        "dose",
        str(sid),
        "--by",
        "ana",
        "--override-reason",
        "baseline on paper",
        "--cosign",
        "sam",
        "--pin-stdin",
        stdin=f"{PINS['ana']}\n{PINS['sam']}\n",
    )
    assert "dosed at" in out
    refusal = run.refused(
        "session",
        "discharge",
        str(sid),
        "--by",
        "ana",
        "--override-reason",
        "left",
        "--cosign",
        "kim",
        "--pin-stdin",
        stdin=f"{PINS['ana']}\n",
    )
    assert "no line for PIN for kim" in refusal
    assert run.ok("session", "show", str(sid), "--json").count('"discharged_at": null') == 1


def test_raw_sql_cannot_rewrite_an_alarm_or_its_co_signature(run):
    sid = dosed(run)
    flag = oxygen(run, sid)
    run.ok(
        "flag",
        "ack",
        str(flag),
        "--by",
        "ana",
        "--action",
        "fine",
        "--cosign",
        "sam",
        cosign_pin=PINS["sam"],
    )
    service = Service.open(run.db)
    try:
        for sql in (
            f"UPDATE flags SET severity = 'low' WHERE id = {flag}",
            f"UPDATE flags SET event_id = NULL WHERE id = {flag}",
            f"DELETE FROM flags WHERE id = {flag}",
            f"UPDATE acknowledgements SET cosigned_by_id = NULL WHERE flag_id = {flag}",
            f"DELETE FROM acknowledgements WHERE flag_id = {flag}",
        ):
            with pytest.raises(Exception, match="append-only"), service.engine.begin() as c:
                c.execute(text(sql))
    finally:
        service.close()
    assert saved(run, flag) == [("fine", "ana", "sam")]
