"""One session's whole story in time order, for review: the session log.

Built from the plain views the services hand back (a :class:`~monitor.views.SessionView` and,
when at hand, the session's audit rows), with no screen and no database: the station's review
mode draws it, and an export can print the same entries. The facts it tells (a reading's notes,
the gate stored at discharge) come from :mod:`monitor.present.record`, as the exports' do.

Each :class:`LogEntry` is one thing that happened, at one moment, and who did it: the session
opened, a reading (its flags under it, a flag raised when the baseline changed marked; a
corrected one's values struck through, then its correction with who, when and why; a voided
one struck through with who, when and why; a late entry and an entry after discharge marked;
a bedside monitor's reading says which monitor, and who validated it or that no one has yet),
a flag or a serious event's alarm acknowledged (with the minutes from the flag to it, and the
clinician who co-signed), a check done, done late, missed or not done (with the reason
recorded), a note or event (its alarm under it), the dose and the dosing gate (or its
override: who, the co-signer, why), the end of an infusion (who recorded it) and each
correction of it, the discharge (who, the override and its co-signer, an observation ended
early, the stored gate and the gate judged again after a later change, escort, no-driving
instruction, REMS minute), a REMS form submitted or corrected, every sign-off ("reviewed")
and each reopening. Text comes in :class:`Part` pieces with a :class:`Role` saying how to show
them (struck through, a high flag ...), so each face styles it its own way.

Times in the text are local ``HH:MM``; the entries carry aware datetimes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from monitor.core.gate import GateResult
from monitor.core.quality import minutes
from monitor.core.schedule import CheckKind, CheckState, CheckStatus
from monitor.present.floor import source_words
from monitor.present.parts import Line, Part, Role
from monitor.present.record import (
    NoteKind,
    acknowledger,
    after_text,
    alarm_line,
    check_name,
    check_notes,
    check_status,
    dose_override_text,
    event_late,
    flag_line,
    flag_part,
    minutes_text,
    reading_notes,
    reading_values,
    yes_no,
)
from monitor.present.record import clock as clock_text  # the log's times (the station's too)
from monitor.present.unreadable import unreadable_lines
from monitor.unreadable import STORED_GATE
from monitor.views import AuditView, EventView, FlagView, ReadingView, SessionView


class EntryKind(StrEnum):
    """What happened. The order here breaks ties between entries of the same moment."""

    SESSION = "session"
    READING = "reading"
    CHECK = "check"
    ACK = "ack"
    EVENT = "event"
    DOSE = "dose"
    INFUSION_END = "infusion_end"
    DISCHARGE = "discharge"
    REMS = "rems"
    SIGN = "sign"
    REOPEN = "reopen"


_RANK = {kind: rank for rank, kind in enumerate(EntryKind)}


@dataclass(frozen=True)
class LogEntry:
    """One thing that happened: when, what (a headline and detail lines), and by whom."""

    at: datetime
    kind: EntryKind
    lines: tuple[Line, ...]
    by: str | None = None
    #: The reading this entry is about (readings and acknowledgements of their flags).
    reading_id: int | None = None
    #: For a reading: still in force (neither corrected nor voided), so it may be corrected.
    in_force: bool = False

    @property
    def headline(self) -> str:
        """The first line as plain text."""
        return "".join(part.text for part in self.lines[0]) if self.lines else ""

    @property
    def text(self) -> str:
        """Every line as plain text."""
        return "\n".join("".join(part.text for part in line) for line in self.lines)


def session_log(view: SessionView, audit: Sequence[AuditView] = ()) -> list[LogEntry]:
    """The session's story, oldest first (ties: the session, readings, checks,
    acknowledgements, events, dosing, infusion end, discharge, REMS, sign-offs, reopenings).

    Who started, dosed, ended the infusion, discharged and signed off comes from the view
    (revision 3); ``audit`` (the session's audit rows, any order) adds the dosing gate's unmet
    conditions at an override and the REMS form's submission and corrections, and stands in
    for who dosed, who ended the infusion and every sign-off in a view without them.
    """
    actions = {row.action: row for row in sorted(audit, key=lambda r: r.id)}
    entries: list[LogEntry] = [_started(view)]
    for reading in view.readings:
        entries.append(_reading(reading))
        entries.extend(_acknowledgements(reading.flags, reading.recorded_at, reading.id))
    entries.extend(
        _check(check, view.discharged_at) for check in view.checks if _worth_telling(check)
    )
    for event in view.events:
        entries.append(_event(event))
        if event.alarm is not None:
            entries.extend(_acknowledgements((event.alarm,), event.recorded_at, None))
    if view.dosed_at is not None:
        entries.append(_dose(view, actions.get("session.dose")))
    entries.extend(_infusion_end(view, actions.get("session.infusion_end")))
    if view.discharged_at is not None:
        entries.append(_discharge(view))
    entries.extend(_rems(audit))
    entries.extend(_sign_offs(view, audit))
    for again in view.reopened:
        entries.append(
            LogEntry(
                again.at,
                EntryKind.REOPEN,
                (
                    (
                        Part("Sign-off withdrawn (reopened)", Role.WARN),
                        Part(f": {again.reason}"),
                    ),
                ),
                by=again.by,
            )
        )
    # A stable sort: entries of one moment and kind keep the order they were told in.
    return sorted(entries, key=lambda e: (e.at, _RANK[e.kind]))


def _started(view: SessionView) -> LogEntry:
    facts = [view.protocol]
    if view.dose_mg is not None:
        facts.append(f"{view.dose_mg:g} mg")
    if view.weight_kg is not None:
        facts.append(f"{view.weight_kg:g} kg")
    if view.bay:
        facts.append(view.bay)
    if view.age is not None:
        facts.append(f"age {view.age}")
    if view.first_treatment is not None:
        facts.append(f"first treatment {yes_no(view.first_treatment)}")
    if view.dose_number is not None:
        facts.append(f"dose no. {view.dose_number}")
    if view.meds is not None:
        facts.append(f"REMS medication: {', '.join(view.meds) or 'none'}")
    if view.lot:
        facts.append(f"lot {view.lot}")
    return LogEntry(
        view.started_at,
        EntryKind.SESSION,
        (
            (Part("Session opened", Role.STRONG), Part(f" for {view.patient}")),
            (Part(", ".join(facts), Role.NOTE),),
            *unreadable_lines(view),
        ),
        by=view.started_by,
    )


def _reading(reading: ReadingView) -> LogEntry:
    values = reading_values(reading)
    # A monitor's reading awaiting validation stands (not struck): it only does not count yet.
    standing = reading.superseded_by is None and reading.voided is None
    head: list[Part] = [
        Part(f"#{reading.id} "),
        Part(values, Role.STRONG if standing else Role.STRUCK),
    ]
    if reading.before_dosing:
        head.append(Part("  before dosing", Role.NOTE))
    lines: list[Line] = [tuple(head)]
    if (source := source_words(reading)) is not None:
        role = Role.WARN if reading.awaits_validation and standing else Role.NOTE
        lines.append((Part(source, role),))
    for note in reading_notes(reading):
        if note.kind is NoteKind.LATE:
            late = minutes(reading.measured_at, reading.recorded_at)
            lines.append(
                (
                    Part("LATE ENTRY", Role.WARN),
                    Part(
                        f": saved {clock_text(note.at, reading.measured_at)}, "
                        f"{minutes_text(late)} after it was measured",
                        Role.NOTE,
                    ),
                )
            )
        elif note.kind is NoteKind.AFTER_DISCHARGE:
            lines.append(
                (
                    Part("ENTERED AFTER DISCHARGE", Role.WARN),
                    Part(
                        f" by {note.by}: saved {clock_text(note.at, reading.measured_at)}",
                        Role.NOTE,
                    ),
                )
            )
        elif note.kind is NoteKind.CORRECTS:
            lines.append(
                (
                    Part(f"correction of #{note.other}", Role.WARN),
                    Part(
                        f" by {note.by} at {clock_text(note.at, reading.measured_at)}: "
                        f"{note.reason or '-'}",
                        Role.NOTE,
                    ),
                )
            )
        elif note.kind is NoteKind.SUPERSEDED:
            lines.append((Part(f"corrected by #{note.other} (below)", Role.NOTE),))
        elif note.kind is NoteKind.VOIDED:
            lines.append(
                (
                    Part("VOIDED", Role.ALERT),
                    Part(
                        f" by {note.by} at {clock_text(note.at, reading.measured_at)}: "
                        f"{note.reason}",
                        Role.NOTE,
                    ),
                )
            )
    lines.extend(flag_line(flag, reading.recorded_at) for flag in reading.flags)
    return LogEntry(
        reading.measured_at,
        EntryKind.READING,
        tuple(lines),
        by=reading.recorded_by,
        reading_id=reading.id,
        in_force=reading.in_force,
    )


def _acknowledgements(
    flags: Iterable[FlagView], saved_at: datetime, reading_id: int | None
) -> Iterable[LogEntry]:
    """Each acknowledged flag (of the reading ``reading_id``, or a serious event's alarm), at
    the moment it was acknowledged, with the minutes it waited from when it was raised (the
    save, ``saved_at``, or the baseline's change) and the clinician who co-signed."""
    for flag in flags:
        if flag.acknowledged_at is None:
            continue
        waited = minutes(flag.raised_at or saved_at, flag.acknowledged_at)
        head = "Alarm acknowledged" if flag.event_id is not None else "Acknowledged"
        line: list[Part] = [Part(head, Role.OK)]
        if flag.cosigned_by:
            line.append(Part(f" (co-signed by {flag.cosigned_by})", Role.NOTE))
        line += [Part(f" {after_text(waited)}: "), Part(flag.action or "-", Role.STRONG)]
        about = f" (#{reading_id})" if reading_id is not None else " (serious event)"
        yield LogEntry(
            flag.acknowledged_at,
            EntryKind.ACK,
            (tuple(line), (flag_part(flag), Part(about, Role.NOTE))),
            by=acknowledger(flag),
            reading_id=reading_id,
        )


def _worth_telling(check: CheckState) -> bool:
    """Every check with an outcome; a baseline only once the session was dosed or skipped."""
    return check.due_at is not None or check.done_at is not None or check.skip is not None


def _check(check: CheckState, discharged_at: datetime | None) -> LogEntry:
    """A check's outcome (:func:`monitor.present.record.check_status`, its notes under it) at
    its moment: when it was done; a missed one at its due time (or the discharge, if that came
    first); on a discharged session, any other (not reached: ``at_discharge``) at the
    discharge."""
    line: list[Part] = [Part(check_name(check), Role.STRONG), Part(": ")]
    line.append(check_status(check, discharged_at))
    # A baseline is due at dosing: once done, its due time says nothing.
    baseline_done = check.kind is CheckKind.BASELINE and check.status is CheckStatus.DONE
    if check.due_at is not None and not baseline_done:
        line.append(Part(f", due {clock_text(check.due_at)}", Role.NOTE))
    at = check.due_at
    if check.status is CheckStatus.DONE:
        at = check.done_at
    elif check.status is CheckStatus.MISSED:
        if discharged_at is not None and at is not None and discharged_at < at:
            at = discharged_at
    elif discharged_at is not None:
        at = discharged_at
    moment = at or (check.skip.at if check.skip else None)
    assert moment is not None  # _worth_telling keeps only checks with a moment
    return LogEntry(moment, EntryKind.CHECK, (tuple(line), *check_notes(check, discharged_at)))


def _event(event: EventView) -> LogEntry:
    what = {"adverse": "Adverse event", "intervention": "Intervention", "note": "Note"}.get(
        event.kind, event.kind.capitalize()
    )
    role = Role.ALERT if event.serious else Role.WARN if event.kind == "adverse" else Role.STRONG
    head = what + (f": {event.type}" if event.type else "")
    details = [d for d in (event.severity, "SERIOUS" if event.serious else None) if d]
    if details:
        head += f" ({', '.join(details)})"
    lines: list[Line] = [(Part(head, role), Part(f": {event.text}"))]
    if event_late(event):
        lines.append(
            (
                Part("LATE ENTRY", Role.WARN),
                Part(f": written {clock_text(event.recorded_at, event.at)}", Role.NOTE),
            )
        )
    if (alarm := alarm_line(event)) is not None:
        lines.append(alarm)
    return LogEntry(event.at, EntryKind.EVENT, tuple(lines), by=event.by)


def _dose(view: SessionView, audited: AuditView | None) -> LogEntry:
    """The dose, who gave it, and the dosing gate: met, or overridden (who, the clinician who
    co-signed, why, and the conditions unmet as audited)."""
    assert view.dosed_at is not None
    head: list[Part] = [Part("Dose given", Role.STRONG), Part(f": {view.treatment}")]
    if view.dose_mg is not None and f"{view.dose_mg:g} mg" not in view.treatment:
        head.append(Part(f", {view.dose_mg:g} mg"))
    lines: list[Line] = [tuple(head)]
    if override := dose_override_text(view):
        refused = _json_list(audited.after if audited else None, "dosing_gate")
        words = override.removeprefix("dosing gate overridden")
        lines.append((Part("dosing gate OVERRIDDEN", Role.WARN), Part(words)))
        lines.extend((Part(f"[ ] {reason}", Role.NOTE),) for reason in refused)
    else:
        lines.append((Part("dosing gate met", Role.OK),))
    by = view.dosed_by or (audited.user if audited else None)
    return LogEntry(view.dosed_at, EntryKind.DOSE, tuple(lines), by=by)


def _infusion_end(view: SessionView, audited: AuditView | None) -> Iterable[LogEntry]:
    """The end of an infusion at the time in force, who recorded it (and the time first
    recorded, once corrected); each correction at the moment it was made: the new time, the
    one it replaced, who and why."""
    if view.infusion_ended_at is None or view.dosed_at is None:
        return
    length = minutes(view.dosed_at, view.infusion_ended_at)
    lines: list[Line] = [
        (
            Part("Infusion ended", Role.STRONG),
            Part(f" {after_text(length)}"),
        )
    ]
    fixes = view.infusion_end_corrections
    if fixes:
        first = clock_text(fixes[0].previous, view.infusion_ended_at)
        lines.append(
            (Part("corrected", Role.WARN), Part(f": first recorded as {first}", Role.NOTE))
        )
    yield LogEntry(
        view.infusion_ended_at,
        EntryKind.INFUSION_END,
        tuple(lines),
        by=view.infusion_ended_by or (audited.user if audited else None),
    )
    for fix in fixes:
        yield LogEntry(
            fix.at,
            EntryKind.INFUSION_END,
            (
                (
                    Part("Infusion end corrected", Role.WARN),
                    Part(
                        f": {clock_text(fix.ended_at, fix.at)}, was "
                        f"{clock_text(fix.previous, fix.at)}: {fix.reason}"
                    ),
                ),
            ),
            by=fix.by,
        )


def _json_list(payload: str | None, key: str) -> list[str]:
    """``payload[key]`` of an audit row's JSON as a list of strings (empty when absent)."""
    if not payload:
        return []
    try:
        value = json.loads(payload).get(key)
    except (ValueError, AttributeError):
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _gate_items(title: str, gate: GateResult) -> list[Line]:
    verdict = "ready" if gate.ready else "not ready"
    lines: list[Line] = [(Part(f"{title}: {verdict}", Role.OK if gate.ready else Role.ALERT),)]
    for item in gate.items:
        if item.ok:
            lines.append((Part(f"[x] {item.label}", Role.OK),))
        else:
            lines.append((Part(f"[ ] {item.detail or item.label}", Role.ALERT),))
    if not gate.items:
        lines += [(Part(f"[ ] {reason}", Role.ALERT),) for reason in gate.reasons]
    return lines


def _discharge(view: SessionView) -> LogEntry:
    """The discharge: who, the gate met or overridden (who, the co-signer, why), an
    observation ended early, escort, no-driving instruction, REMS minute, the gate stored and,
    once the record changed after discharge, the gate judged again on it."""
    assert view.discharged_at is not None
    stored = view.stored_gate
    head: list[Part] = [Part("Discharged", Role.STRONG)]
    if view.override_reason:
        head += [Part(": gate NOT met, "), Part("OVERRIDDEN", Role.WARN)]
        if view.discharged_by:
            head.append(Part(f" by {view.discharged_by}"))
        if view.discharge_cosigned_by:
            head.append(Part(f", co-signed by {view.discharge_cosigned_by}"))
        head.append(Part(f": {view.override_reason}"))
    elif stored is not None and stored.ready:
        head.append(Part(": gate met", Role.OK))
    lines: list[Line] = [tuple(head)]
    if view.ended_early:
        lines.append(
            (Part("OBSERVATION ENDED EARLY", Role.ALERT), Part(": before the minimum observation"))
        )
    lines.append((Part("escort: "), Part(view.escort or "not recorded", Role.STRONG)))
    lines.append((Part("no-driving instruction given: "), Part(yes_no(view.instructions_given))))
    if view.ready_minute is not None or view.ready_minute_proposed is not None:
        answer = "-" if view.ready_minute is None else str(view.ready_minute)
        proposed = "-" if view.ready_minute_proposed is None else view.ready_minute_proposed
        lines.append(
            (
                Part("REMS ready to leave at minute "),
                Part(answer, Role.STRONG),
                Part(
                    f" (proposed {proposed}, answered by {view.ready_minute_by or '-'})", Role.NOTE
                ),
            )
        )
    if (marker := view.unreadable_part(STORED_GATE)) is not None:
        lines.append((Part(f"gate stored at discharge UNREADABLE ({marker.why})", Role.ALERT),))
    elif stored is None:
        lines.append((Part("gate not stored (discharged before it was kept)", Role.NOTE),))
    else:
        lines += _gate_items("gate stored at discharge", stored.result)
    if view.gate_now is not None:
        lines += _gate_items("gate judged again on the record as it is now", view.gate_now)
    if view.rems_changed_after_discharge:
        changed = ", ".join(view.rems_changed_after_discharge)
        lines.append((Part("REMS answers changed after discharge: ", Role.WARN), Part(changed)))
    return LogEntry(view.discharged_at, EntryKind.DISCHARGE, tuple(lines), by=view.discharged_by)


_REMS_FIELDS = {
    "sedation": "sedation",
    "dissociation": "dissociation",
    "respiratory_depression": "respiratory depression",
}


def _rems(audit: Sequence[AuditView]) -> Iterable[LogEntry]:
    """The REMS form marked submitted, and its proposals corrected, from the audit rows."""
    for row in audit:
        if row.action == "rems.submit":
            yield LogEntry(
                row.at,
                EntryKind.REMS,
                ((Part("REMS form marked submitted", Role.OK),),),
                by=row.user,
            )
        elif row.action == "rems.correct":
            after = json.loads(row.after) if row.after else {}
            field = next((k for k in after if k in _REMS_FIELDS), None)
            answer = "yes" if field and after[field] else "no"
            what = _REMS_FIELDS.get(field or "", "an answer")
            yield LogEntry(
                row.at,
                EntryKind.REMS,
                (
                    (
                        Part("REMS answer corrected", Role.WARN),
                        Part(f": {what} {answer}: {row.reason or '-'}"),
                    ),
                ),
                by=row.user,
            )


def _sign_offs(view: SessionView, audit: Sequence[AuditView]) -> Iterable[LogEntry]:
    """Every sign-off, withdrawn ones too (the view's; without them, the audit rows'; else
    the one in force)."""
    if view.signoffs:
        for given in view.signoffs:
            yield _sign_off(given.at, given.by)
        return
    signed = [row for row in audit if row.action == "session.sign"]
    if signed:
        for row in signed:
            yield _sign_off(row.at, row.user)
    elif view.signed_at is not None:
        yield _sign_off(view.signed_at, view.signed_by)


def _sign_off(at: datetime, by: str | None) -> LogEntry:
    return LogEntry(
        at,
        EntryKind.SIGN,
        (
            (
                Part("Signed off", Role.OK),
                Part(f": reviewed by {by or '-'} at {clock_text(at)}", Role.STRONG),
            ),
        ),
        by=by,
    )
