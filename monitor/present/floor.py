"""The observation floor as the station shows it: one row per active session, most urgent first.

Plain functions over :class:`SessionView`; the station draws them, tests read them headless.
Each row's cells come as :class:`~monitor.present.parts.Part` pieces with a role
(:meth:`FloorRow.parts`), so a face only styles them (docs/station.md, "The floor").
Urgency: unacknowledged high alarms first, then medium alarms (open medium flags, overdue
checks, missed checks nobody has explained), then by the next check's due time. The floor
judges each session again at the moment it is drawn (:func:`monitor.judge.rejudge`), so
statuses and countdowns advance from the clock between loads. A bedside monitor's reading that
awaits a nurse's validation shows at once, its values marked (``185/100?``) and the row ``m?``;
it counts for nothing until validated (docs/devices.md, "Validation").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.core.config import ClinicConfig
from monitor.core.gate import minutes_between
from monitor.core.rules import Severity
from monitor.core.schedule import CheckKind, CheckState, CheckStatus
from monitor.core.served import Served
from monitor.core.vitals import Measure
from monitor.judge import rejudge
from monitor.present.parts import SEVERITY_ROLE, Line, Part, Role, plain, plural
from monitor.present.record import clock, reading_values
from monitor.present.validation import device_name, pending, validation_text
from monitor.views import FlagView, ReadingView, SessionView

#: After a value from a bedside monitor that no nurse has validated yet: ``185/100?``.
PENDING_MARK = "?"
#: In the row's last column while the monitor's readings await validation (``m`` validates).
TO_VALIDATE = "m?"
#: The measures shown on the floor, BP as one column.
COLUMNS = ("bp", "hr", "spo2", "rr", "moaas", "cadss")
_COLUMN_MEASURES = {
    "bp": (Measure.SYSTOLIC, Measure.DIASTOLIC),
    "hr": (Measure.HEART_RATE,),
    "spo2": (Measure.SPO2,),
    "rr": (Measure.RESP_RATE,),
    "moaas": (Measure.MOAAS,),
    "cadss": (Measure.CADSS,),
}


@dataclass(frozen=True)
class Cell:
    """A latest value as text, with the worst flag it carried; ``pending`` when it comes from
    a bedside monitor's reading no nurse has validated yet (docs/devices.md)."""

    text: str
    severity: Severity | None
    pending: bool = False

    @property
    def shown(self) -> str:
        """The value as the floor shows it: ``185/100?`` while it awaits validation."""
        return f"{self.text}{PENDING_MARK}" if self.pending else self.text

    @property
    def role(self) -> Role:
        """How the value is read: by the worst flag it carried."""
        return SEVERITY_ROLE[self.severity] if self.severity else Role.PLAIN

    @property
    def part(self) -> Part:
        """The value with its role (marked while it awaits validation)."""
        return Part(self.shown, self.role)


@dataclass(frozen=True)
class FloorRow:
    """One active session on the station."""

    session_id: int
    bay: str
    patient: str
    protocol: str
    dosed_at: datetime | None
    since_dose: str
    next_check: CheckState | None
    next_text: str
    cells: dict[str, Cell]
    alarm: Severity | None
    high_unacknowledged: bool
    overdue: bool
    ready: bool
    open_flags: int
    #: An open medium flag, an overdue check or a missed check nobody has explained.
    medium_alarm: bool = False
    #: The bedside monitor's readings that await a nurse's validation (``m``).
    to_validate: int = 0

    @property
    def alarm_mark(self) -> str:
        """``!!!``, ``!!``, ``!`` or nothing."""
        return self.alarm.symbol if self.alarm else ""

    @property
    def alarm_part(self) -> Part:
        """The alarm mark with the role of its severity."""
        return Part(self.alarm_mark, SEVERITY_ROLE[self.alarm] if self.alarm else Role.PLAIN)

    @property
    def next_part(self) -> Part:
        """The next check, a warning when a check is overdue or missed."""
        return Part(self.next_text, Role.WARN if self.overdue else Role.PLAIN)

    @property
    def ready_part(self) -> Part:
        """``m?`` while the monitor's readings await validation (the gate was judged without
        them), else ``ready`` when the discharge gate is met, else nothing."""
        if self.to_validate:
            return Part(TO_VALIDATE, Role.WARN)
        return Part("ready", Role.OK) if self.ready else Part("")

    @property
    def marked(self) -> bool:
        """A value on the row awaits validation (it is shown with :data:`PENDING_MARK`)."""
        return any(cell.pending for cell in self.cells.values())

    def parts(self) -> tuple[Part, ...]:
        """The row's cells in the station's order: the alarm, bay, patient, protocol, time
        since the dose, the next check, each of :data:`COLUMNS`, ready."""
        return (
            self.alarm_part,
            Part(self.bay),
            Part(self.patient),
            Part(self.protocol),
            Part(self.since_dose),
            self.next_part,
            *(self.cells[column].part for column in COLUMNS),
            self.ready_part,
        )


def _worst(severities: list[Severity]) -> Severity | None:
    return max(severities, key=lambda s: s.rank) if severities else None


def awaiting_validation(view: SessionView) -> list[ReadingView]:
    """The bedside monitor's readings of ``view`` that await a nurse's validation (neither
    voided nor corrected), oldest first (:func:`monitor.present.validation.pending`)."""
    return sorted(pending(view.readings), key=lambda r: (r.measured_at, r.id))


def source_words(reading: ReadingView) -> str | None:
    """Where a monitor's reading came from and whether a nurse validated it, worded once
    (:func:`monitor.present.validation.validation_text`); None for a typed reading."""
    return validation_text(reading, reading.measured_at)


def pending_line(reading: ReadingView) -> str:
    """A reading awaiting validation in one line, as the validation dialog lists it:
    ``10:42  185/100 hr 88 spo2 97 rr 14  (MP5-001)``."""
    return f"{clock(reading.measured_at)}  {reading_values(reading)}  ({device_name(reading)})"


def latest_values(view: SessionView) -> dict[str, Cell]:
    """The latest value in force of each floor column, with the worst flag it carried (a
    monitor's reading that awaits validation is left out: see :func:`shown_values`)."""
    return _latest(view.in_force)


def shown_values(
    view: SessionView, waiting: Sequence[ReadingView] | None = None
) -> dict[str, Cell]:
    """What the floor shows in each column: :func:`latest_values`, unless a monitor's reading
    that awaits validation is later; then its value, marked (:attr:`Cell.pending`): the nurse
    sees the monitor's numbers at once, and that they do not count yet. ``waiting`` is
    :func:`awaiting_validation` of ``view`` when the caller has it."""
    pending_ids = {r.id for r in (awaiting_validation(view) if waiting is None else waiting)}
    return _latest([r for r in view.readings if r.in_force or r.id in pending_ids])


def _latest(standing: list[ReadingView]) -> dict[str, Cell]:
    """Each column's value from the latest of ``standing`` that has it: one pass from the
    newest, ended once every column is found (a session's readings grow all along)."""
    found: dict[str, ReadingView] = {}
    missing = list(_COLUMN_MEASURES)
    for reading in sorted(standing, key=lambda r: (r.measured_at, r.id), reverse=True):
        vitals = reading.vitals
        for column in [c for c in missing if vitals.get(_COLUMN_MEASURES[c][0]) is not None]:
            found[column] = reading
            missing.remove(column)
        if not missing:
            break
    cells: dict[str, Cell] = {}
    for column, measures in _COLUMN_MEASURES.items():
        latest = found.get(column)
        if latest is None:
            cells[column] = Cell("-", None)
            continue
        names = {m.value for m in measures}
        severity = _worst([f.severity for f in latest.flags if f.measure in names])
        values = [latest.vitals.get(m) for m in measures]
        text = "/".join(str(v) for v in values)
        cells[column] = Cell(text, severity, pending=latest.awaits_validation)
    return cells


def _clock_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else ""
    minutes = abs(minutes)
    return f"{sign}{minutes // 60}:{minutes % 60:02d}"


#: What the floor calls a BP recheck, wherever it names one.
BP_RECHECK = "BP recheck"


def check_name(check: CheckState) -> str:
    """A check as the floor names it: ``+15``, ``baseline``, or ``BP recheck`` (never by its
    due minute, which reads as the scheduled check of that minute)."""
    if check.kind is CheckKind.RECHECK:
        return BP_RECHECK
    return check.label.removesuffix(" min")


def shown_check(checks: Sequence[CheckState]) -> CheckState | None:
    """The check a row shows: the first of ``checks`` (in due order), a BP recheck before a
    scheduled check due at the same minute (the recheck is what the flag added; the
    scheduled one shows next if the reading does not serve it too)."""
    if not checks:
        return None
    first = checks[0]
    return next(
        (c for c in checks if c.due_at == first.due_at and c.kind is CheckKind.RECHECK), first
    )


def next_check_text(check: CheckState | None, now: datetime) -> str:
    """``+40 in 3m``, ``+40 due``, ``+40 due 2m ago``, ``+15 overdue 16m``, ``+15 missed``,
    ``BP recheck in 15m``, ``baseline due``, or ``-``."""
    if check is None:
        return "-"
    label = check_name(check)
    if check.due_at is None:
        return f"{label} due"
    minutes = minutes_between(check.due_at, now)
    if check.status is CheckStatus.MISSED:
        return f"{label} missed"
    if check.status is CheckStatus.OVERDUE:
        return f"{label} overdue {minutes}m"
    if check.status is CheckStatus.DUE:
        return f"{label} due" if minutes <= 0 else f"{label} due {minutes}m ago"
    return f"{label} in {-minutes}m"


@dataclass(frozen=True)
class RowBasis:
    """What a row shows that depends on the judged session only, not on the moment: the
    station works it out once per judgement and only the countdowns every second."""

    check_alarms: tuple[CheckState, ...]
    shown: CheckState | None
    open_flags: tuple[FlagView, ...]
    cells: dict[str, Cell]
    alarms: tuple[Severity, ...]
    to_validate: int = 0


def row_basis(view: SessionView) -> RowBasis:
    """The moment-independent part of ``view``'s row."""
    check_alarms = tuple(view.check_alarms())
    open_flags = tuple(view.open_flags())
    waiting = awaiting_validation(view)
    cells = shown_values(view, waiting)
    alarms = [f.severity for f in open_flags]
    if check_alarms:
        alarms.append(Severity.MEDIUM)
    alarms += [c.severity for c in cells.values() if c.severity is Severity.LOW]
    return RowBasis(
        check_alarms=check_alarms,
        shown=shown_check(check_alarms or [c for c in view.checks if c.pending]),
        open_flags=open_flags,
        cells=cells,
        alarms=tuple(alarms),
        to_validate=len(waiting),
    )


def floor_row(view: SessionView, now: datetime, basis: RowBasis | None = None) -> FloorRow:
    """The dashboard row of one session at ``now`` (as judged in ``view``); ``basis`` is
    :func:`row_basis` of the same ``view`` when the caller kept it."""
    basis = basis or row_basis(view)
    check_alarms, shown, open_flags, cells = (
        basis.check_alarms,
        basis.shown,
        basis.open_flags,
        basis.cells,
    )
    alarms = list(basis.alarms)
    since = "-" if view.dosed_at is None else _clock_text(minutes_between(view.dosed_at, now))
    return FloorRow(
        session_id=view.id,
        bay=view.bay or "-",
        patient=view.patient,
        protocol=view.protocol,
        dosed_at=view.dosed_at,
        since_dose=since,
        next_check=shown,
        next_text=(
            "awaiting dose"
            if shown is None and view.dosed_at is None
            else next_check_text(shown, now)
        ),
        cells=cells,
        alarm=_worst(alarms),
        high_unacknowledged=any(f.severity is Severity.HIGH for f in open_flags),
        overdue=bool(check_alarms),
        ready=view.gate.ready,
        open_flags=len(open_flags),
        medium_alarm=bool(check_alarms) or any(f.severity is Severity.MEDIUM for f in open_flags),
        to_validate=basis.to_validate,
    )


def floor(
    views: list[SessionView],
    now: datetime,
    config: ClinicConfig | None = None,
    basis_of: Callable[[SessionView], RowBasis] = row_basis,
) -> list[FloorRow]:
    """Every active session, most urgent first, judged at ``now`` when ``config`` is given;
    ``basis_of`` may answer from a cache of :func:`row_basis`."""
    if config is not None:
        views = [rejudge(v, now, config) for v in views]
    rows = [floor_row(v, now, basis_of(v)) for v in views]

    def urgency(row: FloorRow) -> tuple[int, int, float, int]:
        due = row.next_check.due_at if row.next_check and row.next_check.due_at else None
        return (
            0 if row.high_unacknowledged else 1,
            0 if row.medium_alarm else 1,
            due.timestamp() if due else float("-inf") if row.dosed_at is None else float("inf"),
            row.session_id,
        )

    return sorted(rows, key=urgency)


def _counted(check: CheckState) -> Part:
    """A check the reading served: done on time or late, or what it still needs."""
    name = "the baseline" if check.kind is CheckKind.BASELINE else check_name(check)
    if check.status is not CheckStatus.DONE:
        missing = " ".join(m.value for m in check.missing)
        return Part(f"{name} (still needs {missing})", Role.WARN)
    if check.kind is CheckKind.BASELINE:
        return Part(name, Role.OK)
    return Part(f"{name} ({'late' if check.late else 'on time'})", Role.OK)


def _names(checks: Sequence[CheckState]) -> str:
    return ", ".join(dict.fromkeys(check_name(c) for c in checks))


def saved_line(patient: str, served: Served, flags: Sequence[FlagView] = ()) -> Line:
    """What the station says once a reading is saved (docs/station.md, "After a save"), on one
    line: the flags the reading raised, most severe first, the check it counted for, and the
    checks due before it that remain not done, with what resolves them: ``Saved for MRN-7001:
    !!! SBP 185 >= 180; counted for +30 (on time); +15 not done: a to record why``. An overdue
    or missed check stays an alarm until a nurse records why it was not done (`a`); one still
    in its window can yet be done."""
    return saved_lines(patient, served, flags)[0]


def saved_lines(
    patient: str, served: Served, flags: Sequence[FlagView] = (), width: int | None = None
) -> tuple[Line, ...]:
    """:func:`saved_line` in lines of at most ``width`` columns (None: one line): one line when
    it fits with at least the worst flag named (those that do not fit counted, ``+2 more``,
    the least severe first); else the flags on the first line, cut so, and the checks whole on
    the second."""
    head = (Part("Saved for "), Part(patient, Role.STRONG), Part(": "))
    checks = _checks(served)
    said = _flags(flags)
    if not said:
        return ((*head, *checks),)
    for shown in range(len(said), 0, -1):
        line = (*head, *_listed(said, shown), Part("; "), *checks)
        if width is None or len(plain(line)) <= width:
            return (line,)
    assert width is not None  # (None took the first line above)
    first = checks[0]
    checks = (Part(first.text[:1].upper() + first.text[1:], first.role), *checks[1:])
    for shown in range(len(said), 0, -1):
        line = (*head, *_listed(said, shown))
        if len(plain(line)) <= width:
            return line, checks
    worst = max(flags, key=lambda f: f.severity.rank).severity
    count = Part(f"{worst.symbol} {plural(len(flags), 'flag')}", SEVERITY_ROLE[worst])
    return (*head, count), checks


def _checks(served: Served) -> Line:
    """The check a reading counted for, and the checks before it left not done."""
    parts: list[Part] = []
    if served.checks:
        parts.append(Part("counted for "))
        for index, check in enumerate(served.checks):
            parts += [Part(" and ")] if index else []
            parts.append(_counted(check))
    else:
        parts.append(Part("counted for no scheduled check", Role.NOTE))
    alarms = [c for c in served.not_done if c.is_alarm]
    due = [c for c in served.not_done if not c.is_alarm]
    if alarms:
        parts += [Part("; "), Part(f"{_names(alarms)} not done", Role.WARN)]
        parts += [Part(": "), Part("a", Role.STRONG), Part(" to record why")]
    if due:
        parts += [Part("; "), Part(f"{_names(due)} still due", Role.WARN)]
    return tuple(parts)


def _flags(flags: Sequence[FlagView]) -> list[Part]:
    """Each flag as its symbol and finding (``!!! SBP 185 >= 180``), most severe first."""
    ranked = sorted(flags, key=lambda f: -f.severity.rank)
    return [
        Part(f"{f.severity.symbol} {f.message.partition(': ')[0]}", SEVERITY_ROLE[f.severity])
        for f in ranked
    ]


def _listed(said: list[Part], shown: int) -> Line:
    """The first ``shown`` flags, the rest counted (``+2 more``)."""
    line: list[Part] = []
    for part in said[:shown]:
        line += [Part(", ")] if line else []
        line.append(part)
    rest = len(said) - shown
    return (*line, *((Part(f", +{rest} more", Role.NOTE),) if rest else ()))
