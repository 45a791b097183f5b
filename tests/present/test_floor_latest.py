"""The floor's latest value of each column, found in one pass from the newest reading
(``monitor.present.floor._latest``), is the same as taking, for each column, the last reading
in time order that has its measure: the way the floor read it before a session's readings grew
under a bedside monitor's stream (issue #24)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.rules import Severity
from monitor.core.vitals import Measure, Vitals
from monitor.present.floor import _COLUMN_MEASURES, Cell, _latest
from monitor.views import FlagView, ReadingView

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _reference(standing: list[ReadingView]) -> dict[str, Cell]:
    """Column by column, the last reading in (measured_at, id) order with the measure."""
    readings = sorted(standing, key=lambda r: (r.measured_at, r.id))
    cells: dict[str, Cell] = {}
    for column, measures in _COLUMN_MEASURES.items():
        with_it = [r for r in readings if r.vitals.get(measures[0]) is not None]
        if not with_it:
            cells[column] = Cell("-", None)
            continue
        reading = with_it[-1]
        names = {m.value for m in measures}
        severities = [f.severity for f in reading.flags if f.measure in names]
        worst = max(severities, key=lambda s: s.rank) if severities else None
        text = "/".join(str(reading.vitals.get(m)) for m in measures)
        cells[column] = Cell(text, worst, pending=reading.awaits_validation)
    return cells


@st.composite
def readings(draw: st.DrawFn) -> list[ReadingView]:
    count = draw(st.integers(0, 12))
    made = []
    for reading_id in draw(st.permutations(range(1, count + 1))):
        values = {m.value: draw(st.one_of(st.none(), st.integers(1, 200))) for m in Measure}
        flagged = draw(st.lists(st.sampled_from(list(Measure)), max_size=2))
        made.append(
            ReadingView(
                id=reading_id,
                session_id=1,
                measured_at=START + timedelta(minutes=draw(st.integers(0, 5))),
                recorded_at=START,
                recorded_by="ana",
                vitals=Vitals(**values),
                before_dosing=False,
                flags=tuple(
                    FlagView(
                        id=reading_id * 10 + n,
                        reading_id=reading_id,
                        measure=m.value,
                        severity=draw(st.sampled_from(list(Severity))),
                        rule="r",
                        message="m",
                    )
                    for n, m in enumerate(flagged)
                ),
                source=draw(st.sampled_from(["typed", "device MP5-001"])),
            )
        )
    return made


@settings(max_examples=100, deadline=None)
@given(readings())
def test_one_pass_from_the_newest_finds_what_each_column_shows(standing):
    assert _latest(standing) == _reference(standing)
