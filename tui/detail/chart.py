"""The vitals chart of a session (the detail screen and the review log draw it): blood
pressure in one panel (mmHg) and heart rate in another (/min), against minutes since the dose,
with the limits of the rules in force drawn across each panel."""

from __future__ import annotations

from typing import Any

from monitor.core.gate import minutes_between
from monitor.core.rules import Severity, Thresholds
from monitor.core.vitals import Measure
from monitor.views import SessionView

#: Each panel: its title (its legend, over no point), its measures with colour and marker
#: (colour is never the only cue: each measure has its own marker).
PANELS: tuple[tuple[str, tuple[tuple[Measure, str, str], ...]], ...] = (
    ("BP mmHg   ▲ SBP   ▼ DBP", ((Measure.SYSTOLIC, "red", "▲"), (Measure.DIASTOLIC, "blue", "▼"))),
    ("HR /min   ● HR", ((Measure.HEART_RATE, "green", "●"),)),
)
#: How a limit is drawn, by the severity of the band it bounds.
LIMIT_COLOUR = {Severity.HIGH: "red", Severity.MEDIUM: "yellow"}


def whole_minute_ticks(low: int, high: int) -> list[int]:
    """Axis ticks in whole minutes at a round step (5, 10, 15, 30 ...), at most 7 of them."""
    span = max(high - low, 1)
    step = next((s for s in (5, 10, 15, 30, 60, 120, 240) if span / s <= 6), 480)
    start = (low // step) * step
    return list(range(start, high + step, step))


def limits(thresholds: Thresholds, measure: Measure) -> list[tuple[int, Severity]]:
    """Where the medium and high bands of ``measure`` begin, as lines to draw: each band's
    finite edges, once where two bands meet (``<=90`` next to ``91-100`` is one line, at 90:
    the graver band's edge)."""
    edges = [
        (edge, severity, index)
        for severity in LIMIT_COLOUR
        for index, band in enumerate(thresholds.absolute.bands.get(measure, {}).get(severity, ()))
        for edge in (band.low, band.high)
        if edge is not None
    ]
    grave = {Severity.HIGH: 2, Severity.MEDIUM: 1}

    def yields(edge: int, severity: Severity, index: int) -> bool:
        """Another band's edge touches this one and is graver (or as grave, and lower)."""
        return any(
            abs(edge - other) == 1
            and (sev, i) != (severity, index)
            and (grave[sev], -other) > (grave[severity], -edge)
            for other, sev, i in edges
        )

    kept = {
        (edge, severity) for edge, severity, index in edges if not yields(edge, severity, index)
    }
    # Sorted in full: a set's order changes from one process to the next (str hashing), and
    # the order lines and labels are drawn in decides which one shows where two share a row.
    return sorted(kept, key=lambda limit: (limit[0], grave[limit[1]]))


#: Rows of a panel that are not its canvas: the title, the two frame lines and the minute
#: labels (the lowest panel also has the axis name: one row more, counted for both).
PANEL_FRAME_ROWS = 5


def apart(ticks: list[int], low: float, high: float, rows: int) -> list[int]:
    """``ticks`` (sorted) less each one that would share a row with the one kept before it,
    on a canvas of ``rows`` rows spanning ``low`` to ``high``: plotext keeps a panel's labels
    in a set, so of two on one row which one showed changed from run to run."""
    if rows < 2 or high <= low:
        return ticks[:1]
    step = (high - low) / (rows - 1)
    kept: list[int] = []
    for tick in ticks:
        if not kept or tick - kept[-1] >= step:
            kept.append(tick)
    return kept


def draw_session_chart(
    plot: Any, view: SessionView, thresholds: Thresholds, *, height: int | None = None
) -> None:
    """SBP and DBP (mmHg), and in a panel under them HR (/min), of the readings in force
    against minutes since the dose, on a textual-plotext ``plot``: the limits of the rules in
    force across each panel, the dose at 0; the legend in each panel's title. Given the
    ``height`` it is drawn at, an axis labels only limits a row apart (:func:`apart`)."""
    plt = plot.plt
    plt.clear_data()
    plt.clear_figure()
    origin = view.dosed_at or (view.readings[0].measured_at if view.readings else None)
    if origin is None:
        plt.title("BP mmHg and HR /min against minutes since dose: no readings yet")
        if height is None:  # else drawn by the render itself
            plot.refresh()
        return
    points: dict[Measure, tuple[list[int], list[int]]] = {}
    for reading in view.in_force:
        minute = minutes_between(origin, reading.measured_at)
        for measure in (Measure.SYSTOLIC, Measure.DIASTOLIC, Measure.HEART_RATE):
            value = reading.vitals.get(measure)
            if value is not None:
                xs, ys = points.setdefault(measure, ([], []))
                xs.append(minute)
                ys.append(value)
    minutes = [m for xs, _ in points.values() for m in xs] + ([0] if view.dosed_at else [])
    ticks = whole_minute_ticks(min(minutes), max(minutes)) if minutes else [0, 5]
    plt.subplots(len(PANELS), 1)
    for row, (title, measures) in enumerate(PANELS, start=1):
        panel = plt.subplot(row, 1)
        panel.title(title)
        values: list[int] = []
        for measure, colour, marker in measures:
            xs, ys = points.get(measure, ([], []))
            if xs:
                # A fine line between the readings, each reading its own marker on it.
                panel.plot(xs, ys, color=colour, marker="braille")
                panel.scatter(xs, ys, color=colour, marker=marker)
                values += ys
        lines = [limit for m, _, _ in measures for limit in limits(thresholds, m)]
        for value, severity in lines:
            panel.hline(value, LIMIT_COLOUR[severity])
        # The limits are always in view, so that a reading is seen against them.
        span = values + [value for value, _ in lines]
        if span:
            panel.ylim(min(span) - 5, max(span) + 5)
        # The axis is labelled at the limits, in whole numbers: it reads as the bands (the
        # widget keeps those a row apart at the size it draws: tui/detail/chart_widget.py).
        labelled = sorted({value for value, _ in lines}) or sorted(set(values))
        if span and height is not None:
            rows = height // len(PANELS) - PANEL_FRAME_ROWS
            labelled = apart(labelled, min(span) - 5, max(span) + 5, rows)
        panel.yticks(labelled)
        if view.dosed_at is not None:
            panel.vline(0, "magenta")
        panel.xlim(ticks[0], ticks[-1])
        panel.xticks([float(t) for t in ticks])
        if row == len(PANELS):
            panel.xlabel("min since dose (dose at 0)")
    if height is None:  # else drawn by the render itself
        plot.refresh()
