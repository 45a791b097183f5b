"""``monitor config``: the clinic's rules, kept in the database as numbered versions that a
supervisor loads with a reason, and where each value in force came from
(docs/configuration.md)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from monitor.cli.output import (
    Context,
    acting,
    echo_json,
    local,
    pass_context,
    printable,
    write,
)

if TYPE_CHECKING:
    from monitor.core.config import ClinicConfig
    from monitor.services.config import ConfigVersionView

#: How many changed keys the one-line summary of `config load` names.
SUMMARY_KEYS = 4

VERSION = click.IntRange(min=1, max=2**31 - 1)


@click.group("config")
def config_group() -> None:
    """The clinic's rules (versions in the database) and this station's settings."""


def _chosen(context: Context, version: int | None) -> tuple[ConfigVersionView, ClinicConfig, int]:
    """The version asked for (else the one in force), its rules, and the number in force."""
    service = context.service
    in_force, rules = service.rules_in_force()
    number = in_force if version is None else version
    view = service.config_version(number)
    return view, rules if number == in_force else service.rules_of(number), in_force


def _who(view: ConfigVersionView) -> str:
    return view.by or "the upgrade"


def _header(view: ConfigVersionView, in_force: int) -> str:
    state = "in force" if view.number == in_force else f"not in force (version {in_force} is)"
    return printable(
        f"version {view.number} {state}: set by {_who(view)} at {local(view.at)} from "
        f"{view.source}: {view.reason}"
    )


def _version_json(view: ConfigVersionView, in_force: int) -> dict[str, Any]:
    return {
        "version": view.number,
        "in_force": view.number == in_force,
        "at": view.at.isoformat(),
        "by": view.by,
        "reason": view.reason,
        "source": view.source,
    }


@config_group.command("show")
@click.option("--version", "version", type=VERSION, help="A version other than the one in force.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def config_show(context: Context, version: int | None, as_json: bool) -> None:
    """The rules in force (or of --version N) with who set them, when and why, and every value
    with its source: the version that sets it, the default, or this station's --config."""
    from monitor.core.config import describe

    view, rules, in_force = _chosen(context, version)
    rows = describe(rules)
    if as_json:
        values = [{"key": k, "value": json.loads(v), "source": s} for k, v, s in rows]
        echo_json(_version_json(view, in_force) | {"values": values})
        return
    width = max(len(k) for k, _, _ in rows)
    lines = [_header(view, in_force)]
    lines += [printable(f"{key:<{width}}  {value}  [{source}]") for key, value, source in rows]
    write(line + "\n" for line in lines)


@config_group.command("history")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def config_history(context: Context, as_json: bool) -> None:
    """Every version of the clinic's rules, oldest first: who set it, when, from what, why."""
    versions = context.service.config_versions()
    in_force = max(v.number for v in versions)
    if as_json:
        echo_json([_version_json(v, in_force) | {"body": v.body} for v in versions])
        return
    for view in versions:
        mark = "*" if view.number == in_force else " "
        click.echo(
            printable(
                f"{mark}{view.number:>4}  {local(view.at)}  {_who(view)}  {view.source}: "
                f"{view.reason}"
            )
        )


@config_group.command("export")
@click.option("--version", "version", type=VERSION, help="A version other than the one in force.")
@pass_context
def config_export(context: Context, version: int | None) -> None:
    """A version's every rule as a TOML file that `monitor config load` takes (this
    station's clinic_name and bays are not rules: they stay in --config)."""
    from monitor.config_file import rules_toml

    view, rules, _ = _chosen(context, version)
    heading = [
        f"The clinic's rules, version {view.number} (from {view.source}, set by {_who(view)} "
        f"at {local(view.at)}).",
        "Every value is written out; load a changed copy with",
        "monitor config load FILE --by SUPERVISOR --reason TEXT",
    ]
    click.echo(rules_toml(rules, "\n".join(printable(line) for line in heading)), nl=False)


def _short(value: str, most: int = 40) -> str:
    return value if len(value) <= most else value[: most - 3] + "..."


@config_group.command("load")
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@click.option("--by", required=True, help="The supervisor loading the rules.")
@click.option("--reason", required=True, help="Why the clinic's rules change.")
@acting
@pass_context
def config_load(context: Context, file: str, by: str, reason: str) -> None:
    """Make the next version of the clinic's rules from FILE (TOML over the shipped defaults:
    what it does not say is the default). Supervisors only; refused, naming the rule, below a
    safety floor."""
    from monitor.config_file import read_rules
    from monitor.core.config import rule_changes

    text, source = read_rules(file)
    service = context.service
    view = service.load_config(text, source=source, by=by, reason=reason)
    rules = service.rules_of(view.number)
    summary = f"version {view.number} in force, set by {view.by} from {view.source}"
    if view.number > 1:
        changes = rule_changes(service.rules_of(view.number - 1), rules)
        shown = ", ".join(
            f"{k} {_short(old)} -> {_short(new)}" for k, old, new in changes[:SUMMARY_KEYS]
        )
        more = f" and {len(changes) - SUMMARY_KEYS} more" if len(changes) > SUMMARY_KEYS else ""
        count = f"{len(changes)} value{'s' if len(changes) != 1 else ''}"
        summary += (
            f": {count} changed from version {view.number - 1}: {shown}{more}"
            if changes
            else f": no value changed from version {view.number - 1}"
        )
    click.echo(printable(summary))
