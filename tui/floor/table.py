"""The floor table: one row per patient, its columns and their widths at any terminal size.

The app sets the rows (attributes down); the table draws them, touching only the cells that
changed, and lays its columns out again when the terminal's width changes, or when a value
awaiting validation (``185/100?``) needs a cell more or no longer does. A changed cell redraws
its own row only (:meth:`FloorTable.update_cell`, docs/station.md, "Drawing the floor")."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from textual.binding import Binding
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowKey

from monitor.present.floor import FloorRow
from tui.render import PROTOCOL_SHORT, alarm_text, cell_text, padded, truncate

#: (key, label, width) of the floor table; widths keep the whole row within 80 columns.
#: Each width counts the one space that separates the column from the one before.
FLOOR_COLUMNS = (
    ("alarm", "", 3),
    ("bay", "Bay", 7),
    ("patient", "Patient", 10),
    ("protocol", "Proto", 6),
    ("since", "Dose+", 5),
    ("next", "Next check", 18),
    ("bp", "BP", 8),
    ("hr", "HR", 4),
    ("spo2", "SpO2", 5),
    ("rr", "RR", 3),
    ("moaas", "M", 2),
    ("cadss", "C", 3),
    ("ready", "", 6),
)
#: Where a terminal wider than 80 columns gives its spare width: (column, at most this much).
GROWS = (("next", 8), ("patient", 8), ("bay", 6))
#: The columns whose values a bedside monitor sends: while one awaits validation it is shown
#: marked (``185/100?``, ``120?``, ``14?``) and its column may need a cell more.
MARKED_COLUMNS = ("bp", "hr", "spo2", "rr")
#: Where that cell is taken from, in order: the spare width of a wider terminal, then the
#: room left unused in these columns by what they show now, then the next check (cut last).
MARK_ROOM_FROM = ("ready", "bay", "cadss")


def _shown(row: FloorRow, key: str) -> str:
    """What ``row`` shows in column ``key`` (of those whose unused room may be taken)."""
    if key == "ready":
        return row.ready_part.text
    if key == "bay":
        return row.bay
    return row.cells[key].shown


def floor_widths(columns: int, rows: Sequence[FloorRow] = ()) -> dict[str, int]:
    """The floor's column widths on a terminal ``columns`` wide: 80 columns fit the whole row,
    and a wider one lets the next check, the patient and the bay show more. While a value of
    ``rows`` awaits validation (:attr:`FloorRow.marked`), its column takes the cells its mark
    needs (:data:`MARK_ROOM_FROM` says from where); otherwise ``rows`` change nothing."""
    widths = {key: width for key, _, width in FLOOR_COLUMNS}
    spare = max(0, columns - 80)
    if any(row.marked for row in rows):
        for key in MARKED_COLUMNS:
            needed = max(len(row.cells[key].shown) for row in rows) + 1
            short = max(0, needed - widths[key])
            widths[key] += short
            taken = min(spare, short)
            spare, short = spare - taken, short - taken
            for source in MARK_ROOM_FROM:
                unused = widths[source] - 1 - max(len(_shown(row, source)) for row in rows)
                taken = min(max(0, unused), short)
                widths[source] -= taken
                short -= taken
            widths["next"] -= short
    for key, most in GROWS:
        grow = min(most, spare)
        widths[key] += grow
        spare -= grow
    return widths


#: The Textual version whose DataTable the row-by-row redrawing below was checked against: the
#: render caches it empties and how each is keyed (tests/tui/test_floor_repaint.py fails on any
#: other version until it is checked again).
CHECKED_WITH_TEXTUAL = "8.2.8"
#: DataTable's private attributes that redrawing one row relies on.
RELIED_ON = (
    "_data",
    "_row_locations",
    "_update_count",
    "_cell_render_cache",
    "_row_render_cache",
    "_row_renderable_cache",
    "_line_cache",
    "_y_offsets",
)


def _discard(cache: LRUCache[Any, Any], which: Callable[[Any], bool]) -> None:
    """Drop the entries of ``cache`` whose key is ``which``."""
    for key in [key for key in cache.keys() if which(key)]:  # noqa: SIM118 (no __iter__)
        cache.discard(key)


class FloorTable(DataTable[Any]):
    """The floor: one row per patient. Enter opens the highlighted patient's detail, and the
    footer says so (DataTable's own Enter binding is hidden). Home and End go to the first and
    last patient. They are the table's keys, not the app's priority keys: a priority key is
    taken as it arrives, so in a burst such as `r`, `hr 70`, Home, `120/80 ` the Home moved
    the floor's cursor before the `r` had opened the entry line it was typed for."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", id="floor_detail"),
        Binding("home", "first_row", "First", id="first_row", show=False),
        Binding("end", "last_row", "Last", id="last_row", show=False),
    ]

    def __init__(self, *, flash: bool = True, **options: Any) -> None:
        """``flash=False`` shows alarms steady (snapshots)."""
        super().__init__(cursor_type="row", cell_padding=0, **options)
        self.flash = flash
        #: The rows drawn last, in order.
        self.floor_rows: list[FloorRow] = []
        #: What the table shows now: (row key, cells) in order.
        self._drawn: list[tuple[str, list[Any]]] = []
        self._widths = floor_widths(80)
        self._cell_cache: dict[int, tuple[tuple[Any, ...], list[Any]]] = {}
        missing = [name for name in RELIED_ON if name not in vars(self) | vars(DataTable)]
        if missing:  # a Textual upgrade: draw nothing stale, fail (tests/tui/test_floor_repaint)
            raise RuntimeError(f"Textual's DataTable changed: no {', '.join(missing)}")

    def on_mount(self) -> None:
        # Keep each cell's own colours under the cursor: a flagged value must stay visible.
        self.cursor_foreground_priority = "renderable"
        self._add_columns(self.app.size.width)

    def on_resize(self) -> None:
        """A wider or narrower terminal: the columns take the new width at once."""
        columns = self.app.size.width
        if not self.columns or floor_widths(columns, self.floor_rows) == self._widths:
            return  # not mounted yet: on_mount lays the columns out at this size
        self._lay_out_again()

    def _lay_out_again(self) -> None:
        self.clear(columns=True)
        self._add_columns(self.app.size.width)
        self._drawn = []
        self.draw(self.floor_rows)

    def _add_columns(self, columns: int) -> None:
        self._widths = floor_widths(columns, self.floor_rows)
        for key, label, _ in FLOOR_COLUMNS:
            self.add_column(padded(label) if label else "", key=key, width=self._widths[key])

    def action_first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0, animate=False)

    def action_last_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)

    @property
    def row_keys(self) -> list[str]:
        """The keys (session ids) of the rows drawn, in order."""
        return [key for key, _ in self._drawn]

    def selected_id(self) -> int | None:
        """The session under the cursor, if any."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value
        return int(key) if key is not None else None

    def select(self, session_id: int) -> bool:
        """Put the cursor on a session's row, if it is drawn."""
        if str(session_id) not in self.row_keys:
            return False
        self.move_cursor(row=self.get_row_index(str(session_id)), animate=False)
        return True

    def forget(self, session_ids: set[int]) -> None:
        """Sessions gone from the floor: their cached cells go too."""
        for gone in session_ids:
            self._cell_cache.pop(gone, None)

    def draw(self, rows: list[FloorRow]) -> None:
        """Show ``rows``, keeping the cursor on the session it was on."""
        if self.columns and floor_widths(self.app.size.width, rows) != self._widths:
            # A value awaiting validation came or went: its mark needs room, or no more.
            selected = self.selected_id()
            self.floor_rows = rows
            self._lay_out_again()
            if selected is not None:
                self.select(selected)
            return
        selected = self.selected_id()
        self.floor_rows = rows
        drawn = [(str(row.session_id), self._cells(row)) for row in rows]
        if [key for key, _ in drawn] == self.row_keys:
            # Same patients in the same order: touch only the cells that changed, so a
            # refresh repaints a few cells instead of the whole screen.
            changed: dict[RowKey | str, dict[ColumnKey | str, Any]] = {}
            for (key, cells), (_, before) in zip(drawn, self._drawn, strict=True):
                if cells is before:  # the row's cells were reused: nothing on it changed
                    continue
                for (column, _, _), new, old in zip(FLOOR_COLUMNS, cells, before, strict=True):
                    if new != old:
                        changed.setdefault(key, {})[column] = new
            self.set_cells(changed)
        else:
            self.clear()
            for key, cells in drawn:
                self.add_row(*cells, key=key)
            if selected is not None and str(selected) in self.rows:
                self.move_cursor(row=self.get_row_index(str(selected)), animate=False)
        self._drawn = drawn

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: Any,
        *,
        update_width: bool = False,
    ) -> None:
        """One cell's new value: only its row is drawn again (:meth:`set_cells`). A column
        that fits its width to the new value (``update_width``) is Textual's own case."""
        if update_width:
            super().update_cell(row_key, column_key, value, update_width=True)
        else:
            self.set_cells({row_key: {column_key: value}})

    def set_cells(self, changes: Mapping[RowKey | str, Mapping[ColumnKey | str, Any]]) -> None:
        """New values for cells of rows already in the table: ``{row: {column: value}}``.

        Textual's ``update_cell`` counts an update, and every one of the table's render caches
        is keyed by that count, so one changed cell re-renders every visible cell (50-90 ms
        with 40 rows, the event loop blocked). Here the count stays: only the changed cells are
        rendered again and their rows put together again, the other rows drawn from the
        caches. A row's height, the order of the rows and the columns' widths do not change
        with a cell's value (the floor's columns have set widths, and its rows one line; an
        auto-height row is left to Textual), so nothing else the count guards is affected."""
        rows: dict[RowKey, int] = {}
        changed: set[tuple[RowKey, ColumnKey]] = set()
        for row_key, cells in changes.items():
            row = RowKey(row_key) if isinstance(row_key, str) else row_key
            index = self._row_locations.get(row)
            if index is None or self.rows[row].auto_height:
                for column_key, value in cells.items():
                    super().update_cell(row_key, column_key, value)  # raises, or Textual's way
                continue
            data = self._data[row]
            for column_key, value in cells.items():
                column = ColumnKey(column_key) if isinstance(column_key, str) else column_key
                if column not in self.columns:
                    raise CellDoesNotExist(f"No cell exists for {row!r}, {column!r}.")
                data[column] = value
                changed.add((row, column))
            rows[row] = index
        if rows:
            self._forget(rows, changed)

    def _forget(self, rows: Mapping[RowKey, int], cells: set[tuple[RowKey, ColumnKey]]) -> None:
        """Drop from DataTable's caches what was drawn of the changed ``cells`` and of their
        ``rows`` (key: index), and repaint those rows' lines. The other cells of those rows
        are drawn again from the cell cache (a row's cells keep their index, width, height and
        styles). The caches and their keys (Textual 8.2.8, widgets/_data_table.py):
        ``_cell_render_cache`` begins with the row's key and the column's, ``_row_render_cache``
        with the row's key, ``_row_renderable_cache`` is (update count, row index) and
        ``_line_cache`` begins with the line's y in the table (the header's lines first)."""
        _discard(self._cell_render_cache, lambda key: (key[0], key[1]) in cells)
        _discard(self._row_render_cache, lambda key: key[0] in rows)
        for index in rows.values():
            self._row_renderable_cache.discard((self._update_count, index))
        header = self.header_height if self.show_header else 0
        lines = {header + y for y, (key, _) in enumerate(self._y_offsets) if key in rows}
        _discard(self._line_cache, lambda key: key[0] in lines)
        for index in rows.values():
            self.refresh_row(index)

    def _cells(self, row: FloorRow) -> list[Any]:
        """The row's cells, built again only when what they show changed (every second the
        floor is judged again; most seconds nothing on a row changes)."""
        shows = (
            row.bay,
            row.patient,
            row.protocol,
            row.since_dose,
            row.next_text,
            row.overdue,
            row.ready,
            row.to_validate,
            row.alarm,
            tuple(row.cells.values()),
            self.flash,
            tuple(self._widths.values()),
        )
        cached = self._cell_cache.get(row.session_id)
        if cached is not None and cached[0] == shows:
            return cached[1]
        cells = self._build_cells(row)
        self._cell_cache[row.session_id] = (shows, cells)
        return cells

    def _build_cells(self, row: FloorRow) -> list[Any]:
        """The row's parts (:meth:`FloorRow.parts`), each styled by its role; the bay, the
        patient and the next check cut to their widths, the protocol shortened."""
        mark, *parts = row.parts()
        shown = []
        for (key, _, _), part in zip(FLOOR_COLUMNS[1:], parts, strict=True):
            text = part.text
            if key == "protocol":
                text = PROTOCOL_SHORT.get(text, truncate(text, 5))
            elif key in ("bay", "patient", "next"):
                text = truncate(text, self._widths[key] - 1)
            shown.append(padded(cell_text(part, text)))
        return [alarm_text(mark, self.flash), *shown]
