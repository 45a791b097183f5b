"""A check's status and notes and a flag's line, worded once (monitor.present.record): the
PDF, ``session show``, the detail's schedule and the session log render these words."""

from __future__ import annotations

from dataclasses import replace

from monitor.core.rules import Severity
from monitor.core.schedule import CheckKind, CheckSkip, CheckState, CheckStatus
from monitor.core.served import Served
from monitor.core.vitals import CheckMeasure
from monitor.present.parts import Part, Role, plain
from monitor.present.record import (
    check_name,
    check_notes,
    check_status,
    clock,
    flag_line,
    served_lines,
)
from monitor.views import FlagView
from tests.helpers import at


def _check(status: CheckStatus, **kw) -> CheckState:
    return CheckState("+15 min", CheckKind.SCHEDULED, at(15), (CheckMeasure.BP,), status, **kw)


def _notes(check: CheckState, discharged_at=None) -> list[str]:
    return [plain(note) for note in check_notes(check, discharged_at)]


def test_a_check_done_late_missed_or_not_reached_in_words():
    assert check_status(_check(CheckStatus.DONE), None) == Part("done", Role.OK)
    assert check_status(_check(CheckStatus.DONE, late=True), None) == Part("done (late)", Role.WARN)
    assert check_status(_check(CheckStatus.MISSED), None) == Part("missed", Role.ALERT)
    assert check_status(_check(CheckStatus.OVERDUE), None) == Part("overdue", Role.WARN)
    upcoming = _check(CheckStatus.UPCOMING)
    assert check_status(upcoming, None) == Part("upcoming", Role.PLAIN)
    # On a discharged session a check not yet due when it ended was not reached.
    assert check_status(upcoming, at(110)) == Part("not reached", Role.NOTE)
    assert _notes(upcoming, at(110)) == ["discharged before it was due"]
    # A closed record's status itself (schedule.at_discharge, JSON "not_reached").
    never = _check(CheckStatus.NOT_REACHED)
    assert check_status(never, at(110)) == Part("not reached", Role.NOTE)
    assert _notes(never, at(110)) == ["discharged before it was due"]


def test_a_check_an_early_override_discharge_left_reads_observation_ended_early():
    early = _check(CheckStatus.NOT_REACHED, ended_early=True)
    assert check_status(early, at(60)) == Part("observation ended early (override)", Role.NOTE)
    assert _notes(early, at(60)) == []


def test_a_cancelled_recheck_says_why_and_is_never_an_alarm():
    cancelled = CheckState(
        "BP recheck +55 min",
        CheckKind.RECHECK,
        at(55),
        (CheckMeasure.BP, CheckMeasure.HR),
        CheckStatus.UPCOMING,
        cancelled="reading voided",
    )
    assert check_status(cancelled, None) == Part("cancelled: reading voided", Role.NOTE)
    assert _notes(cancelled) == []
    closed = replace(cancelled, status=CheckStatus.NOT_REACHED)
    assert check_status(closed, at(60)) == Part("cancelled: reading voided", Role.NOTE)
    assert _notes(closed, at(60)) == []
    done = replace(cancelled, status=CheckStatus.DONE, done_at=at(50))
    assert check_status(done, None) == Part("cancelled: reading voided", Role.NOTE)
    assert _notes(done) == [f"done {clock(at(50))}"]


def _served(label: str, status: CheckStatus, **kw) -> CheckState:
    return CheckState(label, CheckKind.SCHEDULED, at(40), (CheckMeasure.BP,), status, **kw)


def test_what_a_reading_served_and_what_remains_not_done_in_words():
    told = Served(
        (_served("+40 min", CheckStatus.DONE, late=True),),
        (_served("+15 min", CheckStatus.MISSED), _served("+30 min", CheckStatus.OVERDUE)),
    )
    lines = served_lines(told)
    assert [plain(line) for line in lines] == [
        "served +40 min (done late)",
        "not done: +15 min (missed), +30 min (overdue)",
    ]
    assert lines[1][1].role is Role.ALERT
    partial = _served("+40 min", CheckStatus.DUE, missing=(CheckMeasure.SPO2, CheckMeasure.CADSS))
    recheck = replace(_served("BP recheck +55 min", CheckStatus.DONE), kind=CheckKind.RECHECK)
    assert [plain(line) for line in served_lines(Served((partial, recheck), ()))] == [
        "served +40 min (still needs spo2 cadss), BP recheck +55 min (done)"
    ]
    assert [plain(line) for line in served_lines(Served((), ()))] == ["served no scheduled check"]


def test_a_checks_notes_say_why_it_was_not_done_or_that_nobody_said():
    skip = CheckSkip("ana", at(50), "patient asleep")
    assert _notes(_check(CheckStatus.MISSED, skip=skip)) == [
        f"not done: patient asleep (ana, {clock(at(50))})"
    ]
    assert _notes(_check(CheckStatus.MISSED)) == ["alarm: no reason recorded"]
    assert _notes(_check(CheckStatus.OVERDUE)) == ["alarm: no reason recorded"]
    assert _notes(_check(CheckStatus.DONE, pre_discharge=True)) == ["pre-discharge check"]
    assert _notes(_check(CheckStatus.DONE)) == []


def test_a_check_is_named_by_its_kind():
    assert check_name(_check(CheckStatus.DONE)) == "Check +15 min"
    baseline = CheckState("baseline", CheckKind.BASELINE, at(0), (), CheckStatus.DONE)
    assert check_name(baseline) == "Baseline check"
    recheck = CheckState("BP recheck +25 min", CheckKind.RECHECK, at(25), (), CheckStatus.DUE)
    assert check_name(recheck) == "BP recheck +25 min"


def _flag(severity: Severity, **kw) -> FlagView:
    return FlagView(1, 3, "systolic", severity, "systolic.high", "SBP 184 >= 180", **kw)


def test_a_flags_line_says_who_acknowledged_it_when_and_what_was_done():
    acked = _flag(Severity.HIGH, acknowledged_at=at(52), acknowledged_by="ana", action="rechecked")
    line = flag_line(acked, at(40))
    assert plain(line) == (
        f"!!! SBP 184 >= 180  acknowledged by ana {clock(at(52))}, after 12 min: rechecked"
    )
    assert (line[0].role, line[-1].role) == (Role.HIGH, Role.OK)
    assert plain(flag_line(_flag(Severity.HIGH), at(40))).endswith("  NOT acknowledged")
    assert flag_line(_flag(Severity.HIGH), at(40))[-1].role is Role.ALERT
    low = flag_line(_flag(Severity.LOW), at(40))
    assert low[-1] == Part("not acknowledged", Role.NOTE)
