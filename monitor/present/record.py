"""A session's record, told once: its facts, who did what, each reading's notes, a flag and
its acknowledgement, a check's status and notes, the minutes monitored, the discharge and the
review, from the plain views the services hand back.

The session log (:mod:`monitor.present.session`), ``session show``, the PDF, FHIR and CSV take
these facts from here and only lay them out their own way (a PDF cell, a FHIR note, a line of
the log); ``session show``, the station and the PDF word a reading's notes alike
(:data:`NOTE_TEXT`), and every face a check (:func:`check_status`, :func:`check_notes`) and a
flag (:func:`flag_line`). None of them decides again which notes a reading carries, how long
a patient was monitored or what the gate stored at discharge said (docs/clinical.md,
docs/exports.md). The review (every sign-off and reopening) is :mod:`monitor.present.review`'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from monitor.core.entry import format_entry
from monitor.core.gate import minutes_between, minutes_monitored
from monitor.core.intake import MED_LABELS, minor_notice
from monitor.core.quality import minutes
from monitor.core.schedule import CheckKind, CheckState, CheckStatus, not_reached, status_text
from monitor.core.timing import is_late_entry
from monitor.present.parts import SEVERITY_ROLE, Line, Part, Role, local_minute
from monitor.present.parts import clock as clock
from monitor.present.review import review_lines as review_lines
from monitor.present.served import served_lines as served_lines
from monitor.present.unreadable import marked as _marked
from monitor.unreadable import MEDICATION, SCHEDULE, STORED_GATE
from monitor.views import EventView, FlagView, ReadingView, SessionView


def minutes_text(value: float) -> str:
    """A duration as a person reads it, the one way every face shows one: whole minutes
    rounded down, as the minutes monitored are (``6 min``: six to seven), ``under 1 min``
    below one, and ``1 h 05 min`` from an hour up. Machine outputs (JSON, CSV, FHIR) keep
    their numbers."""
    whole = math.floor(value)
    if whole < 1:
        return "under 1 min"
    if whole < 60:
        return f"{whole} min"
    return f"{whole // 60} h {whole % 60:02d} min"


def after_text(value: float) -> str:
    """How long something waited: ``after 6 min``, ``after 1 h 05 min``, ``within a minute``."""
    return "within a minute" if value < 1 else f"after {minutes_text(value)}"


def column_minutes(value: float) -> str:
    """:func:`minutes_text` in at most 7 columns (a table's): ``<1 min``, ``6 min``, ``1 h 05``."""
    text = minutes_text(value)
    return "<1 min" if value < 1 else text.removesuffix(" min") if value >= 60 else text


def yes_no(value: bool | None, missing: str = "not recorded") -> str:
    """``yes``, ``no``, or ``missing`` when not recorded."""
    return missing if value is None else "yes" if value else "no"


class NoteKind(StrEnum):
    """What a note on a reading says, in the order the notes are told."""

    #: Saved more than 10 min after it was measured; a correction only when it adds a measure
    #: (:attr:`monitor.views.ReadingView.late_entry`).
    LATE = "late entry"
    #: Saved after the session's discharge (a late entry from paper, a correction): who, when.
    AFTER_DISCHARGE = "entered after discharge"
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
    saved), entered after discharge (by whom, when), the reading it corrects, the one that
    corrected it, its void, before dosing."""
    notes: list[ReadingNote] = []
    if reading.late_entry:
        notes.append(ReadingNote(NoteKind.LATE, reading.recorded_at))
    if reading.entered_after_discharge:
        notes.append(
            ReadingNote(NoteKind.AFTER_DISCHARGE, reading.recorded_at, reading.recorded_by)
        )
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
    NoteKind.AFTER_DISCHARGE: lambda n: f"ENTERED AFTER DISCHARGE by {n.by} {clock(n.at)}",
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
    """A flag named as every face names it: ``!!! SBP 184 >= 180: ...``, in its severity (one
    that could not be read said so: it counts as high)."""
    said = flag.message
    if flag.unreadable is not None:
        said = f"severity UNREADABLE ({flag.unreadable.why}; taken as high): {said}"
    return Part(f"{flag.severity.symbol} {said}", SEVERITY_ROLE[flag.severity])


#: The words the services put in a flag raised when the baseline changed.
BASELINE_CHANGE_WORDS = "raised when the baseline changed"


def raised_text(flag: FlagView, day_of: datetime | None = None) -> str | None:
    """How a flag not raised with its reading came about: ``(raised when the baseline changed
    at 10:40)``, or only `` at 10:40`` when its message already says why; ``None`` for a flag
    raised with its reading."""
    if flag.raised_by != "baseline change":
        return None
    when = f" at {clock(flag.raised_at, day_of)}" if flag.raised_at is not None else ""
    if BASELINE_CHANGE_WORDS in flag.message:
        return when or None
    return f" ({BASELINE_CHANGE_WORDS}{when})"


def acknowledger(flag: FlagView) -> str:
    """Who acknowledged a flag, and who co-signed: ``ana, co-signed by sam``."""
    who = flag.acknowledged_by or "-"
    return f"{who}, co-signed by {flag.cosigned_by}" if flag.cosigned_by else who


def flag_line(flag: FlagView, raised_at: datetime) -> Line:
    """A flag and its acknowledgement: by whom (and the clinician who co-signed), when, how
    long after the flag was raised (``raised_at``, the reading's save; a flag raised when the
    baseline changed counts from then, and says so) and what was done; else "NOT
    acknowledged" for a flag that needs action (docs/clinical.md, "Thresholds and flags"),
    "not acknowledged" for the others."""
    start = flag.raised_at or raised_at
    if flag.acknowledged_at is not None:
        waited = minutes(start, flag.acknowledged_at)
        ack = Part(
            f"acknowledged by {acknowledger(flag)} {clock(flag.acknowledged_at, start)}, "
            f"{after_text(waited)}: {flag.action or '-'}",
            Role.OK,
        )
    elif flag.severity.needs_action:
        ack = Part("NOT acknowledged", Role.ALERT)
    else:
        ack = Part("not acknowledged", Role.NOTE)
    line: list[Part] = [flag_part(flag)]
    if mark := raised_text(flag, raised_at):
        line.append(Part(mark, Role.WARN))
    return (*line, Part("  "), ack)


def alarm_line(event: EventView) -> Line | None:
    """A serious event's alarm (:func:`flag_line`, from when the event was saved), or
    ``None`` for an event without one."""
    if event.alarm is None:
        return None
    return (Part("alarm: ", Role.NOTE), *flag_line(event.alarm, event.recorded_at))


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
        """``2 h 06 min``, ``40 min so far``, or ``-`` before dosing."""
        if self.minutes is None:
            return "-"
        return minutes_text(self.minutes) + (" so far" if self.ongoing else "")


def monitored(view: SessionView) -> Monitored:
    """How long the patient was monitored: from dosing to the discharge (or the record's
    moment while in observation)."""
    end = view.discharged_at or view.as_of
    return Monitored(minutes_monitored(view.dosed_at, end), view.discharged_at is None)


def recorders(view: SessionView) -> str:
    """Who recorded what: started, dosed (the override's co-signer), readings, flags
    acknowledged (and co-signed), events, the infusion end (and its corrections), discharge
    (the override's co-signer), sign-offs."""
    parts = [f"started by {view.started_by}"]
    if view.dosed_by:
        parts.append(f"dosed by {view.dosed_by}")
    if view.dose_override_cosigned_by:
        parts.append(f"dosing override co-signed by {view.dose_override_cosigned_by}")
    readers = sorted({r.recorded_by for r in view.readings})
    if readers:
        parts.append(f"readings by {', '.join(readers)}")
    flags = [f for r in view.readings for f in r.flags] + [
        e.alarm for e in view.events if e.alarm is not None
    ]
    ackers = sorted({f.acknowledged_by for f in flags if f.acknowledged_by})
    if ackers:
        parts.append(f"flags acknowledged by {', '.join(ackers)}")
    cosigners = sorted({f.cosigned_by for f in flags if f.cosigned_by})
    if cosigners:
        parts.append(f"acknowledgements co-signed by {', '.join(cosigners)}")
    writers = sorted({e.by for e in view.events})
    if writers:
        parts.append(f"events by {', '.join(writers)}")
    if view.infusion_ended_by:
        parts.append(f"infusion end by {view.infusion_ended_by}")
    fixers = sorted({fix.by for fix in view.infusion_end_corrections})
    if fixers:
        parts.append(f"infusion end corrected by {', '.join(fixers)}")
    if view.discharged_by:
        parts.append(f"discharged by {view.discharged_by}")
    if view.discharge_cosigned_by:
        parts.append(f"discharge override co-signed by {view.discharge_cosigned_by}")
    signers = sorted({given.by for given in view.signoffs})
    if signers:
        parts.append(f"signed off by {', '.join(signers)}")
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
    """When an IV infusion ended and how long it ran, and who recorded it; each correction
    (who, when, the time it replaced, why); or the length the schedule assumes while its end
    is not recorded; ``-`` for a session with no infusion."""
    if view.infusion_ended_at is not None and view.dosed_at is not None:
        length = minutes_between(view.dosed_at, view.infusion_ended_at)
        text = f"{local_minute(view.infusion_ended_at)} ({minutes_text(length)})"
        if view.infusion_ended_by:
            text += f" by {view.infusion_ended_by}"
        for fix in view.infusion_end_corrections:
            text += (
                f"; corrected by {fix.by} {local_minute(fix.at)} "
                f"(was {clock(fix.previous, fix.ended_at)}): {fix.reason}"
            )
        return text
    if view.schedule is not None and view.schedule.infusion_min is not None:
        return f"not recorded (assumed {minutes_text(view.schedule.infusion_min)})"
    return "-"


def dose_override_text(view: SessionView) -> str | None:
    """``dosing gate overridden by ana, co-signed by sam: agitated``, or ``None``."""
    if not view.dose_override_reason:
        return None
    who = view.dose_override_by or view.dosed_by
    text = "dosing gate overridden"
    if who:
        text += f" by {who}"
    if view.dose_override_cosigned_by:
        text += f", co-signed by {view.dose_override_cosigned_by}"
    return f"{text}: {view.dose_override_reason}"


def discharge_override_text(view: SessionView) -> str | None:
    """``Gate overridden by ana, co-signed by sam: left early``, or ``None``."""
    if not view.override_reason:
        return None
    text = "Gate overridden"
    if view.discharged_by:
        text += f" by {view.discharged_by}"
    if view.discharge_cosigned_by:
        text += f", co-signed by {view.discharge_cosigned_by}"
    return f"{text}: {view.override_reason}"


def session_facts(view: SessionView) -> tuple[tuple[str, str], ...]:
    """The session's facts, label and value: patient, protocol, dose, lot, first treatment,
    dose number, age and weight, bay, medication, who started, who dosed (and who overrode
    the dosing gate and co-signed), the infusion end (who recorded and corrected it), who
    discharged (an override's co-signer, an observation ended early), the minutes monitored
    and the rules version the session follows."""
    dosed = local_minute(view.dosed_at) if view.dosed_at else "not dosed"
    if view.dosed_at and view.dosed_by:
        dosed += f" by {view.dosed_by}"
    if override := dose_override_text(view):
        dosed += f" ({override})"
    discharged = "not discharged"
    if view.discharged_at:
        discharged = f"{local_minute(view.discharged_at)} by {view.discharged_by}"
        if view.override_reason:
            discharged += " (gate overridden"
            if view.discharge_cosigned_by:
                discharged += f", co-signed by {view.discharge_cosigned_by}"
            discharged += ")"
        if view.ended_early:
            discharged += "; observation ended early"
    weight = f"{view.weight_kg:g} kg" if view.weight_kg else "-"
    age_weight = f"{view.age if view.age is not None else '-'} / {weight}"
    if notice := minor_notice(view.age):
        age_weight += f" ({notice})"
    dose = f"{view.dose_mg:g} mg" if view.dose_mg is not None else "-"
    if view.dose_mg and view.weight_kg:
        dose += f" ({view.dose_mg / view.weight_kg:.2f} mg/kg)"
    return (
        ("Patient", view.patient),
        ("Protocol", f"{view.protocol} ({_marked(view, SCHEDULE, view.treatment)})"),
        ("Dose", dose),
        ("Lot", view.lot or "-"),
        ("First treatment", yes_no(view.first_treatment)),
        ("Dose number", str(view.dose_number) if view.dose_number else "-"),
        ("Age / weight", age_weight),
        ("Bay", view.bay or "-"),
        ("Medication", _marked(view, MEDICATION, meds_text(view.meds))),
        ("Started", f"{local_minute(view.started_at)} by {view.started_by}"),
        ("Dosed", dosed),
        ("Infusion end", infusion_end_text(view)),
        ("Discharged", discharged),
        ("Monitored", monitored(view).text),
        ("Rules version", "-" if view.config_version is None else str(view.config_version)),
    )


def _gate_lines(title: str, ready: bool, reasons: tuple[str, ...]) -> list[Line]:
    if ready:
        return [(Part(f"{title}: met."),)]
    return [
        (Part(f"{title}: NOT met:", Role.ALERT),),
        *((Part(f"  - {reason}", Role.ALERT),) for reason in reasons),
    ]


def discharge_lines(view: SessionView) -> tuple[Line, ...]:
    """The discharge: the gate as of now while in observation; once discharged, who and when,
    an observation ended early, the gate stored at discharge (its reasons when not met) and,
    when the record changed after discharge, the gate judged again on it beside it; the
    override (who, the co-signer, why), the escort and the no-driving instruction; the REMS
    "ready to leave" minute when asked, and REMS answers a change after discharge affected."""
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
        if view.ended_early:
            lines.append(
                (Part("Observation ended early (before the minimum observation).", Role.ALERT),)
            )
        stored = view.stored_gate
        if (marker := view.unreadable_part(STORED_GATE)) is not None:
            lines.append(
                (Part(f"Gate at discharge: stored, UNREADABLE ({marker.why}).", Role.ALERT),)
            )
        elif stored is None:
            lines.append(
                (Part("Gate at discharge: not stored (discharged before revision 2).", Role.NOTE),)
            )
        else:
            lines += _gate_lines("Gate at discharge", stored.ready, stored.reasons)
        if view.gate_now is not None:
            lines += _gate_lines(
                "Gate judged again on the record as it is now",
                view.gate_now.ready,
                view.gate_now.reasons,
            )
        if override := discharge_override_text(view):
            lines.append((Part(override, Role.ALERT),))
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
    if view.rems_changed_after_discharge:
        changed = ", ".join(view.rems_changed_after_discharge)
        lines.append((Part(f"REMS answers changed after discharge: {changed}", Role.WARN),))
    return tuple(lines)
