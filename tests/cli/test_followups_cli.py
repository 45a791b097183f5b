"""Issue #21's follow-ups on the command line: `record` and `amend` take `ENTRY @ TIME` as the
station's entry line and `record --stdin` lines do, refuse a time given both with `@` and
`--at`, and refuse a `@` with no time after it; on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.timeparse import parse_time
from tests.cli.test_cli import OK_ENTRY, Cli, ago, baseline_and_dose, start
from tests.cli.test_cli import cli as cli  # the fixture: a database with sam and ana


def _clock(minutes_ago: int) -> tuple[str, datetime]:
    """A local ``HH:MM`` a few minutes back, and the instant the parser makes of it."""
    now = datetime.now(UTC)
    typed = (now - timedelta(minutes=minutes_ago)).astimezone().strftime("%H:%M")
    return typed, parse_time(typed, now)


def _measured(reading: dict) -> datetime:
    return datetime.fromisoformat(reading["measured_at"]).astimezone(UTC)


def test_record_takes_the_time_after_an_at_sign_as_the_entry_line_does(cli: Cli):
    sid = start(cli, "--at", ago(80))
    baseline_and_dose(cli, sid, 62)
    typed, expected = _clock(4)
    reading = cli.json("record", str(sid), f"hr 71 @ {typed}", "--by", "ana")
    assert reading["heart_rate"] == 71, reading
    assert _measured(reading) == expected
    # The shell may split it: the same line.
    reading = cli.json("record", str(sid), "hr", "72", "@", "3 min ago", "--by", "ana")
    assert reading["heart_rate"] == 72
    out = cli("record", str(sid), f"spo2 97 @ {typed}", "--by", "ana").stdout
    assert f"at {expected.astimezone():%Y-%m-%d %H:%M}: spo2 97" in out.splitlines()[0]


def test_a_time_given_with_at_sign_and_at_option_is_refused_in_one_line(cli: Cli):
    sid = start(cli, "--at", ago(80))
    baseline_and_dose(cli, sid, 62)
    message = cli.refused("record", str(sid), "hr 71 @ 5 min ago", "--by", "ana", "--at", "now")
    assert message == (
        "error: the time is given twice, '@ 5 min ago' in the entry and --at 'now': "
        "keep one of them"
    )
    message = cli.refused("record", str(sid), "hr 71 @", "--by", "ana")
    assert "'@' needs a time after it" in message
    lines = "hr 73 @\nhr 74 @ 2 min ago\n"
    result = cli("record", str(sid), "--stdin", "--by", "ana", stdin=lines, ok=False)
    assert result.returncode == 2
    out = result.stdout.splitlines()
    assert out[0].startswith("line 1: refused: '@' needs a time after it"), out
    assert out[1].startswith("line 2: reading ") and out[1].endswith(": hr 74"), out
    hrs = [r["heart_rate"] for r in cli.json("session", "show", str(sid))["readings"]]
    assert 73 not in hrs and 74 in hrs


def test_amend_takes_the_corrected_time_after_an_at_sign(cli: Cli):
    sid = start(cli, "--at", ago(80))
    baseline_and_dose(cli, sid, 62)
    first = cli.json("record", str(sid), OK_ENTRY, "--by", "ana", "--at", ago(10))
    typed, expected = _clock(12)
    amended = cli.json(
        "amend", str(first["id"]), f"spo2 97 @ {typed}", "--by", "ana", "--reason", "time typo"
    )
    assert amended["spo2"] == 97 and _measured(amended) == expected
    message = cli.refused(
        "amend",
        str(amended["id"]),
        f"spo2 96 @ {typed}",
        "--by",
        "ana",
        "--reason",
        "again",
        "--at",
        "11 min ago",
    )
    assert message.startswith("error: the time is given twice"), message
