"""The ``monitor`` root group and its entry point (docs/interface.md).

Every command goes through :class:`monitor.services.Service`, as the station does. Every
refusal a user can cause is one ``error: ...`` line on stderr and exit status 2, with nothing
saved. The commands live one group to a module and are loaded when used (:mod:`.lazy`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import click

from monitor.cli.lazy import LazyGroup
from monitor.cli.output import EXIT_FAILED, EXIT_REFUSED, Context, printable
from monitor.errors import Refused

#: Every command of the headless product: name -> ``"module:attribute"``.
COMMANDS = {
    "amend": "monitor.cli.readings:amend",
    "audit": "monitor.cli.audit:audit",
    "check": "monitor.cli.check:check",
    "config": "monitor.cli.config:config_group",
    "db": "monitor.cli.db:db",
    "demo": "monitor.cli.demo:demo",
    "event": "monitor.cli.event:event",
    "export": "monitor.cli.export:export_command",
    "flag": "monitor.cli.flag:flag",
    "record": "monitor.cli.readings:record",
    "rems": "monitor.cli.rems:rems",
    "report": "monitor.cli.report:report",
    "review": "monitor.cli.review:review",
    "session": "monitor.cli.session:session",
    "user": "monitor.cli.user:user",
    "void": "monitor.cli.readings:void",
}


def make_cli(extra: Mapping[str, str] | None = None, station: str | None = None) -> click.Group:
    """The root group: :data:`COMMANDS` and ``extra`` (more ``"module:attribute"`` commands),
    opening ``station`` (``"module:function"`` taking the :class:`Context`) when no command
    is given. The headless product has no station; the ``monitor`` console script
    (:mod:`tui.launch`) adds it and its commands."""

    @click.group(
        cls=LazyGroup,
        invoke_without_command=True,
        lazy_commands={**COMMANDS, **(extra or {})},
    )
    @click.option(
        "--db", envvar="MONITOR_DB", help="SQLAlchemy URL or SQLite file path [env MONITOR_DB]."
    )
    @click.option(
        "--config",
        "config_path",
        envvar="MONITOR_CONFIG",  # monitor.config_file.CONFIG_ENV
        help="Clinic configuration file (TOML) [env MONITOR_CONFIG].",
    )
    @click.version_option(package_name="monitor")
    @click.pass_context
    def cli(ctx: click.Context, db: str | None, config_path: str | None) -> None:
        """Post-dose observation of ketamine and esketamine sessions.

        Without a command, opens the station (the TUI).
        """
        ctx.obj = Context(db=db, config_path=config_path, station=station)
        ctx.call_on_close(ctx.obj.close)
        if ctx.invoked_subcommand is None:
            ctx.obj.open_station()

    return cli


#: The headless command line (``python -m monitor``).
cli = make_cli()


def _refuse(message: str, status: int = EXIT_REFUSED) -> None:
    click.echo(f"error: {printable(message)}", err=True)
    sys.exit(status)


def main(argv: list[str] | None = None, root: click.Group | None = None) -> Any:
    """Entry point: run the command (of ``root``, default the headless :data:`cli`);
    refusals become one line and exit status 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            _refuse(f"argument {arg!r} is not valid UTF-8 text")
    try:
        return (root or cli).main(args=args, prog_name="monitor", standalone_mode=False)
    except Refused as error:
        _refuse(str(error))
    except click.exceptions.Abort:
        _refuse("aborted")
    except click.ClickException as error:
        _refuse(error.format_message())
    except Exception as error:
        # A database failure can only come from a command that opened the database, and so
        # imported the engine already: what it means is said there (busy, the connection
        # ended, read-only, not a database, damaged), always exit status 1.
        engine = sys.modules.get("monitor.store.engine")
        message = None if engine is None else engine.failure_message(error)
        if message is None:
            raise
        _refuse(message, EXIT_FAILED)
    return None
