"""``monitor user``: nurses and supervisors, each acting with a PIN (docs/interface.md)."""

from __future__ import annotations

import click

from monitor.cli.output import PIN_ENV, Context, acting, pass_context, secret


@click.group()
def user() -> None:
    """Nurses and supervisors."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["nurse", "supervisor"]), required=True)
@click.option("--by", help="The supervisor adding the user (not for the first user, a supervisor).")
@click.option(
    "--pin-stdin",
    is_flag=True,
    help="Read from standard input: the new PIN, the same again, then (with --by) the "
    f"supervisor's PIN unless {PIN_ENV} gives it.",
)
@pass_context
def user_add(context: Context, name: str, role: str, by: str | None, pin_stdin: bool) -> None:
    """Add a user with a PIN of 4-12 digits, kept only as a hash. The first user of a database
    must be a supervisor; after that a supervisor adds users (--by)."""
    pin = secret(f"new PIN for {name} (4-12 digits)", pin_stdin=pin_stdin, env=False, confirm=True)
    if by is not None:
        supervisor_pin = secret(f"PIN for {by}", pin_stdin=pin_stdin, env=True, env_first=True)
        context.service.authenticate(by, supervisor_pin)
    created = context.service.add_user(name, role, pin, by=by)
    click.echo(f"added {created.role} {created.name}")


@user.command("unlock")
@click.argument("name")
@click.option("--by", required=True, help="The supervisor.")
@acting
@pass_context
def user_unlock(context: Context, name: str, by: str) -> None:
    """Lift a PIN lockout (5 refused PINs in a row lock a user for 15 min)."""
    context.service.unlock_user(name, by=by)
    click.echo(f"user {name} unlocked")


@user.command("disable")
@click.argument("name")
@click.option("--by", required=True, help="The supervisor.")
@acting
@pass_context
def user_disable(context: Context, name: str, by: str) -> None:
    """Disable a user for good: they can no longer sign in or act; their records stay."""
    context.service.disable_user(name, by=by)
    click.echo(f"user {name} disabled")


@user.command("set-pin")
@click.argument("name")
@click.option("--by", required=True, help="The user themself, or a supervisor.")
@click.option(
    "--pin-stdin",
    is_flag=True,
    help="Read from standard input: the new PIN, the same again, then the PIN of --by unless "
    f"{PIN_ENV} gives it.",
)
@pass_context
def user_set_pin(context: Context, name: str, by: str, pin_stdin: bool) -> None:
    """Set a user's PIN (4-12 digits): your own, or anyone's as a supervisor."""
    pin = secret(f"new PIN for {name} (4-12 digits)", pin_stdin=pin_stdin, env=False, confirm=True)
    by_pin = secret(f"PIN for {by}", pin_stdin=pin_stdin, env=True, env_first=True)
    context.service.authenticate(by, by_pin)
    context.service.set_pin(name, pin, by=by)
    click.echo(f"PIN of {name} set")


@user.command("list")
@click.option("--by", required=True, help="Who asks (a user's name and PIN: names are not public).")
@acting
@pass_context
def user_list(context: Context, by: str) -> None:
    """Every user and role, to a user who gives a PIN."""
    for person in context.service.users():
        click.echo(f"{person.name}\t{person.role}")


@user.command("recover")
@click.argument("name")
@click.option(
    "--pin-stdin",
    is_flag=True,
    help="Read the new PIN from standard input, then the same again.",
)
@pass_context
def user_recover(context: Context, name: str, pin_stdin: bool) -> None:
    """For the database's owner, when no supervisor can act (all locked, PINs forgotten, or
    after upgrading a PostgreSQL database to revision 0009): NAME becomes an active supervisor
    with a new PIN and no lock, or is added as one; audited. On PostgreSQL connect as the
    database's owner (--db); on SQLite whoever can write the file may (docs/storage.md)."""
    pin = secret(f"new PIN for {name} (4-12 digits)", pin_stdin=pin_stdin, env=False, confirm=True)
    recovered = context.service.recover_user(name, pin)
    click.echo(f"{recovered.name} is an active supervisor with a new PIN")
