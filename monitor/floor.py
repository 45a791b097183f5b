"""The floor's rows, kept importable here for the station: the story itself is told in
:mod:`monitor.present.floor` (docs/station.md, "The floor").

:func:`preview_flags` is a rule, not a story: it stays here until the core holds it.
"""

from __future__ import annotations

from datetime import datetime

from monitor.core.rules import Flag, Thresholds, evaluate
from monitor.core.vitals import Vitals
from monitor.present.floor import (
    COLUMNS,
    Cell,
    FloorRow,
    RowBasis,
    floor,
    floor_row,
    latest_values,
    next_check_text,
    row_basis,
)
from monitor.views import SessionView

__all__ = [
    "COLUMNS",
    "Cell",
    "FloorRow",
    "RowBasis",
    "floor",
    "floor_row",
    "latest_values",
    "next_check_text",
    "preview_flags",
    "row_basis",
]


def preview_flags(
    view: SessionView, vitals: Vitals, measured_at: datetime, thresholds: Thresholds
) -> list[Flag]:
    """The flags a reading would raise if saved now (what the services will judge)."""
    before = view.dosed_at is None or measured_at <= view.dosed_at
    baseline: dict[str, int] = {}
    if view.dosed_at is not None:
        for reading in sorted(view.in_force, key=lambda r: (r.measured_at, r.id)):
            if reading.measured_at <= view.dosed_at:
                baseline.update(
                    {k: v for k, v in reading.vitals.as_dict().items() if v is not None}
                )
    return evaluate(
        vitals,
        before_dosing=before,
        age=view.age,
        baseline=Vitals(**baseline),
        thresholds=thresholds,
    )
