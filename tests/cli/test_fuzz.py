"""No input, however strange, crashes a command or the station's entry line: every command's
arguments and the entry line driven with arbitrary text (hypothesis). A command ends with
exit status 0, 1 or 2 and never a traceback; the entry line refuses with a message."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.core.entry import parse_entry
from monitor.errors import Refused
from monitor.services import Service
from monitor.timeparse import parse_time, split_entry_time
from tests.cli.test_cli import PINS, run_in_process

NASTY = [
    "",
    " ",
    "\x00",
    "\x1b[2J",
    "\udcff\udcfe",  # invalid UTF-8 bytes as argv carries them (surrogateescape)
    "𝟏",
    "١٢٠",
    "-1",
    "0",
    "99999999999999999999",
    "1e309",
    "nan",
    "x" * 10_000,
    "line\nbreak",
    "0001-01-01",
    "9999-12-31T23:59-05:00",
    "--by",
]
TEXT = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))

#: Every command that takes user input, with ``{}`` where the fuzzed text goes.
COMMANDS = [
    ["session", "start", "--patient", "{}", "--protocol", "ketamine-im", "--by", "ana"],
    ["session", "start", "--patient", "P", "--protocol", "{}", "--by", "ana"],
    [
        "session",
        "start",
        "--patient",
        "P",
        "--protocol",
        "esketamine-56",
        "--by",
        "ana",
        "--age",
        "{}",
        "--meds",
        "{}",
    ],
    [
        "session",
        "start",
        "--patient",
        "P",
        "--protocol",
        "ketamine-iv",
        "--by",
        "ana",
        "--dose-mg",
        "{}",
        "--weight-kg",
        "{}",
        "--at",
        "{}",
        "--bay",
        "{}",
        "--lot",
        "{}",
    ],
    ["session", "dose", "{}", "--by", "ana", "--at", "{}", "--override-reason", "{}"],
    ["session", "infusion-end", "{}", "--by", "ana", "--at", "{}"],
    ["session", "show", "{}"],
    [
        "session",
        "discharge",
        "1",
        "--by",
        "ana",
        "--at",
        "{}",
        "--override-reason",
        "{}",
        "--escort",
        "{}",
        "--ready-minute",
        "{}",
    ],
    ["record", "1", "{}", "--by", "ana"],
    ["record", "1", "120/80", "--by", "{}"],
    ["record", "1", "120/80", "--by", "ana", "--at", "{}", "--key", "{}"],
    ["amend", "{}", "{}", "--by", "ana", "--reason", "{}", "--at", "{}"],
    ["void", "{}", "--by", "ana", "--reason", "{}"],
    [
        "event",
        "add",
        "1",
        "--kind",
        "adverse",
        "--type",
        "{}",
        "--severity",
        "mild",
        "--by",
        "ana",
        "{}",
    ],
    ["check", "skip", "1", "{}", "--by", "ana", "--reason", "{}"],
    ["flag", "ack", "{}", "--by", "ana", "--action", "{}"],
    ["review", "sign", "{}", "--by", "sam"],
    ["review", "reopen", "{}", "--by", "sam", "--reason", "{}"],
    ["user", "unlock", "{}", "--by", "sam"],
    ["audit", "{}"],
    ["audit", "{}", "--from", "{}", "--to", "{}", "--limit", "{}", "--json"],
    ["session", "list", "--active", "--from", "{}", "--to", "{}", "--limit", "{}"],
    ["review", "list", "--from", "{}", "--to", "{}", "--nurse", "{}", "--limit", "{}"],
    ["review", "list", "--protocol", "{}", "--late", "--late-entries", "--json"],
    ["report", "--from", "{}", "--to", "{}", "--json"],
    ["{}"],
]


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    service = Service.open(str(path))
    service.add_user("sam", "supervisor", PINS["sam"])
    service.add_user("ana", "nurse", PINS["ana"], by="sam")
    sid = service.start_session(patient="F1", protocol="ketamine-im", by="ana")
    service.record_reading(sid, "85/50 hr 70", by="ana")
    service.close()
    return str(path)


@pytest.mark.parametrize("template", COMMANDS, ids=lambda t: " ".join(t[:2]))
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_argument_ends_in_0_1_or_2_without_a_traceback(database, template, data):
    args = [data.draw(TEXT) if part == "{}" else part for part in template]
    by = template[template.index("--by") + 1] if "--by" in template else None
    env = {
        "MONITOR_DB": database,
        "MONITOR_PIN": PINS.get(by or "", "0000"),
        "TZ": "UTC",
        "MONITOR_SECRET_FILE": os.environ["MONITOR_SECRET_FILE"],
    }
    result = run_in_process(args, None, env)  # an exception here fails the test
    assert result.returncode in (0, 1, 2), (args, result)
    assert "Traceback" not in result.stderr
    if result.returncode:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)


@settings(max_examples=300, deadline=None)
@given(line=TEXT)
def test_the_entry_line_refuses_anything_it_cannot_take(line):
    """What the station's entry line does with a typed line (tui/floor/entry.py), headless."""
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    try:
        entry, when_text = split_entry_time(line)
        if when_text:
            parse_time(when_text, now)
        parse_entry(entry)
    except Refused:
        pass
