"""The vitals chart of a session (the detail screen and the review log draw it)."""

from __future__ import annotations

from typing import Any

from monitor.core.gate import minutes_between
from monitor.core.rules import Severity, Thresholds
from monitor.core.vitals import Measure
from monitor.views import SessionView


def whole_minute_ticks(low: int, high: int) -> list[int]:
    """Axis ticks in whole minutes at a round step (5, 10, 15, 30 ...), at most 7 of them."""
    span = max(high - low, 1)
    step = next((s for s in (5, 10, 15, 30, 60, 120, 240) if span / s <= 6), 480)
    start = (low // step) * step
    return list(range(start, high + step, step))


def draw_session_chart(plot: Any, view: SessionView, thresholds: Thresholds) -> None:
    """SBP, DBP and HR of the readings in force against minutes since the dose, with the
    high SBP limit and the dose marked, on a textual-plotext ``plot`` (the detail view's chart,
    also beside the review log)."""
    plt = plot.plt
    plt.clear_data()
    plt.clear_figure()
    origin = view.dosed_at or (view.readings[0].measured_at if view.readings else None)
    plt.title("SBP / DBP / HR against minutes since dose")
    if origin is None:
        return
    series: dict[Measure, tuple[list[int], list[int]]] = {
        Measure.SYSTOLIC: ([], []),
        Measure.DIASTOLIC: ([], []),
        Measure.HEART_RATE: ([], []),
    }
    for reading in view.in_force:
        minute = minutes_between(origin, reading.measured_at)
        for measure, (xs, ys) in series.items():
            value = reading.vitals.get(measure)
            if value is not None:
                xs.append(minute)
                ys.append(value)
    for (measure, (xs, ys)), colour in zip(series.items(), ("red", "blue", "green"), strict=True):
        if xs:
            plt.plot(xs, ys, label=measure.abbreviation, color=colour, marker="dot")
    high_sbp = [
        b for b in thresholds.absolute.bands[Measure.SYSTOLIC].get(Severity.HIGH, ()) if b.low
    ]
    for band in high_sbp:
        if band.low is not None:
            plt.hline(band.low, "red")
    if view.dosed_at is not None:
        plt.vline(0, "magenta")
    minutes = [m for xs, _ in series.values() for m in xs] + ([0] if view.dosed_at else [])
    if minutes:
        plt.xticks([float(t) for t in whole_minute_ticks(min(minutes), max(minutes))])
    plt.xlabel("min since dose (dose at 0)")
    plot.refresh()
