"""A poisoned row on the command line (issue #20, item 6; docs/storage.md, "Unreadable
records"): `review list`, `report`, `session show`, `session list`, `audit`, `rems` and every
export run to the end with exit 0, list the poisoned session and name what could not be read;
no traceback, on both backends. The rows are poisoned as the database's owner with the helpers
of tests/services/test_unreadable.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from monitor.store.engine import make_engine
from tests.cli.test_cli import Cli, with_sam_and_ana
from tests.services.test_unreadable import (
    forge_discharge,
    insert_audit,
    insert_flag,
    insert_session,
    stored_gate,
)

FULL = "124/80 hr 70 spo2 98 moaas 5 cadss 0"


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="seconds")


def observed(cli: Cli, patient: str) -> int:
    """A dosed esketamine-84 session with a baseline and a reading at +40 min."""
    sid = int(
        cli(
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
            ago(140),
        ).stdout
    )
    cli("record", str(sid), FULL, "--by", "ana", "--at", ago(135))
    cli("session", "dose", str(sid), "--by", "ana", "--at", ago(130))
    cli("record", str(sid), FULL, "--by", "ana", "--at", ago(90))
    return sid


@pytest.fixture
def cli(db_url) -> Cli:
    return with_sam_and_ana(Cli(db_url))


@pytest.fixture
def poisoned(cli, db_url):
    """A clean discharged session; one discharged with a forged gate without ``protocol``;
    an active one with a flag of an unknown severity; one of an unknown protocol; an audit row
    that is not JSON."""
    clean = observed(cli, "CLEAN")
    cli(
        "session",
        "discharge",
        str(clean),
        "--by",
        "sam",
        "--override-reason",
        "left early, informed",
        "--escort",
        "partner",
        "--instructions-given",
        "--at",
        ago(85),
    )
    engine = make_engine(db_url)
    try:
        gate = stored_gate(engine, clean)
        del gate["config"]["protocol"]
        forged = observed(cli, "FORGED")
        forge_discharge(
            engine, forged, json.dumps(gate), at=datetime.now(UTC) - timedelta(minutes=80)
        )
        flagged = observed(cli, "FLAGGED")
        reading = cli.json("session", "show", str(flagged))["readings"][-1]["id"]
        flag = insert_flag(engine, reading, "critical")
        odd = insert_session(engine, "ODD", "esketamine-999", at=datetime.now(UTC))
        audit = insert_audit(engine, clean, None, "not json")
    finally:
        engine.dispose()
    return {
        "clean": clean,
        "forged": forged,
        "flagged": flagged,
        "flag": flag,
        "odd": odd,
        "audit": audit,
    }


def clean_run(cli: Cli, *args: str):
    result = cli(*args)
    assert "Traceback" not in result.stderr
    return result


def test_review_list_lists_the_poisoned_session_and_names_its_gate(cli, poisoned):
    out = clean_run(cli, "review", "list").stdout
    forged = poisoned["forged"]
    assert f"  UNREADABLE: session {forged}: stored gate unreadable (no 'protocol')" in out
    lines = out.splitlines()
    assert lines[
        lines.index(f"  UNREADABLE: session {forged}: stored gate unreadable (no 'protocol')") - 1
    ].startswith(f"{forged}\t")
    rows = {row["id"]: row for row in cli.json("review", "list")}
    assert set(rows) == {poisoned["clean"], forged}
    assert rows[forged]["unreadable"] == [
        f"session {forged}: stored gate unreadable (no 'protocol')"
    ]
    assert rows[poisoned["clean"]]["unreadable"] == []


def test_report_counts_the_period_and_names_the_unreadable(cli, poisoned):
    out = clean_run(cli, "report", "--from", ago(60 * 24), "--to", "now").stdout
    assert "Sessions: 2" in out
    assert "Unreadable records: 1: the figures count the rest" in out
    assert f"session {poisoned['forged']}: stored gate unreadable (no 'protocol')" in out
    doc = cli.json("report", "--from", ago(60 * 24), "--to", "now")
    assert doc["unreadable"] == [
        f"session {poisoned['forged']}: stored gate unreadable (no 'protocol')"
    ]


def test_session_show_shows_what_is_readable_and_names_the_rest(cli, poisoned):
    forged = poisoned["forged"]
    out = clean_run(cli, "session", "show", str(forged)).stdout
    assert f"UNREADABLE: session {forged}: stored gate unreadable (no 'protocol')" in out
    assert "Gate at discharge: stored, UNREADABLE (no 'protocol')." in out
    assert out.count(FULL.split()[0]) == 2  # both readings
    doc = cli.json("session", "show", str(forged))
    assert doc["discharge"]["gate_at_discharge"] == {"unreadable": "no 'protocol'"}
    assert len(doc["readings"]) == 2 and doc["checks"]

    flagged = cli.json("session", "show", str(poisoned["flagged"]))
    flag = next(f for r in flagged["readings"] for f in r["flags"] if f["id"] == poisoned["flag"])
    assert flag["severity"] == "high" and "severity unreadable" in flag["unreadable"]
    out = clean_run(cli, "session", "show", str(poisoned["flagged"])).stdout
    assert "!!! severity UNREADABLE ('critical' is not a valid Severity; taken as high)" in out

    odd = cli.json("session", "show", str(poisoned["odd"]))
    assert odd["checks"] == [] and odd["discharge"]["ready"] is False
    assert "unknown protocol 'esketamine-999'" in odd["unreadable"][0]


def test_lists_of_sessions_and_forms_load(cli, poisoned):
    ids = {row["id"] for row in cli.json("session", "list")}
    assert set(poisoned.values()) - {poisoned["flag"], poisoned["audit"]} <= ids
    clean_run(cli, "session", "list", "--active")
    clean_run(cli, "rems")
    clean_run(cli, "rems", "show", str(poisoned["forged"]))


def test_the_audit_shows_a_row_that_is_not_json_and_names_it(cli, poisoned):
    row = poisoned["audit"]
    out = clean_run(cli, "audit").stdout
    assert f"UNREADABLE: audit row {row}: after unreadable (not JSON)" in out
    lines = [json.loads(line) for line in cli("audit", "--json").stdout.splitlines()]
    found = next(line for line in lines if line["id"] == row)
    assert found["after"] == "not json"
    assert found["unreadable"] == [f"audit row {row}: after unreadable (not JSON)"]


@pytest.mark.parametrize("fmt", ["json", "csv", "fhir", "pdf"])
def test_every_export_writes_every_session_and_warns_of_each_unreadable_value(
    cli, poisoned, tmp_path, fmt
):
    target = tmp_path / f"out.{fmt}"
    result = clean_run(
        cli, "export", "--from", ago(60 * 24), "--to", "now", "--format", fmt, "-o", str(target)
    )
    assert result.stdout.startswith("exported 4 sessions")
    warnings = result.stderr.splitlines()
    assert all(
        w.startswith("warning: ") and w.endswith(": exported marked UNREADABLE") for w in warnings
    )
    flag = f"warning: flag {poisoned['flag']}: severity unreadable"
    assert any(w.startswith(flag) for w in warnings)
    if fmt != "csv":  # the CSV of readings holds no gate
        assert (
            f"warning: session {poisoned['forged']}: stored gate unreadable (no 'protocol'): exported marked UNREADABLE"
            in warnings
        )
        assert any(f"session {poisoned['odd']}: schedule unreadable" in w for w in warnings)
    assert target.stat().st_size > 0


def test_a_session_that_cannot_be_judged_is_refused_with_one_error_line(cli, poisoned):
    line = cli.refused(
        "session",
        "discharge",
        str(poisoned["odd"]),
        "--by",
        "sam",
        "--override-reason",
        "gone",
        "--escort",
        "partner",
        "--instructions-given",
    )
    assert "cannot be judged: its schedule is unreadable (unknown protocol" in line
