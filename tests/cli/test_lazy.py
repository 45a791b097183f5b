"""The command line's root group loads each command group from the module its registry names."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from monitor.cli.lazy import LazyGroup, load
from monitor.cli.root import COMMANDS, cli, make_cli


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_registered_command_loads_under_its_own_name(name):
    command = cli.get_command(click.Context(cli), name)
    assert isinstance(command, click.Command)
    assert command.name == name


def test_the_station_commands_are_added_by_name_and_the_headless_root_has_none():
    station = make_cli({"tui": "tui.launch:tui_command", "serve": "tui.serve:serve_command"})
    assert isinstance(station, LazyGroup)
    assert {"tui", "serve"} <= set(station.list_commands(click.Context(station)))
    assert not {"tui", "serve"} & set(cli.list_commands(click.Context(cli)))


def test_a_command_imports_its_own_module_and_no_other_command_group():
    code = (
        "import sys\n"
        "from monitor.cli import main\n"
        "try:\n"
        "    main(['record', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(n for n in sys.modules if n.startswith('monitor.cli.')), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(done.stderr.split())
    assert "monitor.cli.readings" in loaded
    assert not loaded & {f"monitor.cli.{m}" for m in ("session", "review", "rems", "export")}


def test_load_finds_the_attribute_a_reference_names():
    assert load("monitor.cli.root:COMMANDS") is COMMANDS
