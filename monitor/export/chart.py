"""The session chart (matplotlib): systolic, diastolic, heart rate and SpO2 against minutes
since dosing, each in its own panel with its threshold bands shaded and every flag marked
(docs/exports.md, "The chart").

Drawn on a :class:`matplotlib.figure.Figure` with the Agg canvas named explicitly, never
through ``pyplot``: no global backend or figure registry is touched, so the station may draw
one in a thread worker while its screen runs. The same figure is a PNG or SVG file of its own
(``--format png|svg``) and the PNG inside each PDF record.

Readings in force are joined by a line and carry their flags. A superseded (corrected) reading
is a hollow grey circle, a voided one a hollow grey cross: never joined, never ringed, no flag
symbol, since they no longer count (their flags stay in the record's tables). A flag is a ring
in its severity's colour with its symbol (``!!!`` high, ``!!`` medium, ``!`` low), so colour is
never the only cue; each panel leaves room for the symbol inside it (or writes it under its
point when the point is at the panel's outer limit), so no label is cut. Dosing, the end of an
infusion and the discharge are lines of their own style, each named over the chart. The bands
are the clinic's any-time thresholds in force at the export; flags were judged when each
reading was saved (rises from the baseline and before-dosing limits are flags without a band).
"""

from __future__ import annotations

import functools
import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.core.rules import Severity
from monitor.core.vitals import Measure
from monitor.export.common import local, minutes_after

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from monitor.core.rules import Thresholds
    from monitor.views import ReadingView, SessionView

#: Severity colours (IEC 60601-1-8: red, yellow, cyan), darkened to print on white.
COLOURS = {Severity.HIGH: "#c62828", Severity.MEDIUM: "#e69500", Severity.LOW: "#0097a7"}
#: Readings that no longer count (superseded or voided).
WITHDRAWN = "#8c8c8c"
_BAND_ALPHA = {Severity.HIGH: 0.16, Severity.MEDIUM: 0.20, Severity.LOW: 0.14}
_LINE = {
    Measure.SYSTOLIC: "#1f4e9c",
    Measure.DIASTOLIC: "#5b7fc7",
    Measure.HEART_RATE: "#2e7d32",
    Measure.SPO2: "#6a1b9a",
}
_PANELS = (
    (Measure.SYSTOLIC, "SBP", "mmHg", 40),
    (Measure.DIASTOLIC, "DBP", "mmHg", 40),
    (Measure.HEART_RATE, "HR", "/min", 40),
    (Measure.SPO2, "SpO2", "%", 12),
)
#: The value range each panel shows at least around its readings, and its outer limits.
_LIMITS = {
    Measure.SYSTOLIC: (50, 300),
    Measure.DIASTOLIC: (20, 200),
    Measure.HEART_RATE: (20, 300),
    Measure.SPO2: (50, 101),
}
#: How a superseded and a voided reading are drawn: a hollow grey marker each (the gid names
#: the artist in the figure).
SUPERSEDED: dict[str, Any] = {
    "marker": "o",
    "ms": 5.5,
    "label": "corrected (superseded)",
    "gid": "superseded",
}
VOIDED: dict[str, Any] = {"marker": "X", "ms": 6.5, "label": "voided", "gid": "voided"}
#: The moments marked across every panel: a line style each, named over the chart.
MOMENTS: dict[str, dict[str, Any]] = {
    "dose": {"color": "#1b1b1b", "ls": "-", "lw": 1.0},
    "infusion end": {"color": "#4e342e", "ls": (0, (6, 2, 1.5, 2)), "lw": 1.0},
    "discharge": {"color": "#1b1b1b", "ls": (0, (1.2, 1.4)), "lw": 1.5},
}
#: Points a flag's symbol takes over its point (offset and text), and a moment's name.
_SYMBOL_ROOM = 16.0
_SYMBOL_OFFSET = 6.0
_MOMENT_FONT = 6.5


@dataclass(frozen=True)
class ChartSize:
    """Inches and dots per inch of a drawn chart."""

    width: float = 10.0
    height: float = 7.0
    dpi: int = 120


#: A chart file of its own (1200 x 840 px as PNG).
STANDALONE = ChartSize()
#: The chart inside a PDF page: 190 mm wide, drawn at 160 dpi (sharp on paper).
IN_PDF = ChartSize(width=7.48, height=4.6, dpi=160)


def _x(view: SessionView, reading: ReadingView) -> float:
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


def _shade(ax: Axes, measure: Measure, thresholds: Thresholds) -> None:
    low, high = _LIMITS[measure]
    bands = thresholds.absolute.bands.get(measure, {})
    for severity in (Severity.LOW, Severity.MEDIUM, Severity.HIGH):
        for band in bands.get(severity, ()):
            bottom = low if band.low is None else band.low - 0.5
            top = high if band.high is None else band.high + 0.5
            ax.axhspan(
                bottom, top, color=COLOURS[severity], alpha=_BAND_ALPHA[severity], lw=0, zorder=0
            )


def _limits(
    values: list[int], flagged: list[int], measure: Measure, span: int, room: float
) -> tuple[float, float]:
    """The panel's value range: its readings with some space around them, at least ``span``
    wide, within the outer limits; over the highest flagged value ``room`` (a fraction of the
    panel's height) for the flag's symbol."""
    low, high = _LIMITS[measure]
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


def _withdrawn(ax: Axes, points: list[tuple[float, int]], style: dict[str, Any]) -> None:
    if not points:
        return
    xs, ys = zip(*points, strict=True)
    ax.plot(
        xs,
        ys,
        ls="none",
        marker=style["marker"],
        ms=style["ms"],
        mfc="none",
        mec=WITHDRAWN,
        mew=1.1,
        zorder=3,
        label=style["label"],
        gid=style["gid"],
    )


def _flag(ax: Axes, x: float, value: int, worst: Severity, room: float) -> None:
    """A flag: a ring round the point and its symbol over it, or under it when the point is
    too near the panel's top for the symbol to fit inside."""
    colour = COLOURS[worst]
    ax.plot([x], [value], "o", ms=9, mfc="none", mec=colour, mew=1.8, zorder=4, gid="flag")
    bottom, top = ax.get_ylim()
    above = top - value >= room * (top - bottom) * 0.999
    ax.annotate(
        worst.symbol,
        (x, value),
        xytext=(0, _SYMBOL_OFFSET if above else -_SYMBOL_OFFSET),
        textcoords="offset points",
        ha="center",
        va="bottom" if above else "top",
        fontsize=7,
        fontweight="bold",
        color=colour,
        zorder=5,
        gid="flag",
    )


def _panel(
    ax: Axes,
    view: SessionView,
    measure: Measure,
    label: str,
    unit: str,
    span: int,
    thresholds: Thresholds,
    room: float,
) -> None:
    kept = [(r, _x(view, r), r.vitals.get(measure)) for r in view.readings]
    present = [(r, x, v) for r, x, v in kept if v is not None]
    in_force = [(r, x, v) for r, x, v in present if r.in_force]
    flagged = [
        (x, v, max((f.severity for f in flags), key=lambda s: s.rank))
        for r, x, v in in_force
        if (flags := [f for f in r.flags if f.measure == measure.value])
    ]
    _shade(ax, measure, thresholds)
    if in_force:
        xs, ys = zip(*((x, v) for _, x, v in in_force), strict=True)
        ax.plot(xs, ys, "-o", color=_LINE[measure], ms=3.5, lw=1.4, zorder=3, label="in force")
    superseded = [(x, v) for r, x, v in present if r.voided is None and not r.in_force]
    _withdrawn(ax, superseded, SUPERSEDED)
    _withdrawn(ax, [(x, v) for r, x, v in present if r.voided is not None], VOIDED)
    ax.set_ylim(
        *_limits([v for _, _, v in present], [v for _, v, _ in flagged], measure, span, room)
    )
    for x, value, worst in flagged:
        _flag(ax, x, value, worst, room)
    ax.set_ylabel(f"{label}\n{unit}", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, axis="both", color="#dddddd", lw=0.5, zorder=1)
    if not present:
        ax.text(
            0.5, 0.5, f"no {label}", transform=ax.transAxes, ha="center", va="center", fontsize=8
        )


def _name_moments(ax: Axes, marks: list[tuple[str, float]], size: ChartSize) -> None:
    """Each moment's name over the top panel, at its line; a name that would run into one
    already written goes a row higher."""
    left, right = ax.get_xlim()
    width = ax.get_position().width * size.width * 72
    points_per_minute = width / (right - left)
    rows: list[float] = []  # where the last name written on each row ends, in points
    for name, minute in sorted(marks, key=lambda m: m[1]):
        wide = len(name) * _MOMENT_FONT * 0.6  # about the name's width, in points
        at = (minute - left) * points_per_minute
        # Centred on its line; at an end of the axis, ending (or starting) there instead.
        ha, start = "center", at - wide / 2
        if at + wide / 2 > width:
            ha, start = "right", at - wide
        elif start < 0:
            ha, start = "left", at
        row = next((i for i, end in enumerate(rows) if start > end + 3), len(rows))
        if row == len(rows):
            rows.append(0.0)
        rows[row] = start + wide
        ax.annotate(
            name,
            (minute, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 2.0 + row * _MOMENT_FONT * 1.3),
            textcoords="offset points",
            ha=ha,
            va="bottom",
            fontsize=_MOMENT_FONT,
            color=MOMENTS[name]["color"],
            gid="moment",
            annotation_clip=False,
        )


def figure(view: SessionView, thresholds: Thresholds, size: ChartSize = STANDALONE) -> Any:
    """The chart of one session as a matplotlib Figure on an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(size.width, size.height), dpi=size.dpi)
    FigureCanvasAgg(fig)
    # A fixed layout, in inches turned into fractions: the constrained layout would draw the
    # figure twice (half the cost of a chart) to find the same margins. Over the panels: the
    # title (two lines) and the moments' names.
    fig.subplots_adjust(
        left=0.75 / size.width,
        right=1 - 0.15 / size.width,
        top=1 - 0.7 / size.height,
        bottom=1.05 / size.height,
        hspace=0.12,
    )
    axes = fig.subplots(len(_PANELS), 1, sharex=True)
    # The share of a panel's height a flag's symbol takes over its point.
    room = _SYMBOL_ROOM / (axes[0].get_position().height * size.height * 72)
    for ax, (measure, label, unit, span) in zip(axes, _PANELS, strict=True):
        _panel(ax, view, measure, label, unit, span, thresholds, room)
    xs = [_x(view, r) for r in view.readings]
    marks = moments(view)
    right = max([*xs, *(m for _, m in marks), 10.0])
    left = min([*xs, *(m for _, m in marks), 0.0])
    for ax in axes:
        for name, mark in marks:
            ax.axvline(mark, zorder=2, gid=name, **MOMENTS[name])
        ax.set_xlim(left - 3, right + 3)
    _name_moments(axes[0], marks, size)
    axes[0].xaxis.set_major_locator(MaxNLocator(nbins=12, integer=True))
    origin = "dosing" if view.dosed_at is not None else "the session's start (not dosed)"
    axes[-1].set_xlabel(f"minutes since {origin}", fontsize=8)
    status = "in progress" if view.discharged_at is None else "discharged"
    fig.suptitle(
        f"Session {view.id}  ·  {view.protocol}  ·  "
        f"{local(view.dosed_at or view.started_at, '%Y-%m-%d')}  ·  {status}\n"
        f"patient {_drawable(view.patient)}",
        fontsize=9,
        linespacing=1.3,
        y=1 - 0.06 / size.height,
        va="top",
    )
    key = [
        Line2D([], [], color="#333333", marker="o", ms=3.5, lw=1.4, label="in force"),
        *(
            Line2D(
                [],
                [],
                ls="none",
                marker=style["marker"],
                ms=style["ms"],
                mfc="none",
                mec=WITHDRAWN,
                label=style["label"],
            )
            for style in (SUPERSEDED, VOIDED)
        ),
        *(
            Patch(color=COLOURS[s], alpha=0.45, label=f"{s.value} band / flag {s.symbol}")
            for s in (Severity.HIGH, Severity.MEDIUM, Severity.LOW)
        ),
        *(Line2D([], [], label=name, **MOMENTS[name]) for name, _ in marks),
    ]
    fig.legend(
        handles=key,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.0),
        ncols=5,
        fontsize=7,
        frameon=False,
        columnspacing=1.2,
        handlelength=2.2,
    )
    return fig


@functools.cache
def _charmap() -> frozenset[int]:
    """The characters the chart's font (matplotlib's DejaVu Sans) draws."""
    from matplotlib import font_manager

    font = font_manager.get_font(font_manager.findfont("DejaVu Sans"))
    return frozenset(font.get_charmap())


def _drawable(text: str) -> str:
    """``text`` with each character the chart's font lacks as its code point (``[U+5BF9]``),
    as the PDF prints it (docs/exports.md, "Fonts"): never a box, never a control character
    or a lone surrogate (which matplotlib cannot draw)."""
    from monitor.export.pdf_fonts import placeholder

    known = _charmap()
    return "".join(c if ord(c) in known and c.isprintable() else placeholder(ord(c)) for c in text)


def render(
    view: SessionView, thresholds: Thresholds, fmt: str, size: ChartSize = STANDALONE
) -> bytes:
    """The chart as ``png`` or ``svg`` bytes."""
    fig = figure(view, thresholds, size)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # A patient id in a script DejaVu Sans lacks draws boxes; matplotlib's warning about
        # each missing glyph is no use to a user exporting a chart.
        warnings.simplefilter("ignore")
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(buffer, format=fmt, facecolor="white", metadata=metadata)
    return buffer.getvalue()


def pixels(view: SessionView, thresholds: Thresholds, size: ChartSize = IN_PDF) -> Any:
    """The chart drawn on its Agg canvas, as a PIL image (RGB on white) for the PDF to embed
    as it is: no PNG to encode here and for fpdf2 to decode again (docs/benchmarks.md,
    "Exports")."""
    from PIL import Image

    fig = figure(view, thresholds, size)
    fig.patch.set_facecolor("white")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as in render(): a glyph DejaVu Sans lacks
        fig.canvas.draw()
    width, height = fig.canvas.get_width_height(physical=True)
    rgba = fig.canvas.buffer_rgba()
    return Image.frombuffer("RGBA", (width, height), rgba, "raw", "RGBA", 0, 1).convert("RGB")
