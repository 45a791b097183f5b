"""``monitor report``: the quality summary for supervisors (docs/interface.md).

Read-only and without ``--by``: like ``session show`` and ``audit``, it reads what anyone with
access to the database may read.
"""

from __future__ import annotations

import click

from monitor.cli.output import FROM_HELP, TO_HELP, Context, echo_json, pass_context, period, write


@click.command("report")
@click.option("--from", "since", required=True, help=f"Discharged at or after ({FROM_HELP})")
@click.option("--to", "until", required=True, help=f"Discharged at or before ({TO_HELP})")
@click.option("--json", "as_json", is_flag=True, help="Print as one JSON object.")
@pass_context
def report(context: Context, since: str, until: str, as_json: bool) -> None:
    """The quality summary of the sessions discharged in a period: sessions by protocol, checks
    on time / late / missed, minutes to acknowledge high flags (median, 90th percentile),
    severe BP, overrides, late entries, adverse events by type, REMS forms overdue."""
    from monitor.cli.render.report import report_json, report_text

    start, end = period(context, since, until)
    summary = context.service.quality_report(start, end)
    if as_json:
        echo_json(report_json(summary))
    else:
        write(report_text(summary))
