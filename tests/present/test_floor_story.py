"""The floor told once (monitor.present.floor): a row per active session, most urgent first,
its cells with roles; the station imports it from there, and the preview of a reading's flags is
a rule of monitor.judge."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from datetime import timedelta

from monitor import judge
from monitor.core.entry import parse_entry
from monitor.core.gate import GateResult
from monitor.core.rules import Severity
from monitor.core.schedule import CheckKind, CheckState, CheckStatus
from monitor.present import floor as story
from monitor.present.floor import COLUMNS, Cell, floor, next_check_text
from monitor.present.parts import Part, Role, plain
from monitor.views import FlagView, ReadingView, SessionView
from tests.helpers import DOSED, at

NOW = at(50)


def reading(rid: int, minutes: float, entry: str, *flags: FlagView) -> ReadingView:
    return ReadingView(
        id=rid,
        session_id=1,
        measured_at=at(minutes),
        recorded_at=at(minutes),
        recorded_by="ana",
        vitals=parse_entry(entry),
        before_dosing=minutes <= 0,
        flags=flags,
    )


def flag(fid: int, rid: int, measure: str, severity: Severity, acked: bool = False) -> FlagView:
    return FlagView(
        id=fid,
        reading_id=rid,
        measure=measure,
        severity=severity,
        rule=f"{measure}-rule",
        message=f"{measure} flagged",
        acknowledged_at=at(45) if acked else None,
        acknowledged_by="ana" if acked else None,
        action="rechecked" if acked else None,
    )


def check(label: str, minutes: float | None, status: CheckStatus) -> CheckState:
    return CheckState(
        label=label,
        kind=CheckKind.SCHEDULED,
        due_at=None if minutes is None else at(minutes),
        measures=(),
        status=status,
    )


def session(sid: int, bay: str | None, **changes: object) -> SessionView:
    values: dict[str, object] = dict(
        id=sid,
        patient=f"MRN-{sid}",
        protocol="esketamine-84",
        treatment="esketamine",
        dose_mg=84.0,
        age=50,
        bay=bay,
        lot="L1",
        started_at=at(-30),
        started_by="ana",
        dosed_at=DOSED,
        discharged_at=None,
        discharged_by=None,
        override_reason=None,
        ready_minute=None,
        signed_by=None,
        signed_at=None,
        readings=(),
        checks=(),
        gate=GateResult(False, ("not yet",)),
        as_of=NOW,
    )
    values.update(changes)
    return SessionView(**values)  # type: ignore[arg-type]


HIGH = session(
    3,
    "Bay 3",
    readings=(
        reading(31, -10, "128/82 hr 74 spo2 98 rr 14 moaas 5 cadss 0"),
        reading(
            32,
            40,
            "184/102 hr 92 spo2 91",
            flag(1, 32, "systolic", Severity.HIGH),
            flag(2, 32, "spo2", Severity.LOW),
        ),
    ),
    checks=(check("+60 min", 60, CheckStatus.UPCOMING),),
)
OVERDUE = session(
    2,
    "Bay 2",
    readings=(reading(21, -5, "120/80 moaas 4", flag(3, 21, "moaas", Severity.MEDIUM, True)),),
    checks=(check("+40 min", 40, CheckStatus.OVERDUE),),
)
READY = session(
    1,
    None,
    checks=(check("+120 min", 120, CheckStatus.UPCOMING),),
    gate=GateResult(True, ()),
)
WAITING = session(4, "Bay 4", dosed_at=None, checks=())


def test_the_floor_is_most_urgent_first_with_its_cells_told():
    rows = floor([READY, WAITING, OVERDUE, HIGH], NOW)
    assert [r.session_id for r in rows] == [3, 2, 4, 1]
    assert [[plain((p,)) for p in r.parts()] for r in rows] == [
        ["!!!", "Bay 3", "MRN-3", "esketamine-84", "0:50", "+60 in 10m",
         "184/102", "92", "91", "14", "5", "0", ""],
        ["!!", "Bay 2", "MRN-2", "esketamine-84", "0:50", "+40 overdue 10m",
         "120/80", "-", "-", "-", "4", "-", ""],
        ["", "Bay 4", "MRN-4", "esketamine-84", "-", "awaiting dose",
         "-", "-", "-", "-", "-", "-", ""],
        ["", "-", "MRN-1", "esketamine-84", "0:50", "+120 in 70m",
         "-", "-", "-", "-", "-", "-", "ready"],
    ]  # fmt: skip
    high, overdue, _, ready = rows
    assert high.alarm_part == Part("!!!", Role.HIGH)
    assert high.cells["bp"] == Cell("184/102", Severity.HIGH)
    assert high.cells["bp"].part == Part("184/102", Role.HIGH)
    assert high.cells["spo2"].part == Part("91", Role.LOW)
    assert high.cells["rr"].part == Part("14")
    assert (high.high_unacknowledged, high.open_flags) == (True, 1)
    assert overdue.alarm_part == Part("!!", Role.MEDIUM)
    assert overdue.next_part == Part("+40 overdue 10m", Role.WARN)
    assert overdue.cells["moaas"].part == Part("4", Role.MEDIUM)
    assert (overdue.overdue, overdue.medium_alarm) == (True, True)
    assert ready.ready_part == Part("ready", Role.OK)
    assert len(ready.parts()) == len(COLUMNS) + 7


def test_the_next_check_reads_as_the_station_says_it():
    assert next_check_text(None, NOW) == "-"
    assert next_check_text(check("+40 min", 40, CheckStatus.DUE), at(40)) == "+40 due"
    assert next_check_text(check("+40 min", 40, CheckStatus.DUE), at(42)) == "+40 due 2m ago"
    assert next_check_text(check("+15 min", 15, CheckStatus.MISSED), NOW) == "+15 missed"
    assert next_check_text(check("baseline", None, CheckStatus.DUE), NOW) == "baseline due"
    recheck = replace(check("BP recheck +55 min", 55, CheckStatus.UPCOMING), kind=CheckKind.RECHECK)
    assert next_check_text(recheck, NOW) == "BP recheck in 5m"
    assert story.floor_row(HIGH, NOW + timedelta(hours=2)).since_dose == "2:50"


def test_the_floor_is_told_in_one_place_and_the_preview_is_a_rule():
    assert importlib.util.find_spec("monitor.floor") is None
    assert story.COLUMNS == COLUMNS
    assert callable(judge.preview_flags)
