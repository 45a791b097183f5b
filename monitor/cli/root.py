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
from monitor.cli.output import (
    EXIT_FAILED,
    EXIT_REFUSED,
    Context,
    command_name,
    hold_collector,
    printable,
    release_collector,
)
from monitor.errors import Refused

#: Every command of the headless product: name -> ``"module:attribute"``.
COMMANDS = {
    "amend": "monitor.cli.readings:amend",
    "audit": "monitor.cli.audit:audit",
    "check": "monitor.cli.check:check",
    "config": "monitor.cli.config:config_group",
    "db": "monitor.cli.db:db",
    "demo": "monitor.cli.demo:demo",
    "device": "monitor.cli.device:device",
    "event": "monitor.cli.event:event",
    "export": "monitor.cli.export:export_command",
    "flag": "monitor.cli.flag:flag",
    "ingest": "monitor.cli.device:ingest",
    "record": "monitor.cli.readings:record",
    "rems": "monitor.cli.rems:rems",
    "report": "monitor.cli.report:report",
    "review": "monitor.cli.review:review",
    "session": "monitor.cli.session:session",
    "user": "monitor.cli.user:user",
    "validate": "monitor.cli.readings:validate",
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


def misplaced_global(error: click.NoSuchOption, args: list[str]) -> str | None:
    """What to say of a global option (``--db``, ``--config``, ...) given after the command,
    where click knows it not: put it before the command, with the line so reordered. ``None``
    for any other unknown option."""
    import re
    import shlex

    context = error.ctx
    if context is None or context.parent is None:
        return None  # unknown to the root group itself
    root = context.find_root().command
    name = error.option_name
    option = next((p for p in root.params if name in p.opts), None)
    if not isinstance(option, click.Option):
        return None
    top = context  # the command given to the root group (``session`` of ``session dose``)
    while top.parent is not None and top.parent.parent is not None:
        top = top.parent
    start = args.index(top.info_name) if top.info_name in args else len(args)
    rest = args[start:]
    at = next((i for i, a in enumerate(rest) if a == name or a.startswith(name + "=")), None)
    if at is None:
        return f"{name} is a global option: put it before the command"
    taken = 1 if option.is_flag or "=" in rest[at] else 2
    moved = rest[at : at + taken]
    moved += ["VALUE"] * (taken - len(moved))  # its value was left out too
    line = shlex.join([*args[:start], *moved, *rest[:at], *rest[at + taken :]])
    line = re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", line)  # no password on screen
    return f"{name} is a global option: put it before the command: {command_name()} {line}"


def main(argv: list[str] | None = None, root: click.Group | None = None) -> Any:
    """Entry point: run the command (of ``root``, default the headless :data:`cli`);
    refusals become one line and exit status 2."""
    hold_collector()  # until the command's services are open (Context.service)
    try:
        return _run(argv, root)
    finally:
        release_collector()


def _run(argv: list[str] | None, root: click.Group | None) -> Any:
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
    except click.NoSuchOption as error:
        _refuse(misplaced_global(error, args) or error.format_message())
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
