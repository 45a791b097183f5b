"""``monitor demo``: a realistic demo clinic in a database of its own (docs/interface.md)."""

from __future__ import annotations

import sys

import click

from monitor.cli.output import Context, command_name, imports_done
from monitor.errors import Refused


@click.command()
@click.option(
    "--fresh/--keep",
    default=True,
    help="--fresh (the default) starts the default demo database anew; --keep keeps the one "
    "made before as it is. With --db, a demo made before is always kept.",
)
@click.option(
    "--open",
    "open_after",
    is_flag=True,
    help="Then open the station on it (after the users and PINs are shown, on Enter).",
)
@click.pass_context
def demo(ctx: click.Context, fresh: bool, open_after: bool) -> None:
    """A realistic demo clinic, in a separate demo database unless --db names one.

    Prints its users and PINs first, then where it is and how to open it."""
    from monitor.demo import build_demo, default_demo_path
    from monitor.services import Service

    context: Context = ctx.obj
    db = context.db
    if db is None:
        path = default_demo_path()
        if fresh:
            # Only the demo's own file is ever removed, never a database the user named.
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
        db = str(path)
    service = Service.open(db, context.config)
    imports_done()  # the demo's many actions collect their garbage as usual
    try:
        if service.has_users() and not service.is_demo():
            raise Refused(
                f"{db} holds records that are not a demo's: `monitor demo` writes only to a new "
                "database or one it made (leave out --db and MONITOR_DB for the demo's own file)"
            )
        if service.has_users():
            # A demo it made before: kept as it is (the record is never rewritten).
            active = len(service.active_sessions())
            click.echo(f"Demo clinic already made, kept as it is: {active} sessions in observation")
        else:
            result = build_demo(service)
            click.echo(
                f"Demo clinic ready: {len(result.sessions)} sessions in observation and "
                f"{len(result.earlier)} discharged for review mode (sign in as sam)"
            )
    finally:
        service.close()
    from monitor.demo import DEMO_USERS

    # The users and PINs before the database's path: the first PIN printed is the first
    # user's (the path could hold digits), which scripts that sign in rely on.
    click.echo("Users (name, role, PIN):")
    for name, role, pin in sorted(DEMO_USERS):  # the order of the station's sign-in list
        click.echo(f"  {name:<5} {role:<10} {pin}")
    click.echo(f"Database: {db}")
    shown = f'"{db}"' if " " in db else db
    click.echo(f"Open it with:  {command_name()} --db {shown}")
    click.echo(
        f"Bedside monitors MON-1 to MON-6 stand in bays 1 to 6: `{command_name()} --db {shown} "
        'ingest --by ben` takes their readings, `... device send --bay 1 "185/100 hr 88 spo2 '
        '97 rr 14"` sends one as they would (docs/devices.md)'
    )
    if open_after:
        context.db = db
        if sys.stdin.isatty():
            # The station takes the whole screen: let the users and PINs be read first.
            try:
                click.prompt(
                    "Press Enter to open the station (Ctrl+C to stop here)",
                    default="",
                    show_default=False,
                    prompt_suffix="",
                )
            except click.exceptions.Abort:
                click.echo()
                return
        context.open_station()
