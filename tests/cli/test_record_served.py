"""`monitor record` says which check a reading served and which earlier checks remain not done;
a voided reading's recheck reads cancelled; an early override discharge's checks read
"observation ended early (override)" and are counted apart in `monitor report` (clinical
revision 3, docs/clinical.md "Check windows and statuses"), on both databases."""

from __future__ import annotations

from datetime import datetime

from tests.cli.test_cli import OK_ENTRY, Cli, ago, baseline_and_dose, start
from tests.cli.test_cli import cli as cli  # the fixture: a database with sam and ana


def test_record_prints_the_check_a_reading_served_and_the_checks_left_not_done(cli: Cli):
    sid = start(cli, "--at", ago(80))
    baseline_and_dose(cli, sid, 62)
    out = cli("record", str(sid), OK_ENTRY, "--by", "ana", "--at", ago(10)).stdout.splitlines()
    # +52: a full set, the +40 check done late (pass 2: the nearest late check, not +30).
    assert out[1] == "  no flags"
    assert out[2:] == [
        "  served +40 min (done late)",
        "  not done: +15 min (missed), +30 min (missed)",
    ]
    out = cli("record", str(sid), "rr 14", "--by", "ana", "--at", ago(9)).stdout.splitlines()
    assert out[2] == "  served no scheduled check"
    out = cli("record", str(sid), "spo2 97", "--by", "ana", "--at", ago(1)).stdout.splitlines()
    assert out[2] == "  served +60 min (still needs moaas)"
    shown = cli.json("session", "show", str(sid))
    checks = {c["label"]: (c["status"], c["late"]) for c in shown["checks"]}
    assert checks["+40 min"] == ("done", True)
    assert checks["+30 min"] == ("missed", False)


def test_record_stdin_adds_the_served_check_to_the_result_line(cli: Cli):
    sid = start(cli, "--at", ago(80))
    baseline_and_dose(cli, sid, 62)
    lines = "moaas 5 spo2 98 @ 2 min ago\nrr 14\n"
    out = cli("record", str(sid), "--stdin", "--by", "ana", stdin=lines).stdout.splitlines()
    assert out[0].startswith("line 1: reading ") and out[0].endswith(
        ": spo2 98 moaas 5  served +60 min"
    )
    assert out[1].startswith("line 2: reading ") and out[1].endswith(": rr 14")


def test_a_recheck_survives_a_correction_and_a_void_cancels_it(cli: Cli):
    sid = start(cli, "--at", ago(80))
    baseline_and_dose(cli, sid, 62)
    flagged = cli.json("record", str(sid), "182/96 hr 80", "--by", "ana", "--at", ago(22))
    out = cli(
        "amend", str(flagged["id"]), "128/80", "--by", "ana", "--reason", "typed 182 for 128"
    ).stdout
    assert "no flags" in out
    text = cli("session", "show", str(sid)).stdout
    [line] = [row for row in text.splitlines() if "BP recheck +55 min" in row]
    assert line.split()[-3] == "due"  # +55, now +62: still asked of the nurse
    other = cli.json("record", str(sid), "184/96 hr 80", "--by", "ana", "--at", ago(5))
    cli("void", str(other["id"]), "--by", "ana", "--reason", "wrong patient")
    text = cli("session", "show", str(sid)).stdout
    [line] = [row for row in text.splitlines() if "BP recheck +72 min" in row]
    assert "cancelled: reading voided" in line
    shown = cli.json("session", "show", str(sid))
    assert not any("+72" in alarm["message"] for alarm in shown["alarms"])
    statuses = {c["label"]: c["status"] for c in shown["checks"]}
    assert statuses["BP recheck +55 min"] == "due"  # the corrected reading's, still listed


def test_an_early_override_discharge_reads_ended_early_and_counts_apart(cli: Cli):
    sid = start(cli, "--at", ago(80))
    baseline_and_dose(cli, sid, 62)
    cli("record", str(sid), OK_ENTRY, "--by", "ana", "--at", ago(22))
    cli(
        "session",
        "discharge",
        str(sid),
        "--by",
        "sam",
        "--override-reason",
        "patient insisted on leaving",
        "--escort",
        "husband",
        "--instructions-given",
    )
    shown = cli.json("session", "show", str(sid))
    statuses = {c["label"]: c["status"] for c in shown["checks"]}
    assert "upcoming" not in statuses.values()
    assert statuses["+90 min"] == statuses["+120 min"] == "not_reached"
    assert statuses["+40 min"] == "done"
    text = cli("session", "show", str(sid)).stdout
    [line] = [row for row in text.splitlines() if row.strip().startswith("+120 min")]
    assert "observation ended early (override)" in line
    out = datetime.fromisoformat(shown["discharge"]["discharged_at"])
    day = out.astimezone().date().isoformat()
    report = cli.json("report", "--from", day, "--to", day)["checks"]
    assert report["ended_early"] == 2 and report["open_at_discharge"] == 2
    assert report["missed"] == 3  # +15, +30 and +60 (due when the patient left)
    assert report["total"] == report["on_time"] + report["late"] + report["missed"] + 2
