"""``session show``'s text: a session's story (:mod:`monitor.present.record`) as the command
line prints it (docs/interface.md). The facts, each reading's notes, the discharge and the
review, a check's status and notes and a flag's line (who acknowledged it, who co-signed, a
flag raised when the baseline changed) and a serious event's alarm are the story's, worded
once; this module only lays them out with the readings' values and the events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from monitor.cli.output import local, printable, story_text

if TYPE_CHECKING:
    from monitor.views import SessionView


def or_dash(value: object) -> str:
    """A value, or ``-`` when there is none."""
    return "-" if value is None else str(value)


def _line(text: str) -> str:
    return printable(text) + "\n"


def session_text(view: SessionView) -> Iterator[str]:
    """``session show``: the whole story of a session as printable lines of text."""
    from monitor.core.entry import format_entry
    from monitor.present.parts import plain
    from monitor.present.record import (
        alarm_line,
        check_notes,
        check_status,
        discharge_lines,
        flag_line,
        note_texts,
        recorders,
        review_lines,
        session_facts,
    )
    from monitor.present.unreadable import unreadable_lines

    yield f"session {view.id}  {view.status}\n"
    yield from story_text(unreadable_lines(view))
    for label, value in (*session_facts(view), ("Recorded by", recorders(view))):
        yield _line(f"  {label + ':':<17}{value}")
    for reason in view.dosing_refusals:
        yield _line(f"  not ready to dose: {reason}")
    yield "checks:\n"
    for c in view.checks:
        measures = " ".join(m.value for m in c.measures)
        status = check_status(c, view.discharged_at).text
        yield f"  {c.label:<20} {local(c.due_at):<16}  {status}  [{measures}]\n"
        for note in check_notes(c, view.discharged_at):
            yield _line(f"      {plain(note)}")
    yield "readings:\n"
    for reading in view.readings:
        notes = "".join(f"  [{note}]" for note in note_texts(reading))
        yield _line(
            f"  #{reading.id} {local(reading.measured_at)} {format_entry(reading.vitals)}"
            f"  by {reading.recorded_by}{notes}"
        )
        for f in reading.flags:
            yield _line(f"      {plain(flag_line(f, reading.recorded_at))}  [flag {f.id}]")
    if view.events:
        yield "events:\n"
        for e in view.events:
            yield _line(f"  {local(e.at)} {e.summary}  by {e.by}")
            if (alarm := alarm_line(e)) is not None and e.alarm is not None:
                yield _line(f"      {plain(alarm)}  [flag {e.alarm.id}]")
    yield "discharge:\n"
    yield from (f"  {line}" for line in story_text(discharge_lines(view)))
    yield "review:\n"
    yield from (f"  {line}" for line in story_text(review_lines(view)))
