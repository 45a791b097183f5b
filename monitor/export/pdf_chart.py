"""The session chart inside the PDF record, drawn with fpdf2's own vector graphics
(docs/exports.md, "The chart"; what it shows: :mod:`monitor.export.chart_plan`).

The chart was a picture matplotlib drew (its import, its fonts and a 1200 x 740 pixel canvas:
about 45 MB of a one-session PDF's 145 MB, and 0.5 s); drawn as lines, shapes and text in the
page it costs neither, and prints sharp at any size. It is laid out as matplotlib lays out the
chart file (``--format png|svg``): the same panels, margins, ticks, markers, line styles and
key, in points on a figure of :data:`~monitor.export.chart_plan.IN_PDF`'s size.

Everything is drawn through :class:`Canvas`, whose calls name what they draw (``tag``): the
tests read back a chart drawn on a canvas that records them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from monitor.core.rules import Severity
from monitor.export.chart_plan import (
    BAND_ALPHA,
    COLOURS,
    GRID,
    IN_PDF,
    KEY_ALPHA,
    KEY_LINE,
    LINE,
    MOMENT_FONT,
    MOMENTS,
    SUPERSEDED,
    SYMBOL_OFFSET,
    UNVALIDATED,
    VOIDED,
    WITHDRAWN,
    X_STEPS,
    Y_STEPS,
    Box,
    ChartSize,
    Panel,
    Plan,
    boxes,
    moment_names,
    plan,
    symbol_room,
    tick_text,
    ticks,
)

if TYPE_CHECKING:
    from fpdf import FPDF

    from monitor.core.rules import Thresholds
    from monitor.views import SessionView

BLACK = "#000000"
#: Sizes in points, as matplotlib's defaults are (tick marks, pads, the axes' frame).
TICK, PAD, FRAME, LABEL_PAD = 3.5, 3.5, 0.8, 4.0
TICK_FONT, LABEL_FONT, TITLE_FONT, KEY_FONT, SYMBOL_FONT = 7.0, 8.0, 9.0, 7.0, 7.0
#: A marker: kind (``o`` a circle, ``X`` matplotlib's cross), size in points, its face
#: (None: hollow), edge and edge width.
Marker = tuple[str, float, str | None, str, float]
_X_SHAPE = (
    (0.25, 0),
    (0.5, 0.25),
    (0.75, 0),
    (1, 0.25),
    (0.75, 0.5),
    (1, 0.75),
    (0.75, 1),
    (0.5, 0.75),
    (0.25, 1),
    (0, 0.75),
    (0.25, 0.5),
    (0, 0.25),
)


class Canvas(Protocol):
    """Where the chart is drawn, in points from the chart's top left corner."""

    def rect(self, x: float, y: float, w: float, h: float, colour: str, alpha: float) -> None:
        """A filled rectangle."""

    def line(
        self,
        points: Sequence[tuple[float, float]],
        colour: str,
        width: float,
        dashes: tuple[float, ...] = (),
        tag: str = "",
    ) -> None:
        """A line through ``points``; ``dashes``: on, off lengths (none: solid)."""

    def marker(self, x: float, y: float, marker: Marker, tag: str = "") -> None:
        """A marker centred on a point."""

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float,
        colour: str = BLACK,
        *,
        ha: str = "left",
        va: str = "baseline",
        bold: bool = False,
        turned: bool = False,
        tag: str = "",
    ) -> tuple[float, float, float, float]:
        """Text placed by its alignment (``turned``: read from the bottom up, ``ha`` then
        along the page's height); returns the box it takes: left, top, right, bottom."""

    def clip(self, x: float, y: float, w: float, h: float) -> Any:
        """A context in which nothing is drawn outside the rectangle."""

    def width_of(self, text: str, size: float) -> float:
        """How wide ``text`` is at ``size`` points."""


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


class PdfCanvas:
    """A :class:`Canvas` on an fpdf2 page: the chart's top left corner at ``left``, ``top``
    (mm), ``scale`` mm to a point."""

    def __init__(self, pdf: FPDF, left: float, top: float, scale: float, font: str) -> None:
        self.pdf, self.left, self.top, self.scale, self.font = pdf, left, top, scale, font

    def _at(self, x: float, y: float) -> tuple[float, float]:
        return self.left + x * self.scale, self.top + y * self.scale

    def rect(self, x: float, y: float, w: float, h: float, colour: str, alpha: float) -> None:
        left, top = self._at(x, y)
        with self.pdf.local_context(fill_color=_rgb(colour), fill_opacity=alpha):
            self.pdf.rect(left, top, w * self.scale, h * self.scale, style="F")

    def line(
        self,
        points: Sequence[tuple[float, float]],
        colour: str,
        width: float,
        dashes: tuple[float, ...] = (),
        tag: str = "",
    ) -> None:
        from fpdf.enums import StrokeCapStyle, StrokeJoinStyle

        pdf = self.pdf
        # As matplotlib draws lines: solid ones with projecting ends, dashes with flat ones,
        # joins rounded.
        with pdf.local_context(
            draw_color=_rgb(colour),
            line_width=width * self.scale,
            stroke_cap_style=StrokeCapStyle.BUTT if dashes else StrokeCapStyle.SQUARE,
            stroke_join_style=StrokeJoinStyle.ROUND,
        ):
            if len(dashes) == 2:
                pdf.set_dash_pattern(dashes[0] * self.scale, dashes[1] * self.scale)
            if len(dashes) > 2:  # fpdf2 sets two lengths: a longer pattern piece by piece
                for start, end in _pieces(points, dashes):
                    pdf.line(*self._at(*start), *self._at(*end))
            else:
                pdf.polyline([self._at(x, y) for x, y in points], style="D")

    def marker(self, x: float, y: float, marker: Marker, tag: str = "") -> None:
        kind, size, face, edge, width = marker
        pdf = self.pdf
        style = "D" if face is None else "DF"
        context: dict[str, Any] = {"draw_color": _rgb(edge), "line_width": width * self.scale}
        if face is not None:
            context["fill_color"] = _rgb(face)
        with pdf.local_context(**context):
            if kind == "o":
                cx, cy = self._at(x, y)
                pdf.circle(cx, cy, size / 2 * self.scale, style=style)
            else:
                pdf.polygon(
                    [self._at(x + (px - 0.5) * size, y + (py - 0.5) * size) for px, py in _X_SHAPE],
                    style=style,
                )

    def width_of(self, text: str, size: float) -> float:
        self.pdf.set_font(self.font, "", size)
        return self.pdf.get_string_width(text) / self.scale

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float,
        colour: str = BLACK,
        *,
        ha: str = "left",
        va: str = "baseline",
        bold: bool = False,
        turned: bool = False,
        tag: str = "",
    ) -> tuple[float, float, float, float]:
        pdf = self.pdf
        pdf.set_font(self.font, "B" if bold else "", size)
        wide = pdf.get_string_width(text) / self.scale
        left, baseline = _placed(x, y, wide, size, ha, va)
        with pdf.local_context(text_color=_rgb(colour)):
            if tag == "title":
                # The record's own text (a patient id in any script): a cell, which prints a
                # character DejaVu lacks in a fallback font (monitor.export.pdf_fonts).
                high = size * self.scale
                at_x, at_y = self._at(left, baseline)
                # fpdf2 sets a cell's baseline half its height and 0.3 of the font's size down.
                pdf.set_xy(at_x - pdf.c_margin, at_y - 0.5 * high - 0.3 * pdf.font_size)
                pdf.cell(wide * self.scale + 2 * pdf.c_margin, high, text, align="C")
            elif turned:  # laid out level, then turned about (x, y) to read upwards
                with pdf.rotation(90, *self._at(x, y)):
                    pdf.text(*self._at(left, baseline), text)
            else:
                pdf.text(*self._at(left, baseline), text)
        return left, baseline - 0.78 * size, left + wide, baseline + 0.24 * size

    @contextmanager
    def clip(self, x: float, y: float, w: float, h: float) -> Iterator[None]:
        left, top = self._at(x, y)
        with self.pdf.rect_clip(left, top, w * self.scale, h * self.scale):
            yield


def _placed(x: float, y: float, wide: float, size: float, ha: str, va: str) -> tuple[float, float]:
    """The left end and the baseline of a text ``wide`` points long, ``size`` points high,
    aligned on (x, y) as matplotlib aligns text (DejaVu Sans: ascent 0.78, descent 0.24 of
    the size)."""
    left = {"left": x, "center": x - wide / 2, "right": x - wide}[ha]
    baseline = {
        "baseline": y,
        "bottom": y - 0.24 * size,
        "top": y + 0.78 * size,
        "center": y + 0.27 * size,
    }[va]
    return left, baseline


def _pieces(
    points: Sequence[tuple[float, float]], dashes: tuple[float, ...]
) -> Iterator[tuple[tuple[float, float], tuple[float, float]]]:
    """The drawn pieces of a straight line from the first point to the last with the on,
    off, on, off ... lengths of ``dashes``."""
    (x0, y0), (x1, y1) = points[0], points[-1]
    length = math.hypot(x1 - x0, y1 - y0)
    if length == 0:
        return
    at, n = 0.0, 0
    while at < length:
        step = dashes[n % len(dashes)]
        if n % 2 == 0:
            end = min(length, at + step)
            yield (
                (x0 + (x1 - x0) * at / length, y0 + (y1 - y0) * at / length),
                (x0 + (x1 - x0) * end / length, y0 + (y1 - y0) * end / length),
            )
        at += step
        n += 1


def _dashes(name: str) -> tuple[float, ...]:
    """A moment's dashes in points (matplotlib's pattern times the line's width)."""
    style = MOMENTS[name]
    if style["ls"] == "-":
        return ()
    return tuple(length * style["lw"] for length in style["ls"][1])


class _Axes:
    """A panel's place and scale: minutes and values to points on the chart."""

    def __init__(self, box: Box, x_limits: tuple[float, float], y_limits: tuple[float, float]):
        self.left, self.top = box.left * 72, box.top * 72
        self.width, self.height = box.width * 72, box.height * 72
        self.right, self.bottom = self.left + self.width, self.top + self.height
        self.x_limits, self.y_limits = x_limits, y_limits

    def x(self, minute: float) -> float:
        low, high = self.x_limits
        return self.left + (minute - low) / (high - low) * self.width

    def y(self, value: float) -> float:
        low, high = self.y_limits
        return self.bottom - (value - low) / (high - low) * self.height


def _panel(canvas: Canvas, axes: _Axes, shown: Panel, x_ticks: list[float], plan: Plan) -> None:
    """One panel: bands, grid, moments, readings and flags within its frame; its values and
    label to its left."""
    low, high = shown.limits
    y_ticks = [
        v
        for v in ticks(low, high, max(1, int(axes.height // (TICK_FONT * 2))), Y_STEPS)
        if low <= v <= high
    ]
    with canvas.clip(axes.left, axes.top, axes.width, axes.height):
        for severity, bottom, top in shown.bands:
            y0, y1 = axes.y(min(max(top, low), high)), axes.y(min(max(bottom, low), high))
            if y1 > y0:
                canvas.rect(
                    axes.left, y0, axes.width, y1 - y0, COLOURS[severity], BAND_ALPHA[severity]
                )
        for minute in x_ticks:
            canvas.line([(axes.x(minute), axes.top), (axes.x(minute), axes.bottom)], GRID, 0.5)
        for value in y_ticks:
            canvas.line([(axes.left, axes.y(value)), (axes.right, axes.y(value))], GRID, 0.5)
        for name, minute in plan.moments:
            canvas.line(
                [(axes.x(minute), axes.top), (axes.x(minute), axes.bottom)],
                MOMENTS[name]["color"],
                MOMENTS[name]["lw"],
                _dashes(name),
                tag=name,
            )
        colour = LINE[shown.measure]
        points = [(axes.x(x), axes.y(v)) for x, v in shown.in_force]
        if len(points) > 1:
            canvas.line(points, colour, 1.4, tag="in force")
        for x, y in points:
            canvas.marker(x, y, ("o", 3.5, colour, colour, 1.0), tag="in force")
        for style, kept in ((SUPERSEDED, shown.superseded), (VOIDED, shown.voided)):
            for x, v in kept:
                marker = (style["marker"], style["ms"], None, WITHDRAWN, 1.1)
                canvas.marker(axes.x(x), axes.y(v), marker, tag=style["gid"])
        for x, v in shown.unvalidated:  # hollow in the measure's colour: not joined, not counted
            marker = (UNVALIDATED["marker"], UNVALIDATED["ms"], None, colour, 1.1)
            canvas.marker(axes.x(x), axes.y(v), marker, tag=UNVALIDATED["gid"])
        for x, v, worst in shown.flagged:
            canvas.marker(axes.x(x), axes.y(v), ("o", 9, None, COLOURS[worst], 1.8), tag="flag")
    room = symbol_room(IN_PDF) * (high - low)
    for x, v, worst in shown.flagged:
        above = high - v >= room * 0.999
        canvas.text(
            axes.x(x),
            axes.y(v) + (-SYMBOL_OFFSET if above else SYMBOL_OFFSET),
            worst.symbol,
            SYMBOL_FONT,
            COLOURS[worst],
            ha="center",
            va="bottom" if above else "top",
            bold=True,
            tag="flag",
        )
    if shown.empty:
        canvas.text(
            axes.left + axes.width / 2,
            axes.top + axes.height / 2,
            f"no {shown.label}",
            LABEL_FONT,
            ha="center",
            va="center",
        )
    # The frame, the ticks, the values and the label.
    frame = [
        (axes.left, axes.top),
        (axes.right, axes.top),
        (axes.right, axes.bottom),
        (axes.left, axes.bottom),
        (axes.left, axes.top),
    ]
    canvas.line(frame, BLACK, FRAME)
    widest = 0.0
    for value in y_ticks:
        y = axes.y(value)
        canvas.line([(axes.left - TICK, y), (axes.left, y)], BLACK, FRAME)
        box = canvas.text(
            axes.left - TICK - PAD, y, tick_text(value), TICK_FONT, ha="right", va="center"
        )
        widest = max(widest, box[2] - box[0])
    for minute in x_ticks:
        x = axes.x(minute)
        canvas.line([(x, axes.bottom), (x, axes.bottom + TICK)], BLACK, FRAME)
    # Two lines (label over unit), read upwards, centred on the panel's height.
    outer = axes.left - TICK - PAD - widest - LABEL_PAD
    middle = axes.top + axes.height / 2
    canvas.text(
        outer - LABEL_FONT * 1.2,
        middle,
        shown.label,
        LABEL_FONT,
        ha="center",
        va="bottom",
        turned=True,
    )
    canvas.text(outer, middle, shown.unit, LABEL_FONT, ha="center", va="bottom", turned=True)


def _key(canvas: Canvas, plan: Plan, size: ChartSize) -> None:
    """The key under the chart, as matplotlib's legend lays it out: five columns filled one
    after the other, centred."""
    items: list[tuple[str, Any]] = [
        ("in force", ("line", KEY_LINE, 1.4, (), ("o", 3.5, KEY_LINE, KEY_LINE, 1.0))),
        *(
            (style["label"], ("marker", (style["marker"], style["ms"], None, WITHDRAWN, 1.0)))
            for style in (SUPERSEDED, VOIDED)
        ),
        *(
            [(UNVALIDATED["label"], ("marker", ("o", UNVALIDATED["ms"], None, KEY_LINE, 1.0)))]
            if plan.unvalidated
            else []
        ),
        *(
            (f"{s.value} band / flag {s.symbol}", ("patch", COLOURS[s]))
            for s in (Severity.HIGH, Severity.MEDIUM, Severity.LOW)
        ),
        *(
            (name, ("line", MOMENTS[name]["color"], MOMENTS[name]["lw"], _dashes(name), None))
            for name, _ in plan.moments
        ),
    ]
    em = KEY_FONT
    handle, text_pad, spacing, row_gap = 2.2 * em, 0.8 * em, 1.2 * em, 0.5 * em
    columns = 5
    rows, larger = divmod(len(items), columns)
    sizes = [rows + 1] * larger + [rows] * (columns - larger)
    grouped, at = [], 0
    for count in sizes:
        grouped.append(items[at : at + count])
        at += count
    grouped = [column for column in grouped if column]
    widths = [
        handle + text_pad + max(canvas.width_of(label, KEY_FONT) for label, _ in column)
        for column in grouped
    ]
    total = sum(widths) + spacing * (len(widths) - 1)
    row_height = em * 1.02
    height = max(len(column) for column in grouped) * (row_height + row_gap) - row_gap
    top = size.height * 72 - 0.5 * em - 0.4 * em - height
    left = (size.width * 72 - total) / 2
    for column, wide in zip(grouped, widths, strict=True):
        for n, (label, (kind, *how)) in enumerate(column):
            middle = top + n * (row_height + row_gap) + row_height / 2
            if kind == "line":
                colour, width, dashes, marker = how
                canvas.line(
                    [(left, middle), (left + handle, middle)], colour, width, dashes, tag="key"
                )
                if marker is not None:
                    canvas.marker(left + handle / 2, middle, marker, tag="key")
            elif kind == "marker":
                canvas.marker(left + handle / 2, middle, how[0], tag="key")
            else:
                canvas.rect(left, middle - 0.35 * em, handle, 0.7 * em, how[0], KEY_ALPHA)
            canvas.text(left + handle + text_pad, middle, label, KEY_FONT, va="center", tag="key")
        left += wide + spacing


def draw(canvas: Canvas, chart: Plan, size: ChartSize = IN_PDF) -> None:
    """The whole chart on ``canvas`` (``size`` in inches, drawn in points)."""
    places = boxes(size)
    low, high = chart.x_limits
    x_ticks = [t for t in ticks(low, high, 12, X_STEPS, integer=True) if low <= t <= high]
    title = 0.06 * 72  # under the top edge
    for n, line in enumerate(chart.title):
        canvas.text(
            size.width * 36,
            title + n * TITLE_FONT * 1.3,
            line,
            TITLE_FONT,
            ha="center",
            va="top",
            tag="title",
        )
    for box, shown in zip(places, chart.panels, strict=True):
        _panel(canvas, _Axes(box, chart.x_limits, shown.limits), shown, x_ticks, chart)
    top = _Axes(places[0], chart.x_limits, (0, 1))
    for name, minute, ha, row in moment_names(chart.moments, chart.x_limits, top.width):
        canvas.text(
            top.x(minute),
            top.top - 2.0 - row * MOMENT_FONT * 1.3,
            name,
            MOMENT_FONT,
            MOMENTS[name]["color"],
            ha=ha,
            va="bottom",
            tag="moment",
        )
    bottom = _Axes(places[-1], chart.x_limits, (0, 1))
    lowest = bottom.bottom
    for minute in x_ticks:
        taken = canvas.text(
            bottom.x(minute),
            bottom.bottom + TICK + PAD,
            tick_text(minute),
            TICK_FONT,
            ha="center",
            va="top",
        )
        lowest = max(lowest, taken[3])
    canvas.text(
        bottom.left + bottom.width / 2,
        lowest + LABEL_PAD,
        chart.x_label,
        LABEL_FONT,
        ha="center",
        va="top",
    )
    _key(canvas, chart, size)


def draw_chart(
    pdf: FPDF, view: SessionView, thresholds: Thresholds, font: str, size: ChartSize = IN_PDF
) -> None:
    """The chart of one session at the current position, the page's width between the
    margins; the position moves under it."""
    width = pdf.epw
    scale = width / (size.width * 72)
    top = pdf.get_y()
    canvas = PdfCanvas(pdf, pdf.l_margin, top, scale, font)
    draw(canvas, plan(view, thresholds, size, view.patient), size)
    pdf.set_y(top + size.height * 72 * scale)
