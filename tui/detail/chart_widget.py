"""The chart's widget: textual-plotext's plot, drawn anew at the size it is shown at.

Plotext keeps a panel's tick labels in a set, so where two limits fall on the same text row
(SBP 100 and DBP 110 in a panel six rows high) which label showed changed from one run to the
next. This widget draws the session at each render, knowing its height, so that
:func:`tui.detail.chart.draw_session_chart` keeps only labels a row apart: the same labels
every time, each on its own line. Imported only when a chart is shown (start-up time)."""

from __future__ import annotations

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from monitor.core.rules import Thresholds
from monitor.views import SessionView
from tui.detail.chart import draw_session_chart


class SessionChart(PlotextPlot):
    """A session's vitals chart; :meth:`show` says which session."""

    _shown: tuple[SessionView, Thresholds] | None = None

    def show(self, view: SessionView, thresholds: Thresholds) -> None:
        """Chart ``view`` against ``thresholds`` (drawn at the next render)."""
        self._shown = (view, thresholds)
        self.refresh()

    def render(self) -> RenderResult:
        if self._shown is not None:
            draw_session_chart(self, *self._shown, height=self.size.height)
        return super().render()
