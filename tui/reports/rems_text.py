"""The REMS form in lines, as the desk shows it.

Formatting only (the presentation layer, monitor/present/, will tell this story once)."""

from __future__ import annotations

from datetime import date

from rich.text import Text

from monitor.core.rems import MED_QUESTIONS, Answer, BloodPressure, RemsForm
from tui.reports.periods import when


def rems_days(form: RemsForm, today: date) -> Text:
    """Days left or overdue: ``3 d left``, ``due today``, ``2 d overdue`` (red), ``sent``."""
    if form.submitted:
        return Text("submitted", style="green")
    if form.due_date is None:
        return Text("-")
    days = (form.due_date - today).days
    if days < 0:
        return Text(f"{-days} d overdue", style="bold red")
    if days == 0:
        return Text("due today", style="bold yellow")
    return Text(f"{days} d left")


def yes_no(value: bool | None, unknown: str = "not answered") -> str:
    return unknown if value is None else "yes" if value else "no"


def _bp(bp: BloodPressure | None) -> str:
    return "not recorded" if bp is None else f"{bp} ({bp.measured_at.astimezone():%H:%M})"


def answer_text(answer: Answer, source: str = "proposal") -> Text:
    text = Text(yes_no(answer.value, "unknown"), style="bold")
    if answer.correction is not None:
        c = answer.correction
        text.append(
            f"  corrected by {c.by} {when(c.at)}: {c.reason} (proposal "
            f"{yes_no(answer.proposal, 'unknown')})",
            style="yellow",
        )
    else:
        text.append(f"  ({source})", style="dim")
    if answer.evidence:
        text.append("\n" + "; ".join(answer.evidence))
    return text


CORRECTION_LABELS = {
    "sedation": "Sedation",
    "dissociation": "Dissociation",
    "respiratory_depression": "Respiratory depression",
}


def rems_form_lines(form: RemsForm, today: date) -> list[tuple[str, Text]]:
    """Every answer of the REMS Patient Monitoring Form (docs/clinical.md's list) with where it
    comes from, then what is missing, as (label, value) lines."""
    lines: list[tuple[str, Text]] = []

    def add(label: str, value: str | Text, style: str = "") -> None:
        lines.append((label, value if isinstance(value, Text) else Text(value, style=style)))

    status = form.status(today)
    add(
        "Status",
        Text(
            status, style="green" if form.submitted else "bold red" if "overdue" in status else ""
        ),
    )
    if form.submission is not None:
        add("Submitted", f"by {form.submission.by}, {when(form.submission.at)}", "green")
    else:
        add("Submitted", "not yet (m marks it submitted)")
    if form.missing:
        add("Missing", Text("\n".join(form.missing), style="bold red"))
    else:
        add("Missing", "nothing", "green")
    add("Patient", f"{form.patient} (name, birth date and sex: the clinic fills them in)")
    first = yes_no(form.first_treatment)
    if form.first_treatment:
        first += " (enrolled in the REMS: the clinic answers)"
    add("First treatment", first)
    add(
        "Medication",
        " · ".join(f"{label} {yes_no(form.meds.get(key))}" for key, label in MED_QUESTIONS),
    )
    add("Provider, setting", "the clinic fills them in")
    add("Treatment date", "-" if form.treatment_date is None else form.treatment_date.isoformat())
    add("Due date", "-" if form.due_date is None else f"{form.due_date.isoformat()} (7 days after)")
    add("Dose, lot", f"{form.dose or 'not recorded'}, lot {form.lot or 'not recorded'}")
    if form.minutes_monitored is None:
        add("Minutes monitored", "no reading yet")
    else:
        add("Minutes monitored", f"{form.minutes_monitored} (to {form.monitored_until})")
    if form.ready_minute is not None:
        ready = f"{form.ready_minute} min after dosing, by {form.ready_minute_by or '-'}"
        if form.ready_minute_proposed is not None:
            ready += f" (proposed {form.ready_minute_proposed})"
    elif form.ready_minute_proposed is not None:
        ready = f"not confirmed (proposed {form.ready_minute_proposed})"
    else:
        ready = "not confirmed"
    add("Ready to leave", ready)
    add("Vitals OK before", answer_text(form.vitals_ok_before, "record"))
    add("Vitals OK at end", answer_text(form.vitals_ok_end, "record"))
    add("BP before dosing", _bp(form.bp_before))
    add("BP near 40 min", _bp(form.bp_at_40))
    add("BP before the end", _bp(form.bp_end))
    add("Sedation", answer_text(form.sedation))
    add("Dissociation", answer_text(form.dissociation))
    add("Resp. depression", answer_text(form.respiratory_depression))
    add("Serious AEs", "\n".join(form.serious_adverse_events) or "none")
    return lines
