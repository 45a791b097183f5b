"""``monitor config``: the clinic configuration in force (docs/clinical.md)."""

from __future__ import annotations

import json

import click

from monitor.cli.output import Context, echo_json, pass_context


@click.group("config")
def config_group() -> None:
    """The clinic configuration."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def config_show(context: Context, as_json: bool) -> None:
    """The thresholds and schedules in force, and where each came from."""
    from monitor.core.config import describe

    rows = describe(context.config)
    if as_json:
        echo_json([{"key": k, "value": json.loads(v), "source": s} for k, v, s in rows])
        return
    width = max(len(k) for k, _, _ in rows)
    for key, value, source in rows:
        click.echo(f"{key:<{width}}  {value}  [{source}]")
