"""The session chart (matplotlib): systolic, diastolic, heart rate and SpO2 against minutes
since dosing, each in its own panel with its threshold bands shaded and every flag marked.

Drawn on a :class:`matplotlib.figure.Figure` with the Agg canvas named explicitly, never
through ``pyplot``: no global backend or figure registry is touched, so the station may draw
one in a thread worker while its screen runs. The same figure is a PNG or SVG file of its own
(``--format png|svg``) and the PNG inside each PDF record.

Readings in force are joined by a line; superseded and voided readings are drawn apart (grey
crosses, never joined), so the chart shows what the record holds without counting them. A flag
is a ring in its severity's colour with its symbol (``!!!`` high, ``!!`` medium, ``!`` low),
so colour is never the only cue. The bands are the clinic's any-time thresholds in force at the
export; flags were judged when each reading was saved (rises from the baseline and
before-dosing limits are flags without a band).
"""

from __future__ import annotations

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


def _limits(values: list[int], measure: Measure, span: int) -> tuple[float, float]:
    low, high = _LIMITS[measure]
    if not values:
        middle = {Measure.SPO2: 95}.get(measure, 100)
        return middle - span / 2, middle + span / 2
    bottom, top = float(min(values)), float(max(values))
    pad = max(5.0, (top - bottom) * 0.15)
    # More room above: a flag's symbol is written over its point.
    bottom, top = bottom - pad, top + 2 * pad
    if top - bottom < span:
        grow = (span - (top - bottom)) / 2
        bottom, top = bottom - grow, top + grow
    return max(low, bottom), min(high, top)


def _panel(
    ax: Axes,
    view: SessionView,
    measure: Measure,
    label: str,
    unit: str,
    span: int,
    thresholds: Thresholds,
) -> None:
    kept = [(r, _x(view, r), r.vitals.get(measure)) for r in view.readings]
    present = [(r, x, v) for r, x, v in kept if v is not None]
    in_force = [(x, v) for r, x, v in present if r.in_force]
    withdrawn = [(x, v) for r, x, v in present if not r.in_force]
    _shade(ax, measure, thresholds)
    if in_force:
        xs, ys = zip(*in_force, strict=True)
        ax.plot(xs, ys, "-o", color=_LINE[measure], ms=3.5, lw=1.4, zorder=3, label="in force")
    if withdrawn:
        xs, ys = zip(*withdrawn, strict=True)
        ax.plot(
            xs, ys, "x", color="#777777", ms=5, mew=1.2, ls="none", zorder=3, label="corrected/void"
        )
    for reading, x, value in present:
        flags = [f for f in reading.flags if f.measure == measure.value]
        if not flags:
            continue
        worst = max(flags, key=lambda f: f.severity.rank).severity
        ax.plot(
            [x],
            [value],
            "o",
            ms=9,
            mfc="none",
            mec=COLOURS[worst],
            mew=1.8,
            zorder=4,
        )
        ax.annotate(
            worst.symbol,
            (x, value),
            xytext=(0, 6),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7,
            fontweight="bold",
            color=COLOURS[worst],
            zorder=5,
        )
    ax.set_ylim(*_limits([v for _, _, v in present], measure, span))
    ax.set_ylabel(f"{label}\n{unit}", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, axis="both", color="#dddddd", lw=0.5, zorder=1)
    if not present:
        ax.text(
            0.5, 0.5, f"no {label}", transform=ax.transAxes, ha="center", va="center", fontsize=8
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
    # figure twice (half the cost of a chart) to find the same margins.
    fig.subplots_adjust(
        left=0.75 / size.width,
        right=1 - 0.15 / size.width,
        top=1 - 0.5 / size.height,
        bottom=0.95 / size.height,
        hspace=0.12,
    )
    axes = fig.subplots(len(_PANELS), 1, sharex=True)
    for ax, (measure, label, unit, span) in zip(axes, _PANELS, strict=True):
        _panel(ax, view, measure, label, unit, span, thresholds)
    xs = [_x(view, r) for r in view.readings]
    marks = [0.0] if view.dosed_at is not None else []
    if view.infusion_ended_at is not None and view.dosed_at is not None:
        marks.append(minutes_after(view.dosed_at, view.infusion_ended_at) or 0.0)
    if view.discharged_at is not None:
        marks.append(minutes_after(view.dosed_at or view.started_at, view.discharged_at) or 0.0)
    right = max([*xs, *marks, 10.0])
    left = min([*xs, *marks, 0.0])
    for ax in axes:
        for mark in marks:
            ax.axvline(mark, color="#444444", lw=0.8, ls="--", zorder=2)
        ax.set_xlim(left - 3, right + 3)
    axes[0].xaxis.set_major_locator(MaxNLocator(nbins=12, integer=True))
    origin = "dosing" if view.dosed_at is not None else "the session's start (not dosed)"
    axes[-1].set_xlabel(f"minutes since {origin}", fontsize=8)
    status = "in progress" if view.discharged_at is None else "discharged"
    fig.suptitle(
        f"Session {view.id}  ·  {view.protocol}  ·  "
        f"{local(view.dosed_at or view.started_at, '%Y-%m-%d')}  ·  {status}\n"
        f"patient {view.patient}",
        fontsize=9,
        linespacing=1.3,
    )
    key = [
        Line2D([], [], color="#333333", marker="o", ms=3.5, lw=1.4, label="in force"),
        Line2D([], [], color="#777777", marker="x", ls="none", label="corrected / voided"),
        *(
            Patch(color=COLOURS[s], alpha=0.45, label=f"{s.value} band / flag {s.symbol}")
            for s in (Severity.HIGH, Severity.MEDIUM, Severity.LOW)
        ),
        Line2D([], [], color="#444444", ls="--", lw=0.8, label="dose / infusion end / discharge"),
    ]
    fig.legend(
        handles=key,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.0),
        ncols=3,
        fontsize=7,
        frameon=False,
        columnspacing=1.2,
        handlelength=1.6,
    )
    return fig


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
