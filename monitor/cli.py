"""The ``monitor`` command line (interface.md): the product for scripts and integrations.

Every refusal a user can cause is one ``error: ...`` line on stderr and exit status 2.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import click

from monitor.config_file import CONFIG_ENV, load_config
from monitor.core.config import ClinicConfig, describe
from monitor.errors import Refused

EXIT_REFUSED = 2


@dataclass
class Context:
    """What every command gets: the options given, resolved lazily."""

    db: str | None
    config_path: str | None
    _config: ClinicConfig | None = None

    @property
    def config(self) -> ClinicConfig:
        """The clinic configuration in force (loaded once)."""
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config


pass_context = click.make_pass_decorator(Context)


@click.group(invoke_without_command=True)
@click.option("--db", envvar="MONITOR_DB", help="SQLAlchemy URL or SQLite file path.")
@click.option(
    "--config", "config_path", envvar=CONFIG_ENV, help="Clinic configuration file (TOML)."
)
@click.version_option(package_name="monitor")
@click.pass_context
def cli(ctx: click.Context, db: str | None, config_path: str | None) -> None:
    """Post-dose observation of ketamine and esketamine sessions."""
    ctx.obj = Context(db=db, config_path=config_path)
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@cli.group("config")
def config_group() -> None:
    """The clinic configuration."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def config_show(context: Context, as_json: bool) -> None:
    """The thresholds and schedules in force, and where each came from."""
    rows = describe(context.config)
    if as_json:
        import json

        click.echo(
            json.dumps(
                [{"key": k, "value": json.loads(v), "source": s} for k, v, s in rows], indent=2
            )
        )
        return
    width = max(len(k) for k, _, _ in rows)
    for key, value, source in rows:
        click.echo(f"{key:<{width}}  {value}  [{source}]")


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the command, turning refusals into one line and exit status 2."""
    try:
        return cli.main(args=argv, prog_name="monitor", standalone_mode=False)
    except Refused as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_REFUSED)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(EXIT_REFUSED)
    except click.ClickException as error:
        click.echo(f"error: {error.format_message()}", err=True)
        sys.exit(EXIT_REFUSED)


if __name__ == "__main__":  # pragma: no cover
    main()
