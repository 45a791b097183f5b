"""A session's record, told once: its facts, who did what, each reading's notes, a flag and
its acknowledgement, a check's status and notes, the minutes monitored, the discharge and the
review, from the plain views the services hand back.

The session log (:mod:`monitor.present.session`), ``session show``, the PDF, FHIR and CSV take
these facts from here and only lay them out their own way (a PDF cell, a FHIR note, a line of
the log); ``session show``, the station and the PDF word a reading's notes alike
(:data:`NOTE_TEXT`), and every face a check (:func:`check_status`, :func:`check_notes`) and a
flag (:func:`flag_line`). None of them decides again which notes a reading carries, how long
a patient was monitored or what the gate stored at discharge said (docs/clinical.md,
docs/exports.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from monitor.core.entry import format_entry
from monitor.core.gate import minutes_between, minutes_monitored
from monitor.core.intake import MED_LABELS, minor_notice
from monitor.core.quality import minutes
from monitor.core.schedule import CheckKind, CheckState, CheckStatus, not_reached, status_text
from monitor.core.served import Served
from monitor.core.timing import is_late_entry
from monitor.present.parts import SEVERITY_ROLE, Line, Part, Role, local_minute
from monitor.views import EventView, FlagView, ReadingView, SessionView


def clock(moment: datetime | None, day_of: datetime | None = None) -> str:
    """A stored (UTC) time as local ``HH:MM``, or ``-``; ``27 Nov 12:40`` when it falls on
    another local day than ``day_of``."""
    if moment is None:
        return "-"
    local = moment.astimezone()
    if day_of is not None and local.date() != day_of.astimezone().date():
        return local.strftime("%d %b %H:%M")
    return local.strftime("%H:%M")


def minutes_text(value: float) -> str:
    """``12 min``, ``2.5 min``; ``9 h 51 min`` from an hour up."""
    if value < 60:
        return f"{value:g} min"
    whole = round(value)
    return f"{whole // 60} h {whole % 60:02d} min"


def yes_no(value: bool | None, missing: str = "not recorded") -> str:
    """``yes``, ``no``, or ``missing`` when not recorded."""
    return missing if value is None else "yes" if value else "no"


class NoteKind(StrEnum):
    """What a note on a reading says, in the order the notes are told."""

    #: Saved more than 10 min after it was measured (:func:`monitor.core.timing.is_late_entry`).
    LATE = "late entry"
    #: A correction: of which reading, by whom, when it was saved and why.
    CORRECTS = "corrects"
    #: Corrected: superseded by which reading.
    SUPERSEDED = "superseded"
    #: Voided (entered in error): by whom, when and why.
    VOIDED = "voided"
    #: Measured before dosing.
    BEFORE_DOSING = "before dosing"


@dataclass(frozen=True)
class ReadingNote:
    """One note on a reading: what, about which other reading, who, when and why."""

    kind: NoteKind
    at: datetime | None = None
    by: str | None = None
    reason: str | None = None
    #: The reading it corrects, or the one that supersedes it.
    other: int | None = None


def reading_notes(reading: ReadingView) -> tuple[ReadingNote, ...]:
    """Every note on ``reading``, in the order they are told: a late entry (at: when it was
    saved), the reading it corrects, the one that corrected it, its void, before dosing."""
    notes: list[ReadingNote] = []
    if reading.late_entry:
        notes.append(ReadingNote(NoteKind.LATE, reading.recorded_at))
    if reading.corrects is not None:
        notes.append(
            ReadingNote(
                NoteKind.CORRECTS,
                reading.recorded_at,
                reading.recorded_by,
                reading.reason,
                reading.corrects,
            )
        )
    if reading.superseded_by is not None:
        notes.append(ReadingNote(NoteKind.SUPERSEDED, other=reading.superseded_by))
    if reading.voided is not None:
        void = reading.voided
        notes.append(ReadingNote(NoteKind.VOIDED, void.at, void.by, void.reason))
    if reading.before_dosing:
        notes.append(ReadingNote(NoteKind.BEFORE_DOSING))
    return tuple(notes)


#: How the command line and the PDF word each of a reading's notes (docs/exports.md).
NOTE_TEXT: dict[NoteKind, Callable[[ReadingNote], str]] = {
    NoteKind.LATE: lambda n: f"LATE ENTRY, saved {clock(n.at)}",
    NoteKind.CORRECTS: lambda n: f"corrects #{n.other}: {n.reason}",
    NoteKind.SUPERSEDED: lambda n: f"corrected: superseded by #{n.other}",
    NoteKind.VOIDED: lambda n: f"VOIDED by {n.by} {clock(n.at)}: {n.reason}",
    NoteKind.BEFORE_DOSING: lambda n: "before dosing",
}


def reading_values(reading: ReadingView) -> str:
    """A reading's values as they are typed (``184/102 hr 88``), or ``(no values)``."""
    return format_entry(reading.vitals) or "(no values)"


def note_texts(reading: ReadingView) -> tuple[str, ...]:
    """Each of ``reading``'s notes (:func:`reading_notes`) in words, in their order."""
    return tuple(NOTE_TEXT[note.kind](note) for note in reading_notes(reading))


def flag_part(flag: FlagView) -> Part:
    """A flag named as every face names it: ``!!! SBP 184 >= 180: ...``, in its severity."""
    return Part(f"{flag.severity.symbol} {flag.message}", SEVERITY_ROLE[flag.severity])


def flag_line(flag: FlagView, raised_at: datetime) -> Line:
    """A flag and its acknowledgement: by whom, when, how long after the reading was saved
    (``raised_at``) and what was done; else "NOT acknowledged" for a flag that needs action
    (docs/clinical.md, "Thresholds and flags"), "not acknowledged" for the others."""
    if flag.acknowledged_at is not None:
        waited = minutes(raised_at, flag.acknowledged_at)
        ack = Part(
            f"acknowledged by {flag.acknowledged_by} {clock(flag.acknowledged_at, raised_at)}, "
            f"after {minutes_text(waited)}: {flag.action or '-'}",
            Role.OK,
        )
    elif flag.severity.needs_action:
        ack = Part("NOT acknowledged", Role.ALERT)
    else:
        ack = Part("not acknowledged", Role.NOTE)
    return (flag_part(flag), Part("  "), ack)


def check_name(check: CheckState) -> str:
    """A check as the story names it: ``Baseline check``, ``Check +15 min``, or a BP
    recheck's own label (``BP recheck +25 min``)."""
    if check.kind is CheckKind.BASELINE:
        return "Baseline check"
    if check.kind is CheckKind.RECHECK:
        return check.label
    return f"Check {check.label}"


#: How each status of a check is meant to be read.
_CHECK_ROLE = {
    CheckStatus.DONE: Role.OK,
    CheckStatus.MISSED: Role.ALERT,
    CheckStatus.OVERDUE: Role.WARN,
    CheckStatus.DUE: Role.STRONG,
    CheckStatus.UPCOMING: Role.PLAIN,
    CheckStatus.NOT_REACHED: Role.NOTE,
}


def _not_reached(check: CheckState, discharged_at: datetime | None) -> bool:
    """Not reached: closed as such, or upcoming on a discharged session (a view judged as of
    its discharge but not closed by :func:`monitor.core.schedule.at_discharge`)."""
    return not_reached(check) or (
        discharged_at is not None and check.status is CheckStatus.UPCOMING
    )


def check_status(check: CheckState, discharged_at: datetime | None) -> Part:
    """A check's status in words (:func:`monitor.core.schedule.status_text`: ``done``,
    ``missed``, ``not reached``, ``observation ended early (override)``, ``cancelled: reading
    voided`` ...), ``(late)`` when done late (docs/clinical.md, "Check windows and
    statuses")."""
    if check.cancelled is not None or _not_reached(check, discharged_at):
        return Part(status_text(check, discharged_at), Role.NOTE)
    if check.late:
        return Part(f"{status_text(check, discharged_at)} (late)", Role.WARN)
    return Part(status_text(check, discharged_at), _CHECK_ROLE[check.status])


def check_notes(check: CheckState, discharged_at: datetime | None) -> tuple[Line, ...]:
    """What is said under a check's status: not reached because the patient was discharged
    first (unless the status says the observation ended early); for a cancelled recheck, that
    it was done all the same (when it was); a pre-discharge check; the reason recorded for a
    check not done (by whom, when), or, for an alarm (overdue, or missed with no reason), that
    no reason was recorded."""
    notes: list[Line] = []
    if _not_reached(check, discharged_at) and not check.ended_early and not check.cancelled:
        notes.append((Part("discharged before it was due", Role.NOTE),))
    if check.cancelled is not None and check.status is CheckStatus.DONE:
        late = " (late)" if check.late else ""
        notes.append((Part(f"done{late} {clock(check.done_at, check.due_at)}", Role.NOTE),))
    if check.pre_discharge:
        notes.append((Part("pre-discharge check", Role.NOTE),))
    if check.skip is not None:
        skip = check.skip
        notes.append(
            (
                Part("not done: ", Role.NOTE),
                Part(skip.reason, Role.STRONG),
                Part(f" ({skip.by}, {clock(skip.at, check.due_at)})", Role.NOTE),
            )
        )
    elif check.is_alarm:
        notes.append((Part("alarm: no reason recorded", Role.WARN),))
    return tuple(notes)


def _served_part(check: CheckState) -> Part:
    if check.status is CheckStatus.DONE:
        return Part(f"{check.label} (done{' late' if check.late else ''})", Role.OK)
    missing = " ".join(m.value for m in check.missing)
    return Part(f"{check.label} (still needs {missing})", Role.STRONG)


def served_lines(served: Served) -> tuple[Line, ...]:
    """What a reading just saved did to the schedule (docs/clinical.md, "Check windows and
    statuses"): ``served +40 min (done late)``, or ``served no scheduled check``; then the
    checks due before it that remain not done, each with its status, so that an alarm that
    stays is never a surprise: ``not done: +15 min (missed), +30 min (overdue)``."""
    if served.checks:
        parts: list[Part] = [Part("served ")]
        for index, check in enumerate(served.checks):
            parts += [Part(", ")] if index else []
            parts.append(_served_part(check))
        lines: list[Line] = [tuple(parts)]
    else:
        lines = [(Part("served no scheduled check", Role.NOTE),)]
    if served.not_done:
        left: list[Part] = [Part("not done: ", Role.WARN)]
        for index, check in enumerate(served.not_done):
            left += [Part(", ")] if index else []
            role = Role.ALERT if check.is_alarm else Role.PLAIN
            left.append(Part(f"{check.label} ({status_text(check)})", role))
        lines.append(tuple(left))
    return tuple(lines)


def event_late(event: EventView) -> bool:
    """A note or event written more than 10 min after it happened (the rule for readings)."""
    return is_late_entry(event.at, event.recorded_at)


@dataclass(frozen=True)
class Monitored:
    """The minutes monitored (:func:`monitor.core.gate.minutes_monitored`), and whether the
    patient is still in observation (the figure then runs to the record's moment)."""

    minutes: int | None
    ongoing: bool

    @property
    def text(self) -> str:
        """``126 min``, ``40 min so far``, or ``-`` before dosing."""
        if self.minutes is None:
            return "-"
        return f"{self.minutes} min" + (" so far" if self.ongoing else "")


def monitored(view: SessionView) -> Monitored:
    """How long the patient was monitored: from dosing to the discharge (or the record's
    moment while in observation)."""
    end = view.discharged_at or view.as_of
    return Monitored(minutes_monitored(view.dosed_at, end), view.discharged_at is None)


def recorders(view: SessionView) -> str:
    """Who recorded what: started, readings, events, acknowledgements, discharge."""
    parts = [f"started by {view.started_by}"]
    readers = sorted({r.recorded_by for r in view.readings})
    if readers:
        parts.append(f"readings by {', '.join(readers)}")
    ackers = sorted(
        {f.acknowledged_by for r in view.readings for f in r.flags if f.acknowledged_by}
    )
    if ackers:
        parts.append(f"flags acknowledged by {', '.join(ackers)}")
    writers = sorted({e.by for e in view.events})
    if writers:
        parts.append(f"events by {', '.join(writers)}")
    if view.discharged_by:
        parts.append(f"discharged by {view.discharged_by}")
    return "; ".join(parts)


def meds_text(meds: tuple[str, ...] | None) -> str:
    """The REMS medication answers: ``none``, the classes named, or ``not asked``."""
    if meds is None:
        return "not asked"
    return ", ".join(MED_LABELS.get(m, m) for m in meds) if meds else "none"


def instruction_text(given: bool | None) -> str:
    """Whether the no-driving instruction was given, in words."""
    return {True: "given", False: "NOT given", None: "not recorded"}[given]


def infusion_end_text(view: SessionView) -> str:
    """When an IV infusion ended and how long it ran, or the length the schedule assumes while
    its end is not recorded; ``-`` for a session with no infusion."""
    if view.infusion_ended_at is not None and view.dosed_at is not None:
        length = minutes_between(view.dosed_at, view.infusion_ended_at)
        return f"{local_minute(view.infusion_ended_at)} ({length} min)"
    if view.schedule is not None and view.schedule.infusion_min is not None:
        return f"not recorded (assumed {view.schedule.infusion_min} min)"
    return "-"


def session_facts(view: SessionView) -> tuple[tuple[str, str], ...]:
    """The session's facts, label and value: patient, protocol, dose, lot, first treatment,
    dose number, age and weight, bay, medication, who started, dosing (and its override),
    infusion end, discharge and the minutes monitored."""
    dosed = local_minute(view.dosed_at) if view.dosed_at else "not dosed"
    if view.dose_override_reason:
        dosed += f" (dosing gate overridden: {view.dose_override_reason})"
    discharged = (
        f"{local_minute(view.discharged_at)} by {view.discharged_by}"
        if view.discharged_at
        else "not discharged"
    )
    weight = f"{view.weight_kg:g} kg" if view.weight_kg else "-"
    age_weight = f"{view.age if view.age is not None else '-'} / {weight}"
    if notice := minor_notice(view.age):
        age_weight += f" ({notice})"
    dose = f"{view.dose_mg:g} mg" if view.dose_mg is not None else "-"
    if view.dose_mg and view.weight_kg:
        dose += f" ({view.dose_mg / view.weight_kg:.2f} mg/kg)"
    return (
        ("Patient", view.patient),
        ("Protocol", f"{view.protocol} ({view.treatment})"),
        ("Dose", dose),
        ("Lot", view.lot or "-"),
        ("First treatment", yes_no(view.first_treatment)),
        ("Dose number", str(view.dose_number) if view.dose_number else "-"),
        ("Age / weight", age_weight),
        ("Bay", view.bay or "-"),
        ("Medication", meds_text(view.meds)),
        ("Started", f"{local_minute(view.started_at)} by {view.started_by}"),
        ("Dosed", dosed),
        ("Infusion end", infusion_end_text(view)),
        ("Discharged", discharged),
        ("Monitored", monitored(view).text),
    )


def discharge_lines(view: SessionView) -> tuple[Line, ...]:
    """The discharge: the gate as of now while in observation; once discharged, who and when,
    the gate stored at discharge (its reasons when not met), the override, the escort and the
    no-driving instruction; the REMS "ready to leave" minute when asked."""
    lines: list[Line] = []
    if view.discharged_at is None:
        as_of = local_minute(view.as_of)
        if view.gate.ready:
            lines.append((Part(f"Not discharged. Gate as of {as_of}: ready."),))
        else:
            lines.append((Part(f"Not discharged. Gate as of {as_of}: not ready:"),))
            lines += [(Part(f"  - {reason}", Role.WARN),) for reason in view.gate.reasons]
    else:
        when = local_minute(view.discharged_at)
        lines.append((Part(f"Discharged {when} by {view.discharged_by}."),))
        stored = view.stored_gate
        if stored is None:
            lines.append(
                (Part("Gate at discharge: not stored (discharged before revision 2).", Role.NOTE),)
            )
        elif stored.ready:
            lines.append((Part("Gate at discharge: met."),))
        else:
            lines.append((Part("Gate at discharge: NOT met:", Role.ALERT),))
            lines += [(Part(f"  - {reason}", Role.ALERT),) for reason in stored.reasons]
        if view.override_reason:
            lines.append((Part(f"Gate overridden: {view.override_reason}", Role.ALERT),))
        lines.append((Part(f"Escort: {view.escort or 'not recorded'}"),))
        given = instruction_text(view.instructions_given)
        lines.append((Part(f"No-driving instruction: {given}"),))
    if view.ready_minute is not None or view.ready_minute_proposed is not None:
        confirmed = "-" if view.ready_minute is None else f"minute {view.ready_minute}"
        by = f" by {view.ready_minute_by}" if view.ready_minute_by else ""
        proposed = (
            "-" if view.ready_minute_proposed is None else f"minute {view.ready_minute_proposed}"
        )
        lines.append((Part(f"REMS ready to leave at: {confirmed}{by} (proposed: {proposed})"),))
    return tuple(lines)


def review_lines(view: SessionView) -> tuple[Line, ...]:
    """The review: each sign-off withdrawn (who, when, why), then the sign-off in force, or
    "NOT YET REVIEWED"."""
    lines: list[Line] = [
        (Part(f"Sign-off withdrawn by {again.by} at {local_minute(again.at)}: {again.reason}"),)
        for again in view.reopened
    ]
    if view.signed_by is None:
        lines.append((Part("NOT YET REVIEWED", Role.ALERT),))
    else:
        signed = local_minute(view.signed_at)
        lines.append(
            (Part(f"Signed by {view.signed_by} at {signed}; meaning: reviewed", Role.STRONG),)
        )
    return tuple(lines)
