"""What the session chart shows, worked out once for both of its drawings (docs/exports.md,
"The chart"): matplotlib's for a chart file of its own (``--format png|svg``,
:mod:`monitor.export.chart`) and fpdf2's own vector graphics inside the PDF record
(:mod:`monitor.export.pdf_chart`, no matplotlib: issue #23, the PDF under 100 MB).

Systolic, diastolic, heart rate and SpO2 against minutes since dosing, each in its own panel
with its threshold bands shaded and every flag marked. Readings in force are joined by a
line and carry their flags. A superseded (corrected) reading is a hollow grey circle, a
voided one a hollow grey cross: never joined, never ringed, no flag symbol, since they no
longer count (their flags stay in the record's tables). A reading from a bedside monitor that
awaits a nurse's validation is a hollow circle in its measure's colour: not joined (it does not
count yet), but ringed for its flags, which stand at once (docs/devices.md). A flag is a ring
in its severity's colour with its symbol (``!!!`` high, ``!!`` medium, ``!`` low), so colour
is never the only cue; each panel leaves room for the symbol inside it (or writes it under its
point when the point is at the panel's outer limit), so no label is cut. Dosing, the end of an
infusion and the discharge are lines of their own style, each named over the chart. The bands
are the clinic's any-time thresholds in force at the export; flags were judged when each
reading was saved (rises from the baseline and before-dosing limits are flags without a band).

Nothing here draws: no matplotlib, no fpdf2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from monitor.core.rules import Severity
from monitor.core.vitals import Measure
from monitor.export.common import local, minutes_after
from monitor.present.validation import FROM_MONITOR, NOT_VALIDATED, pending

if TYPE_CHECKING:
    from monitor.core.rules import Thresholds
    from monitor.views import ReadingView, SessionView

#: Severity colours (IEC 60601-1-8: red, yellow, cyan), darkened to print on white.
COLOURS = {Severity.HIGH: "#c62828", Severity.MEDIUM: "#e69500", Severity.LOW: "#0097a7"}
#: Readings that no longer count (superseded or voided).
WITHDRAWN = "#8c8c8c"
BAND_ALPHA = {Severity.HIGH: 0.16, Severity.MEDIUM: 0.20, Severity.LOW: 0.14}
#: A band's swatch in the key.
KEY_ALPHA = 0.45
LINE = {
    Measure.SYSTOLIC: "#1f4e9c",
    Measure.DIASTOLIC: "#5b7fc7",
    Measure.HEART_RATE: "#2e7d32",
    Measure.SPO2: "#6a1b9a",
}
#: The line of readings in force, in the key.
KEY_LINE = "#333333"
GRID = "#dddddd"
PANELS = (
    (Measure.SYSTOLIC, "SBP", "mmHg", 40),
    (Measure.DIASTOLIC, "DBP", "mmHg", 40),
    (Measure.HEART_RATE, "HR", "/min", 40),
    (Measure.SPO2, "SpO2", "%", 12),
)
#: The value range each panel shows at least around its readings, and its outer limits.
LIMITS = {
    Measure.SYSTOLIC: (50, 300),
    Measure.DIASTOLIC: (20, 200),
    Measure.HEART_RATE: (20, 300),
    Measure.SPO2: (50, 101),
}
#: How a superseded and a voided reading are drawn: a hollow grey marker each (sizes in
#: points; the gid names the artist in matplotlib's figure).
SUPERSEDED: dict[str, Any] = {
    "marker": "o",
    "ms": 5.5,
    "label": "corrected (superseded)",
    "gid": "superseded",
}
VOIDED: dict[str, Any] = {"marker": "X", "ms": 6.5, "label": "voided", "gid": "voided"}
#: How a device reading awaiting validation is drawn: a hollow circle in its measure's colour
#: (named in the key only on a chart that has one).
UNVALIDATED: dict[str, Any] = {
    "marker": "o",
    "ms": 5.0,
    "label": f"{FROM_MONITOR}, {NOT_VALIDATED}",
    "gid": "unvalidated",
}
#: The moments marked across every panel: a line style each (matplotlib's: the dashes in
#: points, times the line's width), named over the chart.
MOMENTS: dict[str, dict[str, Any]] = {
    "dose": {"color": "#1b1b1b", "ls": "-", "lw": 1.0},
    "infusion end": {"color": "#4e342e", "ls": (0, (6, 2, 1.5, 2)), "lw": 1.0},
    "discharge": {"color": "#1b1b1b", "ls": (0, (1.2, 1.4)), "lw": 1.5},
}
#: Points a flag's symbol takes over its point (offset and text), and a moment's name.
SYMBOL_ROOM = 16.0
SYMBOL_OFFSET = 6.0
MOMENT_FONT = 6.5


@dataclass(frozen=True)
class ChartSize:
    """Inches and dots per inch of a drawn chart."""

    width: float = 10.0
    height: float = 7.0
    dpi: int = 120


#: A chart file of its own (1200 x 840 px as PNG).
STANDALONE = ChartSize()
#: The chart inside a PDF page: 190 mm wide (drawn as vector graphics: sharp at any size).
IN_PDF = ChartSize(width=7.48, height=4.6, dpi=160)


@dataclass(frozen=True)
class Box:
    """A panel's place on the chart, in inches from the chart's top left corner."""

    left: float
    top: float
    width: float
    height: float


#: The margins round the panels, in inches (over them: the title, two lines, and the
#: moments' names; under them: the minutes and the key), and the gap between two panels as
#: a share of a panel's height.
LEFT, RIGHT, TOP, BOTTOM, GAP = 0.75, 0.15, 0.7, 1.05, 0.12


def boxes(size: ChartSize) -> list[Box]:
    """The panels' places, top to bottom (as matplotlib's ``subplots_adjust`` with the
    margins above lays them out)."""
    count = len(PANELS)
    height = (size.height - TOP - BOTTOM) / (count + GAP * (count - 1))
    width = size.width - LEFT - RIGHT
    return [Box(LEFT, TOP + n * height * (1 + GAP), width, height) for n in range(count)]


def symbol_room(size: ChartSize) -> float:
    """The share of a panel's height a flag's symbol takes over its point."""
    return SYMBOL_ROOM / (boxes(size)[0].height * 72)


def x_of(view: SessionView, reading: ReadingView) -> float:
    """A reading's place on the chart: minutes since dosing (or the session's start)."""
    origin = view.dosed_at or view.started_at
    return minutes_after(origin, reading.measured_at) or 0.0


def moments(view: SessionView) -> list[tuple[str, float]]:
    """The dose, the end of the infusion and the discharge, in minutes on the chart's axis
    (those the session has)."""
    origin = view.dosed_at or view.started_at
    marks: list[tuple[str, float]] = []
    if view.dosed_at is not None:
        marks.append(("dose", 0.0))
        if view.infusion_ended_at is not None:
            marks.append(("infusion end", minutes_after(origin, view.infusion_ended_at) or 0.0))
    if view.discharged_at is not None:
        marks.append(("discharge", minutes_after(origin, view.discharged_at) or 0.0))
    return marks


def limits(
    values: list[int], flagged: list[int], measure: Measure, span: int, room: float
) -> tuple[float, float]:
    """The panel's value range: its readings with some space around them, at least ``span``
    wide, within the outer limits; over the highest flagged value ``room`` (a fraction of the
    panel's height) for the flag's symbol."""
    low, high = LIMITS[measure]
    if not values:
        middle = {Measure.SPO2: 95}.get(measure, 100)
        return middle - span / 2, middle + span / 2
    bottom, top = float(min(values)), float(max(values))
    pad = max(5.0, (top - bottom) * 0.15)
    bottom, top = bottom - pad, top + pad
    if top - bottom < span:
        grow = (span - (top - bottom)) / 2
        bottom, top = bottom - grow, top + grow
    bottom = max(low, bottom)
    if flagged and room < 1:
        # top - highest >= room * (top - bottom): the symbol fits inside the panel.
        top = max(top, (max(flagged) - room * bottom) / (1 - room))
    return bottom, min(high, top)


@dataclass(frozen=True)
class Panel:
    """One measure's panel: what it draws, in minutes and values."""

    measure: Measure
    label: str
    unit: str
    #: The clinic's any-time bands: severity, bottom and top (within the outer limits).
    bands: list[tuple[Severity, float, float]]
    in_force: list[tuple[float, int]]
    superseded: list[tuple[float, int]]
    voided: list[tuple[float, int]]
    #: Each reading in force, or awaiting validation, with a flag on this measure: minutes,
    #: value, its worst severity.
    flagged: list[tuple[float, int, Severity]]
    #: The values shown, bottom and top.
    limits: tuple[float, float]
    #: Device readings awaiting a nurse's validation (neither corrected nor voided).
    unvalidated: list[tuple[float, int]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """No reading has this measure (the panel says so)."""
        return not (self.in_force or self.superseded or self.voided or self.unvalidated)


def panel(
    view: SessionView,
    measure: Measure,
    label: str,
    unit: str,
    span: int,
    thresholds: Thresholds,
    room: float,
) -> Panel:
    """What one measure's panel shows."""
    kept = [(r, x_of(view, r), r.vitals.get(measure)) for r in view.readings]
    present = [(r, x, v) for r, x, v in kept if v is not None]
    in_force = [(r, x, v) for r, x, v in present if r.in_force]
    waiting = {r.id for r in pending(view.readings)}
    flagged = [
        (x, v, max((f.severity for f in flags), key=lambda s: s.rank))
        for r, x, v in present
        if (r.in_force or r.id in waiting)
        and (flags := [f for f in r.flags if f.measure == measure.value])
    ]
    low, high = LIMITS[measure]
    bands = [
        (
            severity,
            low if band.low is None else band.low - 0.5,
            high if band.high is None else band.high + 0.5,
        )
        for severity in (Severity.LOW, Severity.MEDIUM, Severity.HIGH)
        for band in thresholds.absolute.bands.get(measure, {}).get(severity, ())
    ]
    return Panel(
        measure,
        label,
        unit,
        bands,
        [(x, v) for _, x, v in in_force],
        [(x, v) for r, x, v in present if r.voided is None and r.superseded_by is not None],
        [(x, v) for r, x, v in present if r.voided is not None],
        flagged,
        limits([v for _, _, v in present], [v for _, v, _ in flagged], measure, span, room),
        [(x, v) for r, x, v in present if r.id in waiting],
    )


@dataclass(frozen=True)
class Plan:
    """The whole chart of one session."""

    panels: list[Panel]
    #: The moments marked (name, minutes), and the minutes shown, left and right.
    moments: list[tuple[str, float]]
    x_limits: tuple[float, float]
    #: The two lines of the title (the patient id as the caller will print it).
    title: tuple[str, str]
    x_label: str

    @property
    def unvalidated(self) -> bool:
        """A device reading awaiting validation is drawn (the key then names its marker)."""
        return any(p.unvalidated for p in self.panels)


def plan(view: SessionView, thresholds: Thresholds, size: ChartSize, patient: str) -> Plan:
    """The chart of one session at ``size``; ``patient`` is the patient id as it will be
    printed (characters the font lacks already replaced)."""
    room = symbol_room(size)
    panels = [
        panel(view, measure, label, unit, span, thresholds, room)
        for measure, label, unit, span in PANELS
    ]
    xs = [x_of(view, r) for r in view.readings]
    marks = moments(view)
    right = max([*xs, *(m for _, m in marks), 10.0])
    left = min([*xs, *(m for _, m in marks), 0.0])
    origin = "dosing" if view.dosed_at is not None else "the session's start (not dosed)"
    status = "in progress" if view.discharged_at is None else "discharged"
    title = (
        f"Session {view.id}  ·  {view.protocol}  ·  "
        f"{local(view.dosed_at or view.started_at, '%Y-%m-%d')}  ·  {status}",
        f"patient {patient}",
    )
    return Plan(panels, marks, (left - 3, right + 3), title, f"minutes since {origin}")


def moment_names(
    marks: list[tuple[str, float]], x_limits: tuple[float, float], width: float
) -> list[tuple[str, float, str, int]]:
    """Where each moment's name goes over the top panel (``width`` points wide): its minute,
    its alignment (centred on its line; at an end of the axis ending, or starting, there) and
    its row (a name that would run into one already written goes a row higher)."""
    left, right = x_limits
    points_per_minute = width / (right - left)
    rows: list[float] = []  # where the last name written on each row ends, in points
    placed = []
    for name, minute in sorted(marks, key=lambda m: m[1]):
        wide = len(name) * MOMENT_FONT * 0.6  # about the name's width, in points
        at = (minute - left) * points_per_minute
        ha, start = "center", at - wide / 2
        if at + wide / 2 > width:
            ha, start = "right", at - wide
        elif start < 0:
            ha, start = "left", at
        row = next((i for i, end in enumerate(rows) if start > end + 3), len(rows))
        if row == len(rows):
            rows.append(0.0)
        rows[row] = start + wide
        placed.append((name, minute, ha, row))
    return placed


#: The steps between ticks matplotlib's locators choose from (times a power of ten).
Y_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)
X_STEPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def ticks(
    low: float, high: float, most: int, steps: tuple[float, ...], integer: bool = False
) -> list[float]:
    """Round values from ``low`` to ``high``, at most ``most`` intervals apart (the way
    matplotlib's ``MaxNLocator`` picks them: the smallest step of ``steps`` times a power of
    ten that needs no more)."""
    raw = (high - low) / max(1, most)
    scale = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for candidate in steps:
        step = candidate * scale
        if integer and (step < 1 or abs(step - round(step)) > 1e-9):
            continue
        if step >= raw * (1 - 1e-9):
            break
    else:
        step = steps[-1] * scale
    first = math.ceil(low / step - 1e-9) * step
    found = []
    value = first
    while value <= high + 1e-9 * step:
        found.append(round(value, 10) + 0.0)
        value += step
    return found


def tick_text(value: float) -> str:
    """A tick's label: a whole number without its decimals; a minus sign, not a hyphen."""
    text = f"{value:g}" if value != int(value) else str(int(value))
    return text.replace("-", "\u2212")
