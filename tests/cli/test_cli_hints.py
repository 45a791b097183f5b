"""The command line says what to type (issue #21): a global option given after the command, a
time in any form the station takes (HH:MM too) with the same words everywhere, every time
option's help listing those forms, and the demo's defaults and PINs shown before the station."""

from __future__ import annotations

import io
import os
import re
import sys
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime, timedelta

import click
import pytest

from monitor.cli.root import cli as headless
from monitor.timeforms import TIME_FORMS
from tests.cli.test_cli import Cli, ago, start
from tests.cli.test_cli import cli as cli  # the fixture


def run(args: list[str], root: click.Group | None = None, stdin: io.StringIO | None = None):
    """``monitor ARGS`` in this process (``root``: the headless command line by default):
    exit status, stdout and stderr."""
    from monitor.cli.root import main

    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = stdin or io.StringIO("")
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(args, root)
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    finally:
        sys.stdin = saved
    return code, out.getvalue(), err.getvalue()


# -- global options after the command ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["session", "list", "--db", "x.db"],
            "error: --db is a global option: put it before the command: "
            "monitor --db x.db session list",
        ),
        (
            ["session", "dose", "5", "--by", "ana", "--config=c.toml"],
            "error: --config is a global option: put it before the command: "
            "monitor --config=c.toml session dose 5 --by ana",
        ),
        (
            ["--db", "x.db", "record", "3", "120/80", "--version"],
            "error: --version is a global option: put it before the command: "
            "monitor --db x.db --version record 3 120/80",
        ),
        (
            ["audit", "--db", "postgresql+psycopg://clinic:s3cret@db/monitor"],
            "error: --db is a global option: put it before the command: "
            "monitor --db postgresql+psycopg://clinic:***@db/monitor audit",
        ),
        (["session", "list", "--json", "--db"], "monitor --db VALUE session list --json"),
    ],
)
def test_a_global_option_after_the_command_says_to_put_it_before(args, says):
    code, out, err = run(args)
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [err.strip()]  # one line
    assert says in err.strip(), err


def test_serve_with_db_after_it_says_where_db_goes():
    from tui.launch import cli as station

    code, _, err = run(["serve", "--db", "x"], station)
    assert code == 2
    assert err.strip() == (
        "error: --db is a global option: put it before the command: monitor --db x serve"
    )


def test_an_option_unknown_everywhere_is_still_no_such_option():
    code, _, err = run(["session", "list", "--bogus"])
    assert code == 2 and err.startswith("error: No such option") and "global" not in err


# -- times ---------------------------------------------------------------------------------------


def time_options() -> list[tuple[str, click.Option]]:
    """Every option of the command line that takes a time: (command path, option)."""
    found = []

    def walk(command: click.Command, path: str) -> None:
        if isinstance(command, click.Group):
            context = click.Context(command)
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None
                walk(sub, f"{path} {name}".strip())
            return
        for param in command.params:
            if isinstance(param, click.Option) and (
                param.name in ("at", "dosed_at", "since", "until")
            ):
                found.append((path, param))

    walk(headless, "")
    return found


def test_every_time_option_lists_the_same_forms_in_its_help():
    options = time_options()
    names = {f"{path} {param.opts[0]}" for path, param in options}
    for expected in (
        "record --at",
        "amend --at",
        "session start --at",
        "session start --dosed-at",
        "session dose --at",
        "session infusion-end --at",
        "session discharge --at",
        "event add --at",
        "audit --from",
        "review list --to",
    ):
        assert expected in names, names
    for path, param in options:
        assert TIME_FORMS in (param.help or ""), f"{path} {param.opts[0]}: {param.help}"


def test_record_takes_a_time_of_day(cli):
    sid = start(cli, "--at", ago(20))
    clock = (datetime.now() - timedelta(minutes=3)).strftime("%H:%M")  # local, as typed
    out = cli("record", str(sid), "120/80", "--by", "ana", "--at", clock, "--json").stdout
    measured = datetime.fromisoformat(re.search(r'"measured_at": "([^"]+)"', out)[1])
    assert measured.astimezone().strftime("%H:%M") == clock


def test_a_time_that_cannot_be_read_is_refused_in_the_same_words_everywhere(cli):
    sid = start(cli, "--at", ago(20))
    says = f"error: time 'noon' is not understood: give {TIME_FORMS}"
    assert cli.refused("record", str(sid), "120/80", "--by", "ana", "--at", "noon") == says
    assert cli.refused("session", "dose", str(sid), "--by", "ana", "--at", "noon") == says
    assert cli.refused("audit", "--from", "noon") == says
    batch = cli("record", str(sid), "--stdin", "--by", "ana", stdin="120/80 @ noon\n", ok=False)
    assert says.removeprefix("error: ") in batch.stdout + batch.stderr


def test_a_time_of_day_later_than_now_is_refused_saying_what_to_type(cli):
    sid = start(cli, "--at", ago(20))
    later = datetime.now() + timedelta(minutes=30)
    if later.date() != datetime.now().date():
        pytest.skip("30 min from now is tomorrow: the case is tested in tests/core")
    refusal = cli.refused(
        "record", str(sid), "120/80", "--by", "ana", "--at", later.strftime("%H:%M")
    )
    assert "is later than now" in refusal and "try again" not in refusal


# -- demo ----------------------------------------------------------------------------------------


def test_demo_help_says_which_of_fresh_and_keep_is_the_default():
    code, out, _ = run(["demo", "--help"])
    assert code == 0
    assert "--fresh (the default)" in " ".join(out.split())


#: What the demo had printed when the station opened (the fake station below).
SHOWN_BEFORE_THE_STATION: list[str] = []


def fake_station(context) -> None:
    """A station that notes what was on the terminal when it opened."""
    SHOWN_BEFORE_THE_STATION.append(sys.stdout.getvalue())


class Terminal(io.StringIO):
    """Keys typed at a terminal."""

    def isatty(self) -> bool:
        return True


def test_demo_open_shows_users_and_pins_and_waits_for_enter_before_the_station(tmp_path):
    from monitor.cli.root import make_cli

    SHOWN_BEFORE_THE_STATION.clear()
    station = make_cli(station="tests.cli.test_cli_hints:fake_station")
    db = str(tmp_path / "demo.db")
    code, out, err = run(["--db", db, "demo", "--open"], station, stdin=Terminal("\n"))
    assert code == 0, err
    [shown] = SHOWN_BEFORE_THE_STATION
    for line in ("ana   nurse      1111", "sam   supervisor 9999", f"Database: {db}"):
        assert line in shown
    assert "Press Enter to open the station" in shown
    # Scripts sign in with the first PIN-like number of the demo's output: ana's.
    assert re.search(r"\b[0-9]{4,12}\b", out)[0] == "1111"


def test_demo_open_stopped_at_the_prompt_opens_nothing(tmp_path):
    from monitor.cli.root import make_cli

    SHOWN_BEFORE_THE_STATION.clear()
    station = make_cli(station="tests.cli.test_cli_hints:fake_station")
    code, out, _ = run(["--db", str(tmp_path / "d.db"), "demo", "--open"], station, Terminal(""))
    assert code == 0 and "1111" in out
    assert SHOWN_BEFORE_THE_STATION == []


def test_the_first_pin_in_the_demo_output_is_the_first_users_even_with_digits_in_the_path(
    tmp_path,
):
    folder = tmp_path / "20261127"
    folder.mkdir()
    run_cli = Cli(str(folder / "demo.db"))
    out = run_cli("demo").stdout
    assert re.search(r"\b[0-9]{4,12}\b", out)[0] == "1111", out
    assert os.path.exists(folder / "demo.db")
