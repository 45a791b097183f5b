"""``monitor db``: schema migrations (docs/storage.md)."""

from __future__ import annotations

import click

from monitor.cli.output import Context, pass_context, printable


@click.group()
def db() -> None:
    """Schema migrations."""


def _url(context: Context) -> str:
    from monitor.store.engine import resolve_url

    return resolve_url(context.db)


@db.command("upgrade")
@pass_context
def db_upgrade(context: Context) -> None:
    """Migrate to the newest schema (an SQLite file is backed up first).

    With --config naming a clinic's TOML file that holds clinical rules, a database from
    before rules versions takes that file's rules as version 1 (docs/configuration.md)."""
    from monitor.config_file import upgrade_rules
    from monitor.store.migrate import refuse_rules_file, upgrade

    url = _url(context)
    rules = None
    if context.config_path:
        rules = upgrade_rules(context.config_path, lambda: refuse_rules_file(url))
    result = upgrade(url, clinic_rules=rules)
    for statement in result.left_to_superuser:
        # The station role could still end other stations' connections (docs/storage.md).
        click.echo(f"warning: have a superuser run: {statement}", err=True)
    if result.before == result.after:
        click.echo(f"already at the newest schema ({result.after})")
        return
    click.echo(f"upgraded {result.before or 'empty database'} -> {result.after}")
    if rules is not None:
        click.echo(f"the clinic's rules from {rules['source']} are version 1")
    if result.backup:
        click.echo(f"backup: {result.backup}")


@db.command("current")
@pass_context
def db_current(context: Context) -> None:
    """The schema revision of the database, and the newest this monitor knows."""
    from sqlalchemy import inspect

    from monitor.errors import Refused
    from monitor.store.engine import make_engine
    from monitor.store.migrate import SCHEMA_HEAD, current_revision

    engine = make_engine(context.db, create=False)
    try:
        revision = current_revision(engine)
        if revision is None:
            with engine.connect() as connection:
                if inspect(connection).get_table_names():
                    raise Refused(
                        "this database holds tables but no monitor schema: it is not a monitor "
                        "database; check --db"
                    )
    finally:
        engine.dispose()
    if revision == SCHEMA_HEAD:
        state = "up to date"
    elif revision is None:
        state = "empty: `monitor db upgrade` creates the schema"
    else:
        state = "behind: run `monitor db upgrade`"
    click.echo(f"{revision or 'none'} (newest {SCHEMA_HEAD}; {state})")


@db.command("check")
@pass_context
def db_check(context: Context) -> None:
    """Check the database against this monitor: models and migrations agree, and its
    triggers, functions, views, rules, policies and grants are those of a fresh database.

    Refused for a missing file or a database not at the newest schema; nothing is created or
    migrated. Each difference is one line on standard output (docs/storage.md)."""
    from monitor.errors import Refused
    from monitor.store.migrate import SCHEMA_HEAD, check

    differences = check(_url(context))
    for line in differences:
        click.echo(printable(line))
    if differences:
        kinds = sorted({line.split(":", 1)[0] for line in differences})
        raise Refused(
            f"the database differs from a fresh one at {SCHEMA_HEAD} in {len(differences)} "
            f"place(s) ({', '.join(kinds)}): see the lines above; a foreign trigger, function "
            "or grant may change the record behind the product's back"
        )
    click.echo(
        f"models and migrations agree, and the triggers, functions and grants are those of a "
        f"fresh database at {SCHEMA_HEAD}"
    )
