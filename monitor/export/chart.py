"""The session chart drawn by matplotlib: a PNG or SVG file of its own (``--format png|svg``).
What it shows is worked out in :mod:`monitor.export.chart_plan` (docs/exports.md, "The
chart"), which the PDF draws with its own vector graphics (:mod:`monitor.export.pdf_chart`).

Drawn on a :class:`matplotlib.figure.Figure` with the Agg canvas named explicitly, never
through ``pyplot``: no global backend or figure registry is touched, so the station may draw
one in a thread worker while its screen runs.
"""

from __future__ import annotations

import functools
import io
import warnings
from typing import TYPE_CHECKING, Any

from monitor.core.rules import Severity
from monitor.export.chart_plan import (
    BAND_ALPHA,
    BOTTOM,
    COLOURS,
    GAP,
    GRID,
    IN_PDF,
    KEY_ALPHA,
    KEY_LINE,
    LEFT,
    LINE,
    MOMENT_FONT,
    MOMENTS,
    RIGHT,
    STANDALONE,
    SUPERSEDED,
    SYMBOL_OFFSET,
    TOP,
    UNVALIDATED,
    VOIDED,
    WITHDRAWN,
    ChartSize,
    Panel,
    moment_names,
    moments,
    plan,
    symbol_room,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from monitor.core.rules import Thresholds
    from monitor.views import SessionView

__all__ = [
    "COLOURS",
    "IN_PDF",
    "MOMENTS",
    "STANDALONE",
    "SUPERSEDED",
    "VOIDED",
    "WITHDRAWN",
    "ChartSize",
    "figure",
    "moments",
    "render",
]


def _withdrawn(
    ax: Axes, points: list[tuple[float, int]], style: dict[str, Any], colour: str = WITHDRAWN
) -> None:
    """Hollow markers, never joined: readings withdrawn, or awaiting a nurse's validation."""
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
        mec=colour,
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
        xytext=(0, SYMBOL_OFFSET if above else -SYMBOL_OFFSET),
        textcoords="offset points",
        ha="center",
        va="bottom" if above else "top",
        fontsize=7,
        fontweight="bold",
        color=colour,
        zorder=5,
        gid="flag",
    )


def _panel(ax: Axes, drawn: Panel, room: float) -> None:
    for severity, bottom, top in drawn.bands:
        ax.axhspan(bottom, top, color=COLOURS[severity], alpha=BAND_ALPHA[severity], lw=0, zorder=0)
    if drawn.in_force:
        xs, ys = zip(*drawn.in_force, strict=True)
        ax.plot(xs, ys, "-o", color=LINE[drawn.measure], ms=3.5, lw=1.4, zorder=3, label="in force")
    _withdrawn(ax, drawn.superseded, SUPERSEDED)
    _withdrawn(ax, drawn.voided, VOIDED)
    _withdrawn(ax, drawn.unvalidated, UNVALIDATED, LINE[drawn.measure])
    ax.set_ylim(*drawn.limits)
    for x, value, worst in drawn.flagged:
        _flag(ax, x, value, worst, room)
    ax.set_ylabel(f"{drawn.label}\n{drawn.unit}", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, axis="both", color=GRID, lw=0.5, zorder=1)
    if drawn.empty:
        ax.text(
            0.5,
            0.5,
            f"no {drawn.label}",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=8,
        )


def _name_moments(ax: Axes, marks: list[tuple[str, float]], size: ChartSize) -> None:
    """Each moment's name over the top panel, at its line (chart_plan.moment_names)."""
    width = ax.get_position().width * size.width * 72
    for name, minute, ha, row in moment_names(marks, ax.get_xlim(), width):
        ax.annotate(
            name,
            (minute, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 2.0 + row * MOMENT_FONT * 1.3),
            textcoords="offset points",
            ha=ha,
            va="bottom",
            fontsize=MOMENT_FONT,
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

    drawn = plan(view, thresholds, size, _drawable(view.patient))
    fig = Figure(figsize=(size.width, size.height), dpi=size.dpi)
    FigureCanvasAgg(fig)
    # A fixed layout, in inches turned into fractions (chart_plan.boxes): the constrained
    # layout would draw the figure twice (half the cost of a chart) to find the same margins.
    fig.subplots_adjust(
        left=LEFT / size.width,
        right=1 - RIGHT / size.width,
        top=1 - TOP / size.height,
        bottom=BOTTOM / size.height,
        hspace=GAP,
    )
    axes = fig.subplots(len(drawn.panels), 1, sharex=True)
    room = symbol_room(size)
    for ax, shown in zip(axes, drawn.panels, strict=True):
        _panel(ax, shown, room)
    for ax in axes:
        for name, mark in drawn.moments:
            ax.axvline(mark, zorder=2, gid=name, **MOMENTS[name])
        ax.set_xlim(*drawn.x_limits)
    _name_moments(axes[0], drawn.moments, size)
    axes[0].xaxis.set_major_locator(MaxNLocator(nbins=12, integer=True))
    axes[-1].set_xlabel(drawn.x_label, fontsize=8)
    fig.suptitle(
        "\n".join(drawn.title),
        fontsize=9,
        linespacing=1.3,
        y=1 - 0.06 / size.height,
        va="top",
    )
    key = [
        Line2D([], [], color=KEY_LINE, marker="o", ms=3.5, lw=1.4, label="in force"),
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
            [
                Line2D(
                    [],
                    [],
                    ls="none",
                    marker=UNVALIDATED["marker"],
                    ms=UNVALIDATED["ms"],
                    mfc="none",
                    mec=KEY_LINE,
                    label=UNVALIDATED["label"],
                )
            ]
            if drawn.unvalidated
            else []
        ),
        *(
            Patch(color=COLOURS[s], alpha=KEY_ALPHA, label=f"{s.value} band / flag {s.symbol}")
            for s in (Severity.HIGH, Severity.MEDIUM, Severity.LOW)
        ),
        *(Line2D([], [], label=name, **MOMENTS[name]) for name, _ in drawn.moments),
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
