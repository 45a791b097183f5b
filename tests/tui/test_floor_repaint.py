"""The floor redraws only the rows whose cells changed, and draws nothing stale doing so.

:meth:`tui.floor.table.FloorTable.set_cells` forgets only the changed rows' renderings in
Textual's DataTable caches (docs/station.md, "Drawing the floor"). Each step below changes the
floor as the station would (a reading on the cursor's row or another, the cursor moved, a value
that grows longer, a value awaiting validation, the floor scrolled, the mouse over a row, rows
re-ordered) and compares the screen with a fresh table drawing the same rows.
"""

from __future__ import annotations

import re
from dataclasses import replace
from importlib.metadata import version

from textual.app import App, ComposeResult
from textual.widgets.data_table import ColumnKey, RowKey

from monitor.core.rules import Severity
from monitor.present.floor import COLUMNS, Cell, FloorRow
from tui.floor.table import CHECKED_WITH_TEXTUAL, FLOOR_COLUMNS, RELIED_ON, FloorTable

SIZE = (80, 24)
#: More rows than the screen shows: the floor scrolls.
ROWS = 30


def _row(n: int) -> FloorRow:
    values = {"bp": "120/80", "hr": "70", "spo2": "98", "rr": "14", "moaas": "5", "cadss": "0"}
    return FloorRow(
        session_id=100 + n,
        bay=f"Bay {n}",
        patient=f"MRN-{n:04d}",
        protocol="esketamine",
        dosed_at=None,
        since_dose=f"{n}m",
        next_check=None,
        next_text=f"+15 in {n}m",
        cells={key: Cell(values[key], None) for key in COLUMNS},
        alarm=None,
        high_unacknowledged=False,
        overdue=False,
        ready=False,
        open_flags=0,
    )


def _with(rows: list[FloorRow], n: int, **cells: Cell) -> list[FloorRow]:
    """``rows`` with some cells of row ``n`` changed (a new list, as the station's)."""
    rows = list(rows)
    rows[n] = replace(rows[n], cells={**rows[n].cells, **cells})
    return rows


class Floor(App[None]):
    def compose(self) -> ComposeResult:
        yield FloorTable(id="floor", flash=False)


def _screen(app: App[None]) -> str:
    return re.sub(r"terminal-[0-9]+-", "terminal-", app.export_screenshot())


def _text(app: App[None]) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def _fresh(rows: list[FloorRow], cursor: int, hover: tuple[int, int] | None) -> str:
    """The screen of a new table drawing ``rows``, its cursor on row ``cursor``."""
    app = Floor()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(FloorTable)
        table.draw(rows)
        await pilot.pause()
        table.move_cursor(row=cursor, animate=False)
        if hover is not None:
            await pilot.hover("#floor", offset=hover)
        await pilot.pause()
        await pilot.pause()
        return _screen(app)


async def _same_as_fresh(pilot, rows: list[FloorRow], hover: tuple[int, int] | None = None):
    app = pilot.app
    table = app.query_one(FloorTable)
    await pilot.pause()
    await pilot.pause()
    shown = _screen(app)
    fresh = await _fresh(rows, table.cursor_row, hover)
    assert shown == fresh, f"stale drawing; the screen shows:\n{_text(app)}"


async def test_changed_cells_draw_as_a_fresh_table() -> None:
    rows = [_row(n) for n in range(ROWS)]
    app = Floor()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(FloorTable)
        table.draw(rows)
        await pilot.pause()
        await _same_as_fresh(pilot, rows)

        # A reading on a row that is not the cursor's, then on the cursor's (row 0).
        rows = _with(rows, 3, hr=Cell("121", Severity.HIGH))
        table.draw(rows)
        await _same_as_fresh(pilot, rows)
        rows = _with(rows, 0, bp=Cell("150/95", Severity.MEDIUM), rr=Cell("9", Severity.LOW))
        table.draw(rows)
        await _same_as_fresh(pilot, rows)

        # The cursor moves to the changed row 3; then the row it left and the one it is on.
        table.move_cursor(row=3, animate=False)
        await _same_as_fresh(pilot, rows)
        rows = _with(rows, 0, bp=Cell("118/76", None))
        rows = _with(rows, 3, hr=Cell("88", None), spo2=Cell("100", None))
        table.draw(rows)
        await _same_as_fresh(pilot, rows)

        # Longer values: the next check cut with an ellipsis, the patient's name too.
        rows[4] = replace(rows[4], next_text="BP recheck overdue 13m", overdue=True)
        rows[3] = replace(rows[3], patient="Bartholomew-Smith", alarm=Severity.HIGH)
        table.draw(list(rows))
        await _same_as_fresh(pilot, rows)

        # A value awaiting validation widens its column (the whole table laid out again),
        # then it is validated and the floor goes back to its layout; then a cell changes.
        rows = _with(rows, 5, bp=Cell("185/100", Severity.HIGH, pending=True))
        table.draw(rows)
        await _same_as_fresh(pilot, rows)
        rows = _with(rows, 5, bp=Cell("185/100", Severity.HIGH))
        table.draw(rows)
        await _same_as_fresh(pilot, rows)
        rows = _with(rows, 6, moaas=Cell("3", Severity.MEDIUM))
        table.draw(rows)
        await _same_as_fresh(pilot, rows)

        # The last row (the floor scrolled): a change on it and on rows scrolled out of view,
        # then back to the top.
        await pilot.press("end")
        rows = _with(rows, ROWS - 1, hr=Cell("130", Severity.HIGH))
        rows = _with(rows, 1, hr=Cell("45", Severity.MEDIUM))
        table.draw(rows)
        await _same_as_fresh(pilot, rows)
        await pilot.press("home")
        await _same_as_fresh(pilot, rows)

        # The mouse over row 2 (the header is the first line): a change on that row.
        await pilot.hover("#floor", offset=(20, 3))
        rows = _with(rows, 2, cadss=Cell("12", Severity.MEDIUM))
        table.draw(rows)
        await _same_as_fresh(pilot, rows, hover=(20, 3))

        # A key hides the mouse's row; rows re-ordered (a new alarm sorts first): the table
        # is filled again, the cursor staying on its session.
        await pilot.press("down")
        rows = [rows[7], *rows[:7], *rows[8:]]
        table.draw(rows)
        await _same_as_fresh(pilot, rows)
        assert table.cursor_row == 2


async def test_one_changed_cell_renders_only_itself() -> None:
    """Textual's own update_cell rendered every visible cell again (50-90 ms at 40 rows): here
    the changed row alone is put together again, and only its changed cell rendered."""
    rows = [_row(n) for n in range(20)]
    app = Floor()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(FloorTable)
        table.draw(rows)
        table.move_cursor(row=2, animate=False)
        await pilot.pause()
        # The screen was drawn before the table's last resize counted an update (its caches
        # are keyed by that count): the table drawn again, whole, as any repaint would.
        table.refresh()
        await pilot.pause()
        await pilot.pause()
        looked_up: list[int] = []  # the rows whose cells are looked up (cached or rendered)
        rendered: list[str] = []  # the cells rendered (by rich)
        render_cell, render_lines = table._render_cell, app.console.render_lines

        def looking_up(row_index, column_index, *args, **kwargs):
            looked_up.append(row_index)
            return render_cell(row_index, column_index, *args, **kwargs)

        depth = [0]  # a cell's padding renders the cell through the console too

        def rendering(renderable, *args, **kwargs):
            depth[0] += 1
            try:
                lines = render_lines(renderable, *args, **kwargs)
            finally:
                depth[0] -= 1
            if not depth[0]:
                rendered.append("".join(segment.text for segment in lines[0]))
            return lines

        table._render_cell = looking_up  # type: ignore[method-assign]
        app.console.render_lines = rendering  # type: ignore[method-assign]
        for n in (5, 2):  # a row, then the cursor's row
            looked_up.clear()
            rendered.clear()
            table.draw(rows := _with(rows, n, hr=Cell(f"{90 + n}", None)))
            await pilot.pause()
            await pilot.pause()
            assert sorted(looked_up) == [n] * len(FLOOR_COLUMNS), f"row {n}: {looked_up}"
            assert [cell.strip() for cell in rendered] == [f"{90 + n}"]
        # A minute later every row's time since the dose changes: one cell a row.
        rendered.clear()
        table.draw(rows := [replace(row, since_dose="99m") for row in rows])
        await pilot.pause()
        await pilot.pause()
        assert [cell.strip() for cell in rendered] == ["99m"] * len(rows)
        assert "92" in _text(app) and "95" in _text(app)


def test_checked_against_this_textual() -> None:
    """A Textual upgrade: check again what FloorTable.set_cells relies on in Textual's
    widgets/_data_table.py (which caches hold a row's rendering and how each is keyed), then
    set CHECKED_WITH_TEXTUAL."""
    assert version("textual") == CHECKED_WITH_TEXTUAL
    table = FloorTable()
    assert all(name in vars(table) or hasattr(FloorTable, name) for name in RELIED_ON)


async def test_cache_keys_as_relied_on() -> None:
    """The keys set_cells reads: a row's key first in the cell and row caches (then the
    column's in the cell cache), (update count, row index) in the renderables' and a line's y
    first in the line cache."""
    app = Floor()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(FloorTable)
        table.draw([_row(n) for n in range(5)])
        await pilot.pause()
        await pilot.pause()
        keys = list(table._cell_render_cache.keys())
        assert keys and all(isinstance(key[0], RowKey) for key in keys)
        assert all(isinstance(key[1], ColumnKey) for key in keys)
        rows = list(table._row_render_cache.keys())
        assert rows and all(isinstance(key[0], RowKey) for key in rows)
        indices = list(table._row_renderable_cache.keys())
        assert indices and all(isinstance(count, int) for count, _ in indices)
        assert {index for _, index in indices} >= set(range(5))
        lines = {key[0] for key in list(table._line_cache.keys())}
        assert lines == set(range(6))  # the header, then the rows
