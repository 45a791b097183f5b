"""``monitor demo``: a realistic demo clinic in a database of its own (docs/interface.md)."""

from __future__ import annotations

import click

from monitor.cli.output import Context, command_name
from monitor.errors import Refused


@click.command()
@click.option("--fresh/--keep", default=True, help="Start the default demo database anew.")
@click.option("--open", "open_after", is_flag=True, help="Open the station on it at once.")
@click.pass_context
def demo(ctx: click.Context, fresh: bool, open_after: bool) -> None:
    """A realistic demo clinic, in a separate demo database unless --db names one."""
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
    try:
        if service.has_users() and not service.is_demo():
            raise Refused(
                f"{db} holds records that are not a demo's: `monitor demo` writes only to a new "
                "database or one it made (leave out --db and MONITOR_DB for the demo's own file)"
            )
        if service.has_users():
            # A demo it made before: kept as it is (the record is never rewritten).
            active = len(service.active_sessions())
            click.echo(f"Demo clinic already in {db}: {active} sessions in observation")
        else:
            result = build_demo(service)
            click.echo(
                f"Demo clinic ready: {len(result.sessions)} sessions in observation and "
                f"{len(result.earlier)} discharged for review mode (sign in as sam), in {db}"
            )
    finally:
        service.close()
    from monitor.demo import DEMO_USERS

    click.echo("Users (name, role, PIN):")
    for name, role, pin in sorted(DEMO_USERS):  # the order of the station's sign-in list
        click.echo(f"  {name:<5} {role:<10} {pin}")
    shown = f'"{db}"' if " " in db else db
    click.echo(f"Open it with:  {command_name()} --db {shown}")
    if open_after:
        context.db = db
        context.open_station()
