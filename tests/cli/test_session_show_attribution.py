"""`monitor session show` and `session show --json` say who did what (issue #19, item 9;
docs/interface.md, "session show --json", revision 3), through the command line on both
backends: who started, dosed and overrode the dosing gate, ended the infusion, discharged by
override, entered a reading after discharge and signed off."""

from __future__ import annotations

from tests.cli.test_cli import Cli, ago, cli

__all__ = ["cli"]  # the fixture, used here by name

FULL = "124/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0"


def test_session_show_says_who_did_what(cli: Cli):
    sid = cli(
        "session",
        "start",
        "--patient",
        "MRN-CLI",
        "--protocol",
        "ketamine-iv",
        "--by",
        "ana",
        "--age",
        "45",
        "--at",
        ago(90),
    ).stdout.strip()
    # A supervisor doses without a baseline: the override is theirs, no co-signer needed.
    cli(
        "session",
        "dose",
        sid,
        "--by",
        "sam",
        "--at",
        ago(80),
        "--override-reason",
        "baseline cuff failed",
    )
    cli("record", sid, FULL, "--by", "ana", "--at", ago(60))
    cli("session", "infusion-end", sid, "--by", "ana", "--at", ago(40))
    cli("record", sid, FULL, "--by", "ana", "--at", ago(20))
    cli(
        "session",
        "discharge",
        sid,
        "--by",
        "sam",
        "--override-reason",
        "transfer",
        "--escort",
        "partner",
        "--instructions-given",
    )
    # Measured before the discharge, saved after it.
    cli("record", sid, "spo2 97", "--by", "ana", "--at", ago(5))
    shown = cli.json("session", "show", sid)
    assert shown["started_by"] == "ana"
    assert (shown["dosed_by"], shown["dose_override_by"]) == ("sam", "sam")
    assert shown["dose_override_cosigned_by"] is None
    assert shown["config_version"] == 1
    assert shown["infusion_end"]["by"] == "ana" and shown["infusion_end"]["corrections"] == []
    assert shown["infusion_end"]["at"] == shown["infusion_ended_at"]
    assert shown["minutes_monitored"] in (79, 80)  # dosed 80 min ago, discharged now
    discharge = shown["discharge"]
    assert (discharge["by"], discharge["override_by"], discharge["cosigned_by"]) == (
        "sam",
        "sam",
        None,
    )
    assert discharge["ended_early"] is True
    assert discharge["gate_at_discharge"]["config_version"] == 1
    entered = [r["entered_after_discharge"] for r in shown["readings"]]
    assert entered == [False, False, True]
    assert all(r["validated"]["by"] == "ana" and r["source"] == "typed" for r in shown["readings"])
    text = cli("session", "show", sid).stdout
    assert "by sam (dosing gate overridden by sam: baseline cuff failed)" in text
    assert "Gate overridden by sam: transfer" in text
    assert "Observation ended early" in text
    assert "ENTERED AFTER DISCHARGE by ana" in text
    assert "Gate judged again on the record as it is now" in text
    assert "dosed by sam" in text and "infusion end by ana" in text
