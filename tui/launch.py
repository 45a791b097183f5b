"""The ``monitor`` console script: the headless command line plus the station.

``monitor`` and ``monitor tui`` open the station, ``monitor serve`` serves it to browsers
(:mod:`tui.serve`); every other command is :mod:`monitor.cli`'s. Living here keeps the
dependency one way: the TUI imports the product, the product never imports the TUI. The
station's commands are named as strings and loaded when used, as the product's are.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from monitor.cli import main as headless_main
from monitor.cli import make_cli
from monitor.cli.output import Context, pass_context
from monitor.errors import Refused


def needs_terminal() -> str | None:
    """Why the station cannot open here, if it cannot: it draws on a terminal and reads keys
    from it (a station started from a script or a pipe would wait for keys no one can type).
    A station in a browser (``monitor serve``) runs on textual-serve's driver instead."""
    if os.environ.get("TEXTUAL_DRIVER"):
        return None
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return (
            "the station needs a terminal (standard input and output are not one here); "
            "for scripts use the commands in `monitor --help`"
        )
    return None


def open_station(context: Context) -> None:
    """Run the station on the context's database and configuration.

    The database is opened and its schema checked here, on SQLAlchemy Core alone, before any
    screen (a wrong ``--db`` is one ``error:`` line); the services are imported once the
    first frame is drawn (:mod:`tui.opening`)."""
    if problem := needs_terminal():
        raise Refused(problem)
    from monitor.store.engine import file_warnings
    from tui.opening import Opening

    for warning in file_warnings(context.db):
        click.echo(f"warning: {warning}", err=True)
    opening = Opening.open(context.db, context.config)
    try:
        from tui.app import StationApp

        StationApp(opening).run()
    finally:
        opening.close()


@click.command("tui")
@pass_context
def tui_command(context: Context) -> None:
    """The station: a dashboard of every patient in observation."""
    open_station(context)


#: The ``monitor`` command: the headless root group with the station and its commands.
cli = make_cli(
    {"tui": "tui.launch:tui_command", "serve": "tui.serve:serve_command"},
    station="tui.launch:open_station",
)


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the ``monitor`` command."""
    return headless_main(argv, cli)


if __name__ == "__main__":  # pragma: no cover
    main()
