"""The REMS Patient Monitoring Forms as ``monitor rems`` prints them: the list's lines and one
form's answers with their sources (docs/interface.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from monitor.cli.output import local, printable

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from datetime import date

    from monitor.core.rems import Answer, RemsForm


def yes(value: bool | None) -> str:
    """An answer as the form prints it: ``yes``, ``no`` or ``-`` (not known)."""
    return {True: "yes", False: "no", None: "-"}[value]


def _row(form: RemsForm, today: date) -> str:
    missing = "; ".join(form.missing) or "-"
    cells = (
        str(form.session_id),
        printable(form.patient),
        form.treatment_date.isoformat() if form.treatment_date else "-",
        form.due_date.isoformat() if form.due_date else "-",
        form.status(today),
        printable(missing),
    )
    return "\t".join(cells) + "\n"


def form_lines(forms: Iterable[RemsForm], today: date) -> Iterator[str]:
    """``monitor rems``: a header and one tab-separated line per form (nothing if none)."""
    header = "session\tpatient\ttreated\tdue\tstatus\tmissing\n"
    for form in forms:
        yield header
        header = ""
        yield _row(form, today)


def _answer(name: str, answer: Answer) -> str:
    line = f"  {name}: {yes(answer.value)}"
    if answer.correction is not None:
        c = answer.correction
        line += (
            f"  (corrected by {c.by} at {local(c.at)}: {c.reason}; proposed {yes(answer.proposal)})"
        )
    else:
        line += "  (proposal)"
    if answer.evidence:
        line += "  [" + "; ".join(answer.evidence) + "]"
    return printable(line)


def print_form(form: RemsForm, today: date) -> None:
    """``rems show``: one form's answers, each with its source, and what is missing."""
    from monitor.core.rems import MED_QUESTIONS

    echo = click.echo
    echo(f"REMS form of session {form.session_id}  patient {printable(form.patient)}")
    treated = form.treatment_date.isoformat() if form.treatment_date else "-"
    due = form.due_date.isoformat() if form.due_date else "-"
    echo(f"  treatment date {treated}  due {due}  {form.status(today)}")
    if form.submission:
        echo(f"  submitted by {form.submission.by} at {local(form.submission.at)}")
    echo(f"  first treatment: {yes(form.first_treatment)}")
    for key, label in MED_QUESTIONS:
        echo(f"  {label}: {yes(form.meds[key])}")
    echo(f"  dose: {form.dose or '-'}  lot: {printable(form.lot or '-')}")
    if form.minutes_monitored is None:
        echo("  minutes monitored: -")
    else:
        until = "discharge" if form.monitored_until == "discharge" else "now: not discharged"
        echo(f"  minutes monitored: {form.minutes_monitored} (first reading to {until})")
    for label, bp in (
        ("BP before dosing", form.bp_before),
        ("BP near 40 min", form.bp_at_40),
        ("BP before the end", form.bp_end),
    ):
        echo(f"  {label}: {bp if bp else '-'}")
    for label, answer in (
        ("vitals acceptable before dosing", form.vitals_ok_before),
        ("vitals acceptable at the end", form.vitals_ok_end),
    ):
        evidence = "  [" + "; ".join(answer.evidence) + "]" if answer.evidence else ""
        echo(printable(f"  {label}: {yes(answer.value)}  (from the record){evidence}"))
    echo(_answer("sedation", form.sedation))
    echo(_answer("dissociation", form.dissociation))
    echo(_answer("respiratory depression", form.respiratory_depression))
    events = "; ".join(form.serious_adverse_events)
    echo(printable(f"  serious adverse events: {'yes: ' + events if events else 'no'}"))
    echo(
        f"  ready to leave at minute: {_dash(form.ready_minute)} "
        f"(proposed {_dash(form.ready_minute_proposed)}, by {form.ready_minute_by or '-'})"
    )
    if form.missing:
        echo("missing:")
        for item in form.missing:
            echo(f"  - {item}")
    if len(form.corrections) > 1:
        echo("corrections (oldest first):")
        for c in form.corrections:
            echo(printable(f"  {c.field} -> {yes(c.value)} by {c.by} at {local(c.at)}: {c.reason}"))


def _dash(value: Any) -> str:
    return "-" if value is None else str(value)
